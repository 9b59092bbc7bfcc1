"""End to end: a package goes to the review group, a reviewer decides, the applicant hears."""

from __future__ import annotations

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

REVIEW = FakeChat(-1009876543210, "supergroup", "cardbot review")
REVIEWER_USER = FakeUser(900, "Li", language_code="zh-hans")
BYSTANDER = FakeUser(901, "Eve", language_code="zh-hans")


@pytest.fixture(params=DATABASE_KINDS)
async def review_bot(
    api: BotApiStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    """cardbot with a review group and one reviewer, on SQLite and on PostgreSQL."""
    api.add_chat(REVIEW)
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    running = RunningBot(api, tmp_path, url, review_chat_id=REVIEW.id)
    await running.start()
    assert running.runtime is not None
    with running.runtime.service.unit_of_work() as uow:
        uow.roles.grant(REVIEWER_USER.id, REVIEWER, None)
        uow.commit()
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


async def press(api: BotApiStandIn, user: FakeUser, card: SentMessage, op: str) -> None:
    """Press a card button (or forge one) and wait until the press is answered."""
    answered = len(api.callback_answers)
    app_id = (card.button_data("") or "").split(":")[1]
    api.press_button(user, card, f"rv:{app_id}:{op}")
    await api.wait_until(lambda: len(api.callback_answers) > answered, 15, "button answered")
    await api.wait_idle(quiet=0.2)


async def test_reviewer_asks_for_the_licence_again_then_approves(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(811, "张", language_code="zh-hans"))
    done = await submit_small_business(person)
    assert "DX-2026-" in done.plain or "DX-" in done.plain
    card = await api.next_message(REVIEW.id, timeout=15)
    photos = [await api.next_message(REVIEW.id, timeout=15) for _ in range(3)]
    assert "Acme &amp; Co" in card.text
    assert "1101**********002X" in card.plain and VALID_ID not in card.plain
    assert [p.kind for p in photos] == ["photo"] * 3
    assert len({p.media_group_id for p in photos}) == 1

    await press(api, BYSTANDER, card, "approve")
    assert "仅限审核人员" in api.callback_answers[-1].get("text", "")
    assert card.edits == []

    await press(api, REVIEWER_USER, card, "claim")
    (in_review,) = await person.replies(1)
    assert "开始审核" in in_review.plain
    assert "Li" in card.plain and card.edits

    for op in ("resubmit", "r:unreadable", "next", "i:business_license", "send"):
        await press(api, REVIEWER_USER, card, op)
    request, prompt = await person.replies(2)
    assert "营业执照" in request.plain and "文件看不清" in request.plain
    assert "营业执照" in prompt.plain
    assert "等待申请人补充" in card.plain

    (summary,) = await person.photo(files.photo(seed=9))
    assert summary.plain.startswith("✅ 营业执照复印件已收到。\n\n")
    assert "补充材料" in summary.plain
    (resubmitted,) = await person.tap("确认提交")
    assert "交回审核人员" in resubmitted.plain
    new_card = await api.next_message(REVIEW.id, timeout=15)
    (licence,) = [await api.next_message(REVIEW.id, timeout=15)]
    assert "本次更新：营业执照" in new_card.plain
    assert licence.kind == "photo"

    await press(api, REVIEWER_USER, new_card, "approve")
    await press(api, REVIEWER_USER, new_card, "approve_ok")
    (approved,) = await person.replies(1)
    assert "已通过审核" in approved.plain
    await api.wait_until(lambda: "结果：已通过" in new_card.plain, 15, "card updated")
    assert new_card.buttons == []
    await person.no_more_messages()
    assert not api.errors, api.errors


async def test_a_reviewer_comment_arrives_through_a_forced_reply(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(812, "张", language_code="zh-hans"))
    await submit_small_business(person)
    card = await api.next_message(REVIEW.id, timeout=15)
    for _ in range(3):
        await api.next_message(REVIEW.id, timeout=15)
    await press(api, REVIEWER_USER, card, "reject")
    await press(api, REVIEWER_USER, card, "r:licence_unverified")
    await press(api, REVIEWER_USER, card, "comment")
    ask = await api.next_message(REVIEW.id, timeout=15)
    assert (ask.reply_markup or {}).get("force_reply") is True
    api.send_text(REVIEWER_USER, "请到 <市场监管> 核实", chat=REVIEW, reply_to=ask)
    await person.replies(1)  # in review (claimed when deciding)
    (rejected,) = await person.replies(1)
    assert "未通过审核" in rejected.plain and "请到 <市场监管> 核实" in rejected.plain
    assert "重新申请" in rejected.plain
    await api.wait_until(lambda: "结果：未通过" in card.plain, 15, "card updated")
    assert "请到 <市场监管> 核实" in card.plain and card.buttons == []
    assert not api.errors, api.errors
