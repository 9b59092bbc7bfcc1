"""End to end: everything the bot says waits in the outbox, committed with the change it follows,
until Telegram accepted it: a crash between the two loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import re
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cardbot.core.events import ButtonPress, Incoming
from cardbot.core.replies import Reply
from cardbot.core.service import ConversationService
from cardbot.db.reply_outbox import ReplyQueue
from cardbot.db.session import make_engine
from cardbot.telegram.jobs import send_waiting
from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.e2e.test_review_desk import fill_small_business
from tests.e2e.test_run_command import start_process
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser, SentMessage
from tests.support.databases import DATABASE_KINDS
from tests.support.harness import VALID_ID
from tests.support.waiting import hold_until, until

REVIEW = FakeChat(-1009876543210, "supergroup", "cardbot review")
DATES = re.compile(r"预计在 \d{4}-\d{2}-\d{2} 至 \d{4}-\d{2}-\d{2} 之间给出结果")


@pytest.fixture(params=DATABASE_KINDS)
async def review_bot(
    api: BotApiStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    """cardbot with a review group, on SQLite and on PostgreSQL."""
    api.add_chat(REVIEW)
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    running = RunningBot(api, tmp_path, url, review_chat_id=REVIEW.id)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def waiting_rows(bot: RunningBot) -> int:
    """How many replies wait in the outbox of the bot's database."""
    assert bot.runtime is not None
    return bot.runtime.replies.count()


