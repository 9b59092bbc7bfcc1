"""End to end: a package goes to the review group, a reviewer decides, the applicant hears."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cardbot.core.roles import REVIEWER
from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser, SentMessage
from tests.support.databases import DATABASE_KINDS
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC
from tests.support.waiting import until

REVIEW = FakeChat(-1009876543210, "supergroup", "cardbot review")
REVIEWER_USER = FakeUser(900, "Li", language_code="zh-hans")
BYSTANDER = FakeUser(901, "Eve", language_code="zh-hans")  # a group member, not a reviewer
SECOND_REVIEWER = FakeUser(902, "Wu", language_code="zh-hans")  # never wrote to the bot
ADMIN_USER = FakeUser(903, "Boss", language_code="zh-hans")


@pytest.fixture(params=DATABASE_KINDS)
async def review_bot(
    api: BotApiStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    """cardbot with a review group, two reviewers (one has started the bot privately, one
    has not) and a member who is not a reviewer, on SQLite and on PostgreSQL."""
    api.add_chat(REVIEW)
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    running = RunningBot(
        api, tmp_path, url, review_chat_id=REVIEW.id, admin_ids=frozenset({ADMIN_USER.id})
    )
    await running.start()
    assert running.runtime is not None
    with running.runtime.service.unit_of_work() as uow:
        uow.roles.grant(REVIEWER_USER.id, REVIEWER, None)
        uow.roles.grant(SECOND_REVIEWER.id, REVIEWER, None)
        uow.commit()
    api.send_text(REVIEWER_USER, "/start")  # the reviewer's private chat with the bot
    await api.next_message(REVIEWER_USER.id, timeout=15)
    try:
        yield running
    finally:
        await running.stop()


async def fill_small_business(person: Person) -> None:
    """Everything a small business is asked (tax proof skipped), up to the summary."""
    await person.begin("小微")
    await person.say("张三")
    await person.tap("居民身份证")
    await person.say(VALID_ID)
    await person.say(VALID_PHONE)
    await person.say("Acme & Co 贸易有限公司")
    await person.say(VALID_USCC)
    await person.album([files.photo(seed=1), files.photo(seed=2)])
    await person.photo(files.photo(seed=3))
    await person.tap("跳过")


async def submit_small_business(person: Person) -> SentMessage:
    """Fill in a small business application (tax proof skipped) and submit it."""
    await fill_small_business(person)
    (done,) = await person.tap("确认提交")
    return done


async def press(
    api: BotApiStandIn, user: FakeUser, card: SentMessage, op: str, bot: RunningBot
) -> None:
    """Press a card button (or forge one) and wait until the press is answered and everything
    it said was sent (the card's edit follows the applicant's message, and may be paced)."""
    answered = len(api.callback_answers)
    app_id = (card.button_data("") or "").split(":")[1]
    api.press_button(user, card, f"rv:{app_id}:{op}")
    await api.wait_until(lambda: len(api.callback_answers) > answered, 15, "button answered")
    await until(bot.settled, "the press handled and its messages sent")


async def test_reviewer_asks_for_the_licence_again_then_approves(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(811, "张", language_code="zh-hans"))
    done = await submit_small_business(person)
    assert "DX-2026-" in done.plain or "DX-" in done.plain
    card = await api.next_message(REVIEW.id, timeout=15)
    assert "Acme &amp; Co" in card.text
    assert "1101**********002X" in card.plain and VALID_ID not in card.plain

    await press(api, BYSTANDER, card, "approve", review_bot)
    assert "仅限审核人员" in api.callback_answers[-1].get("text", "")
    assert card.edits == []

    await press(api, REVIEWER_USER, card, "claim", review_bot)
    (in_review,) = await person.replies(1)
    assert "开始审核" in in_review.plain
    # The card's edit is paced for the group apart from the applicant's chat: it may come later.
    await api.wait_until(lambda: "Li" in card.plain, 15, "the card names its reviewer")
    dossier = await api.next_message(REVIEWER_USER.id, timeout=15)
    photos = [await api.next_message(REVIEWER_USER.id, timeout=15) for _ in range(3)]
    assert VALID_ID in dossier.plain
    assert [p.kind for p in photos] == ["photo"] * 3
    assert len({p.media_group_id for p in photos}) == 1

    for op in ("resubmit", "i:business_license", "s:unreadable"):
        await press(api, REVIEWER_USER, card, op, review_bot)
    request, prompt = await person.replies(2)
    assert "营业执照" in request.plain and "文件看不清" in request.plain
    assert "营业执照" in prompt.plain
    # The card's edit goes to the group, which Telegram paces apart from the applicant's chat.
    await api.wait_until(lambda: "等待申请人补充" in card.plain, 15, "the card shows the request")

    (summary,) = await person.photo(files.photo(seed=9))
    assert summary.plain.startswith("✅ 营业执照复印件已收到。\n\n")
    assert "补充材料" in summary.plain
    (resubmitted,) = await person.tap("确认提交")
    assert "交回审核人员" in resubmitted.plain
    new_card = await api.next_message(REVIEW.id, timeout=15)
    assert "本次更新：营业执照" in new_card.plain
    renewed = await api.next_message(REVIEWER_USER.id, timeout=15)  # the whole package again
    assert "本次更新：营业执照" in renewed.plain
    again = [await api.next_message(REVIEWER_USER.id, timeout=15) for _ in range(3)]
    assert [p.kind for p in again] == ["photo"] * 3
    await api.wait_until(lambda: "取代" in card.plain, 15, "the old card no longer lies")
    assert card.buttons == []

    number = number_of(card)
    api.send_text(SECOND_REVIEWER, f"/show {number}", chat=REVIEW)  # never started the bot
    shown = await api.next_message(REVIEW.id, timeout=15)
    assert "本次更新：营业执照" in shown.plain
    assert "/start" in (await api.next_message(REVIEW.id, timeout=15)).plain
    api.send_text(REVIEWER_USER, f"/show {number[-1]}", chat=REVIEW)  # the short number
    latest = await api.next_message(REVIEW.id, timeout=15)
    assert "本次更新" in latest.plain, latest.plain
    package = [await api.next_message(REVIEWER_USER.id, timeout=15) for _ in range(4)]
    assert VALID_ID in package[0].plain  # the whole current package, not only the licence
    assert [p.kind for p in package[1:]] == ["photo"] * 3
    assert "取代" in new_card.plain and "取代" in shown.plain and latest.buttons

    await press(api, REVIEWER_USER, latest, "approve", review_bot)
    await press(api, REVIEWER_USER, latest, "approve_ok", review_bot)
    (approved,) = await person.replies(1)
    assert "已通过审核" in approved.plain
    await api.wait_until(lambda: "结果：已通过" in latest.plain, 15, "card updated")
    assert latest.buttons == []
    assert all(m.buttons == [] for m in api.messages_to(REVIEW.id) if m is not latest)
    await person.no_more_messages()
    assert not api.errors, api.errors


async def test_a_rejection_confirms_with_the_applicants_text_in_three_taps(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(812, "张", language_code="zh-hans"))
    await submit_small_business(person)
    card = await api.next_message(REVIEW.id, timeout=15)
    await press(api, REVIEWER_USER, card, "reject", review_bot)  # tap 1 (claims it)
    await person.replies(1)  # in review
    await press(api, REVIEWER_USER, card, "r:licence_unverified", review_bot)  # tap 2
    assert "申请人将收到" in card.plain and "营业执照无法核实" in card.plain
    await press(api, SECOND_REVIEWER, card, "note", review_bot)
    note_prompt = await api.next_message(REVIEW.id, timeout=15)
    assert (note_prompt.reply_markup or {}).get("force_reply") is True
    api.send_text(REVIEWER_USER, "请到 <市场监管> 核实", chat=REVIEW, reply_to=card)  # typed
    await api.wait_until(lambda: "请到 <市场监管> 核实" in card.plain, 15, "preview")
    assert "未通过审核" in card.plain  # the applicant's text, not yet sent

    for someone in (BYSTANDER, SECOND_REVIEWER):  # neither may confirm it
        await press(api, someone, card, "send", review_bot)
    assert "仅限审核人员" in api.callback_answers[-2].get("text", "")
    assert "Li" in api.callback_answers[-1].get("text", "")
    await person.no_more_messages()

    await press(api, REVIEWER_USER, card, "send", review_bot)  # tap 3: confirmed
    (rejected,) = await person.replies(1)
    assert "未通过审核" in rejected.plain and "请到 <市场监管> 核实" in rejected.plain
    assert "重新申请" in rejected.plain
    await api.wait_until(lambda: "结果：未通过" in card.plain, 15, "card updated")
    assert "请到 <市场监管> 核实" in card.plain and card.buttons == []
    await api.wait_until(lambda: "已作出决定" in note_prompt.plain, 15, "prompt closed")
    assert not api.errors, api.errors


async def test_documents_and_full_values_reach_only_reviewers_privately(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(813, "张", language_code="zh-hans"))
    await submit_small_business(person)
    card = await api.next_message(REVIEW.id, timeout=15)
    assert VALID_ID not in card.plain and VALID_PHONE[-11:] not in card.plain
    assert "张三" not in card.plain and "张*" in card.plain

    await press(api, BYSTANDER, card, "docs", review_bot)
    assert "仅限审核人员" in api.callback_answers[-1].get("text", "")
    api.send_text(BYSTANDER, f"/show {card.plain.split()[1]}", chat=REVIEW)
    refused = await api.next_message(REVIEW.id, timeout=15)
    assert "仅限审核人员" in refused.plain

    await press(api, SECOND_REVIEWER, card, "claim", review_bot)  # has never started the bot
    (in_review,) = await person.replies(1)
    assert "开始审核" in in_review.plain
    notice = await api.next_message(REVIEW.id, timeout=15)
    assert "/start" in notice.plain and "Wu" in notice.plain

    await press(api, REVIEWER_USER, card, "docs", review_bot)  # another reviewer asks
    assert "私聊" in api.callback_answers[-1].get("text", "")
    dossier = await api.next_message(REVIEWER_USER.id, timeout=15)
    photos = [await api.next_message(REVIEWER_USER.id, timeout=15) for _ in range(3)]
    assert VALID_ID in dossier.plain and "张三" in dossier.plain
    assert [p.kind for p in photos] == ["photo"] * 3

    await api.wait_idle(quiet=0.3)
    group = api.messages_to(REVIEW.id)
    assert [m.kind for m in group] == ["text"] * len(group)
    assert not any(VALID_ID in m.plain or "张三" in m.plain for m in group)
    assert api.messages_to(BYSTANDER.id) == [] and api.messages_to(SECOND_REVIEWER.id) == []
    assert runtime_audit(review_bot, card) == [
        ("submitted", 813),
        ("claimed", SECOND_REVIEWER.id),
        ("notified", None),
        ("documents_sent", REVIEWER_USER.id),
    ]
    assert not api.errors, api.errors


def number_of(card: SentMessage) -> str:
    """The application number a card (or what it became) names."""
    found = re.search(r"DX-\d{4}-\d{6}", card.plain)
    assert found is not None, card.plain
    return found.group(0)


def runtime_audit(bot: RunningBot, card: SentMessage) -> list[tuple[str, int | None]]:
    """The audit trail of the card's application: (event, actor)."""
    assert bot.runtime is not None
    number = number_of(card)
    with bot.runtime.service.unit_of_work() as uow:
        return [(e.event, e.actor_id) for e in uow.audit.history(number)]


