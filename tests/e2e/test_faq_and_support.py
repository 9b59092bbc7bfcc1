"""End to end: questions answered mid-application, and a person answering from the group."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import VALID_PHONE, Person
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser

SUPPORT = FakeChat(-1001234567890, "supergroup", "cardbot support")
STAFF = FakeUser(700, "Support", language_code="zh-hans")


@pytest.fixture
async def support_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    api.add_chat(SUPPORT)
    running = RunningBot(
        api, tmp_path, None, admin_ids=frozenset({STAFF.id}), support_chat_id=SUPPORT.id
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_a_question_mid_application_is_answered_and_the_applicant_carries_on(
    api: BotApiStandIn, support_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(801, "Q", language_code="zh-hans"))
    await person.begin("个人")
    answer, question = await person.say("被拒了怎么办？", replies=2)
    assert "拒绝" in answer.plain or "被拒" in answer.plain
    assert "姓名" in question.plain
    await person.say("/lang")
    await person.tap("English", replies=2)
    answer, question = await person.say("How long does approval take?", replies=2)
    assert "working days" in answer.plain
    assert "full name" in question.plain


async def test_support_staff_answer_a_question_from_the_group(
    api: BotApiStandIn, support_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(802, "P", language_code="zh-hans"))
    await person.say("/start", replies=2)
    await person.tap("同意")
    unsure, _question = await person.say("你们办公室周末上班吗？", replies=2)
    assert "不太确定" in unsure.plain
    person.last = unsure
    await person.tap("转人工", replies=2)
    (to_group,) = [m for m in api.messages_to(SUPPORT.id)]
    assert "#Q1" in to_group.plain and "周末上班" in to_group.plain

    assert api.send_text(STAFF, "周末有人值班吗", chat=SUPPORT) == -1  # privacy mode
    api.send_text(STAFF, "周六上午 <有人> 值班", chat=SUPPORT, reply_to=to_group)
    relayed, question = await person.replies(2)
    assert "周六上午 <有人> 值班" in relayed.plain
    assert "申请人类型" in question.plain
    confirmation = await api.next_message(SUPPORT.id, timeout=15)
    assert "#Q1" in confirmation.plain
    assert not api.errors, api.errors


@pytest.mark.parametrize(
    ("language_code", "agree", "phrasings"),
    [
        ("zh-hans", "同意", ["我要活人", "别说了，叫个人来", "我想找人工客服", "跟你说不明白"]),
        ("en", "agree", ["I want to talk to a person", "human please", "get me a real person"]),
    ],
)
async def test_asking_for_a_person_in_words_reaches_the_support_group(
    api: BotApiStandIn,
    support_bot: RunningBot,
    language_code: str,
    agree: str,
    phrasings: list[str],
) -> None:
    for serial, phrasing in enumerate(phrasings):
        person = Person(api, FakeUser(850 + serial, "W", language_code=language_code))
        await person.say("/start", replies=2)
        await person.tap(agree)
        await person.say(phrasing, replies=2)
        to_group = await api.next_message(SUPPORT.id, timeout=15)
        assert phrasing in to_group.plain and "#Q" in to_group.plain
    assert not api.errors, api.errors


async def test_the_applicants_reply_to_a_staff_answer_reaches_the_same_ticket(
    api: BotApiStandIn, support_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(860, "R", language_code="zh-hans"))
    await person.say("/start", replies=2)
    await person.tap("同意")
    await person.say("转人工", replies=2)
    question = await api.next_message(SUPPORT.id, timeout=15)
    api.send_text(STAFF, "请问有什么可以帮您？", chat=SUPPORT, reply_to=question)
    relayed, _prompt = await person.replies(2)
    assert "请问有什么可以帮您" in relayed.plain
    await api.next_message(SUPPORT.id, timeout=15)  # "relayed" confirmation
    await person.say("审批要多久？", replies=2)
    follow_up = await api.next_message(SUPPORT.id, timeout=15)
    assert "#Q1" in follow_up.plain and "审批要多久" in follow_up.plain
    assert not api.errors, api.errors


async def test_a_question_after_submission_reaches_the_group_with_the_application_number(
    api: BotApiStandIn, support_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(870, "S", language_code="zh-hans"))
    await person.begin_with_passport("个人")
    await person.document(files.pdf(2), "passport.pdf", "application/pdf")
    (done,) = await person.tap("确认提交")
    (number,) = re.findall(r"DX-\d{4}-\d{6}", done.plain)
    (handed_on,) = await person.say("我想找人工客服")
    assert "转给客服" in handed_on.plain
    to_group = await api.next_message(SUPPORT.id, timeout=15)
    assert f"申请 {number}（已提交，等待审核）" in to_group.plain
    assert "我想找人工客服" in to_group.plain
    assert "M12345678" not in to_group.plain and VALID_PHONE not in to_group.plain
    assert not api.errors, api.errors