async def test_killed_after_the_submit_committed_everything_is_said_once_after_restart(
    api: BotApiStandIn,
    review_bot: RunningBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    person = Person(api, FakeUser(1201, "O", language_code="zh-hans"))
    await fill_small_business(person)
    await person.no_more_messages()
    to_person = len(api.messages_to(person.user.id))
    assert api.messages_to(REVIEW.id) == []

    handle = ConversationService.handle
    committed = threading.Event()

    def dies_after_commit(service: ConversationService, incoming: Incoming) -> list[Reply]:
        replies = handle(service, incoming)
        submit = isinstance(incoming.event, ButtonPress) and "submit" in incoming.event.data
        if submit and not committed.is_set():
            committed.set()
            hold_until(lambda: not review_bot.serving())  # dies here: applied, nothing sent
        return replies

    monkeypatch.setattr(ConversationService, "handle", dies_after_commit)
    assert person.last is not None
    api.press_button(person.user, person.last, person.last.button_data("确认提交"))
    await asyncio.to_thread(committed.wait, 10)
    await review_bot.crash()
    monkeypatch.setattr(ConversationService, "handle", handle)
    assert len(api.messages_to(person.user.id)) == to_person, "nothing was sent before dying"
    assert api.messages_to(REVIEW.id) == []

    again = RunningBot(api, tmp_path, review_bot.settings.database_url, review_chat_id=REVIEW.id)
    await again.start()
    try:
        (done,) = await person.replies(1)
        card = await api.next_message(REVIEW.id, timeout=15)
        await person.no_more_messages()
        await api.wait_idle(quiet=0.5)
        assert done.plain.startswith("🎉 申请已提交")
        assert DATES.search(done.plain), done.plain
        assert len(api.messages_to(person.user.id)) == to_person + 1, "said once"
        assert "Acme &amp; Co" in card.text
        assert api.messages_to(REVIEW.id) == [card], "once; documents go to reviewers only"
        await until(lambda: waiting_rows(again) == 0, "the sent rows deleted")
    finally:
        await again.stop()


async def test_an_update_delivered_again_after_its_replies_were_sent_says_nothing(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(1202, "P", language_code="zh-hans"))
    await person.begin("个人")
    update_id = api.send_text(person.user, "张三")
    (question,) = await person.replies(1)
    assert "证件类型" in question.plain
    await person.tap("居民身份证")
    await person.no_more_messages()
    sent = len(api.messages_to(person.user.id))

    api.redeliver(update_id)
    await api.wait_idle(quiet=0.5)

    assert len(api.messages_to(person.user.id)) == sent, "nothing sent twice"
    (answer,) = await person.say(VALID_ID)  # still where it was: the repeat changed nothing
    assert "手机号" in answer.plain
    await until(lambda: waiting_rows(review_bot) == 0, "the sent rows deleted")


async def test_a_submit_delivered_again_sends_neither_the_card_nor_the_receipt_twice(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(1203, "Q", language_code="zh-hans"))
    await fill_small_business(person)
    assert person.last is not None
    update_id = api.press_button(person.user, person.last, person.last.button_data("确认提交"))
    (done,) = await person.replies(1)
    assert done.plain.startswith("🎉 申请已提交")
    review: list[SentMessage] = [await api.next_message(REVIEW.id, timeout=15)]  # the card
    await api.wait_idle(quiet=0.5)
    sent = len(api.messages_to(person.user.id))

    api.redeliver(update_id)
    await api.wait_idle(quiet=0.5)

    assert len(api.messages_to(person.user.id)) == sent
    assert api.messages_to(REVIEW.id) == review


# --------------------------------------------------------------------------- a killed process


async def test_killed_with_replies_waiting_the_restarted_process_sends_them_once(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    """`cardbot run` SIGKILLed while Telegram refuses every message (the submit committed,
    nothing of it sent): the next run sends the receipt and the card once."""
    api.add_chat(REVIEW)
    person = Person(api, FakeUser(1204, "R", language_code="zh-hans"))
    review = {"CARDBOT_REVIEW_CHAT_ID": str(REVIEW.id)}
    process = await start_process(api, tmp_path, **review)
    url = f"sqlite:///{tmp_path / 'data' / 'cardbot.db'}"
    try:
        await fill_small_business(person)
        await person.no_more_messages()
        to_person = len(api.messages_to(person.user.id))
        api.fail("*", status=502, times=100_000)
        assert person.last is not None
        api.press_button(person.user, person.last, person.last.button_data("确认提交"))
        engine = make_engine(url)
        queue = ReplyQueue(engine)
        await api.wait_until(
            lambda: queue.count(REVIEW.id) == 1 and queue.count(person.user.id) == 1,
            timeout=20,
            what="the receipt and the card committed to the outbox",
        )
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    api.recover()  # Telegram is back
    assert len(api.messages_to(person.user.id)) == to_person
    assert api.messages_to(REVIEW.id) == []

    process = await start_process(api, tmp_path, **review)
    try:
        # The killed run held the rows for a while: they are sent once its claim runs out.
        done = await api.next_message(person.user.id, timeout=60)
        card = await api.next_message(REVIEW.id, timeout=15)
        await api.wait_idle(quiet=1.0, timeout=30)
        assert done.plain.startswith("🎉 申请已提交") and DATES.search(done.plain)
        assert len(api.messages_to(person.user.id)) == to_person + 1
        assert api.messages_to(REVIEW.id) == [card]
        await until(lambda: queue.count() == 0, "the sent rows deleted")
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
        engine.dispose()


async def test_a_round_of_the_sending_job_that_sends_nothing_ends_and_uses_one_attempt(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    """Telegram refusing every send (409, not retried) must not make one round of the job
    claim the rows again and again until they are dropped as failing."""
    runtime, application = review_bot.runtime, review_bot.application
    assert runtime is not None and application is not None
    person = Person(api, FakeUser(1207, "R", language_code="zh-hans"))
    await person.begin("个人")
    await person.no_more_messages()
    api.fail("sendMessage", status=409, times=1000)
    with runtime.service.unit_of_work() as uow:  # a notice left by background work
        uow.messages.add(Reply("nothing_to_cancel", person.user.id, "zh", {}), None)
        uow.commit()
    assert await send_waiting(runtime, application) == 0
    assert waiting_rows(review_bot) == 1, "the notice is kept for a later round"
    api.recover()
    assert await send_waiting(runtime, application) == 1
    (notice,) = await person.replies(1)
    assert "无需取消" in notice.plain