async def test_claims_are_released_by_the_claimer_reassigned_by_an_admin_freed_on_revoke(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(814, "张", language_code="zh-hans"))
    await submit_small_business(person)
    card = await api.next_message(REVIEW.id, timeout=15)
    number = number_of(card)
    await press(api, SECOND_REVIEWER, card, "claim", review_bot)
    await person.replies(1)  # in review
    await api.next_message(REVIEW.id, timeout=15)  # "start the bot first", for Wu

    for someone in (BYSTANDER, REVIEWER_USER):  # neither may release Wu's claim
        await press(api, someone, card, "release", review_bot)
    assert "仅限审核人员" in api.callback_answers[-2].get("text", "")
    assert "Wu" in api.callback_answers[-1].get("text", "") and "Wu" in card.plain

    api.send_text(ADMIN_USER, f"/revoke {SECOND_REVIEWER.id} reviewer")  # privately
    await api.next_message(ADMIN_USER.id, timeout=15)
    freed = await api.next_message(REVIEW.id, timeout=15)
    assert "权限已被撤销" in freed.plain and number in freed.plain
    await api.wait_until(lambda: "认领" in str(card.buttons) and "Wu" not in card.plain, 15)

    await press(api, REVIEWER_USER, card, "claim", review_bot)
    await api.next_message(REVIEWER_USER.id, timeout=15)  # the package, privately
    for _ in range(3):
        await api.next_message(REVIEWER_USER.id, timeout=15)
    await press(api, REVIEWER_USER, card, "release", review_bot)
    assert "放回" in api.callback_answers[-1].get("text", "")

    api.send_text(REVIEWER_USER, f"/assign {number} {REVIEWER_USER.id}", chat=REVIEW)
    refused = await api.next_message(REVIEW.id, timeout=15)
    assert "仅限管理员" in refused.plain
    api.send_text(ADMIN_USER, f"/assign {number} {REVIEWER_USER.id}", chat=REVIEW)
    assigned = await api.next_message(REVIEW.id, timeout=15)
    assert "交给" in assigned.plain
    dossier = await api.next_message(REVIEWER_USER.id, timeout=15)
    assert VALID_ID in dossier.plain
    await api.wait_idle(quiet=0.3)
    trail = runtime_audit(review_bot, card)
    assert ("released", ADMIN_USER.id) in trail and ("reassigned", ADMIN_USER.id) in trail
    assert ("released", REVIEWER_USER.id) in trail
    assert api.messages_to(BYSTANDER.id) == []
    assert not api.errors, api.errors


def reencoded(data: bytes, *, scale: float = 1.0, quality: int = 60) -> bytes:
    """The same picture saved again (another size, another JPEG quality)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


async def test_a_rejected_identity_reused_with_resized_photos_is_on_the_card_and_package(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    first = Person(api, FakeUser(815, "张", language_code="zh-hans"))
    await submit_small_business(first)
    card = await api.next_message(REVIEW.id, timeout=15)
    await press(api, REVIEWER_USER, card, "reject", review_bot)
    await first.replies(1)  # in review
    await api.next_message(REVIEWER_USER.id, timeout=15)  # the package, privately
    for _ in range(3):
        await api.next_message(REVIEWER_USER.id, timeout=15)
    await press(api, REVIEWER_USER, card, "r:licence_unverified", review_bot)
    await press(api, REVIEWER_USER, card, "send", review_bot)
    await first.replies(1)  # rejected
    first_number = number_of(card)

    again = Person(api, FakeUser(816, "王", language_code="zh-hans"))
    await again.begin("小微")
    await again.say("张三")
    await again.tap("居民身份证")
    await again.say(VALID_ID)  # the same person
    await again.say(VALID_PHONE)
    await again.say("另一家贸易有限公司")
    await again.say(VALID_USCC)
    await again.album(  # the same ID card photos, resized and re-encoded
        [reencoded(files.photo(seed=1), scale=0.5), reencoded(files.photo(seed=2))]
    )
    await again.photo(files.photo(seed=11))  # another licence
    await again.tap("跳过")
    await again.tap("确认提交")
    new_card = await api.next_message(REVIEW.id, timeout=15)
    same_id = f"同一证件号码也出现在以下申请中（不论状态）：{first_number}（未通过）"
    assert same_id in new_card.plain
    assert (
        f"身份证人像面（正面） · 照片与以下申请中的非常相似（可能是同一张照片重新压缩、缩放或"
        f"翻拍；同类证件也会相似，请打开比对）：{first_number}（未通过）"
    ) in new_card.plain
    assert "营业执照复印件 · " not in new_card.plain  # a different picture is not flagged
    assert VALID_ID not in new_card.plain

    await press(api, BYSTANDER, new_card, "docs", review_bot)
    assert "仅限审核人员" in api.callback_answers[-1].get("text", "")
    await press(api, REVIEWER_USER, new_card, "docs", review_bot)
    dossier = await api.next_message(REVIEWER_USER.id, timeout=15)
    assert f"{first_number}（未通过）" in dossier.plain and VALID_ID in dossier.plain
    assert api.messages_to(BYSTANDER.id) == []
    assert not api.errors, api.errors


async def test_queue_filters_answer_reviewers_in_the_group_and_refuse_members(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(817, "张", language_code="zh-hans"))
    await submit_small_business(person)
    card = await api.next_message(REVIEW.id, timeout=15)
    number = number_of(card)
    api.send_text(REVIEWER_USER, "/queue unclaimed", chat=REVIEW)
    unclaimed = await api.next_message(REVIEW.id, timeout=15)
    assert "未认领" in unclaimed.plain and number in unclaimed.plain
    api.send_text(REVIEWER_USER, "/queue flagged", chat=REVIEW)
    flagged = await api.next_message(REVIEW.id, timeout=15)
    assert "没有符合条件的申请" in flagged.plain and number not in flagged.plain
    api.send_text(BYSTANDER, "/queue unclaimed", chat=REVIEW)
    refused = await api.next_message(REVIEW.id, timeout=15)
    assert "仅限审核人员" in refused.plain and number not in refused.plain
    assert not api.errors, api.errors
