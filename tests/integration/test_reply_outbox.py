"""The reply outbox on SQLite and PostgreSQL: sealed at rest, sent in order, by one sender."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from cardbot.core.replies import Reply
from cardbot.db.message_refs import SqlMessageRefs
from cardbot.db.migrate import upgrade
from cardbot.db.models import ReplyOutboxRow
from cardbot.db.reply_outbox import ReplyQueue
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from tests.support.fakes import FixedClock
from tests.support.harness import VALID_ID

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = os.urandom(32)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def write(engine: Engine, key: str | None, *replies: Reply) -> None:
    """Commit replies to the outbox as a unit of work does."""
    with SqlUnitOfWork(make_session_factory(engine), FixedClock(NOW), KEY) as uow:
        for reply in replies:
            uow.messages.add(reply, key)
        uow.commit()


def reply(chat_id: int, text: str) -> Reply:
    return Reply("summary", chat_id, "zh", {"name": text, "due": NOW.date()})


def test_replies_are_sealed_at_rest_and_read_back_in_order(engine: Engine) -> None:
    write(engine, "tg:1", reply(5, VALID_ID), reply(6, "b"), reply(5, "c"))
    with engine.connect() as connection:
        payloads = connection.execute(select(ReplyOutboxRow.payload)).scalars().all()
    assert len(payloads) == 3 and all(VALID_ID not in p and "summary" not in p for p in payloads)

    queue = ReplyQueue(engine, KEY)
    assert queue.chats_waiting() == [5, 6]
    claimed = queue.claim(5, "a")
    assert [p.reply for p in claimed] == [reply(5, VALID_ID), reply(5, "c")]
    for pending in claimed:
        queue.sent(pending.id, "a")
    assert queue.count(5) == 0 and queue.count() == 1


def test_a_repeated_delivery_finds_only_its_replies_still_waiting(engine: Engine) -> None:
    write(engine, "tg:1", reply(5, "a"), reply(-100, "card"))
    write(engine, "tg:2", reply(5, "b"))
    queue = ReplyQueue(engine, KEY)
    (first, _card) = queue.claim(5, "a")
    queue.sent(first.id, "a")
    with SqlUnitOfWork(make_session_factory(engine), FixedClock(NOW), KEY) as uow:
        assert uow.messages.pending_for("tg:1") == [reply(-100, "card")]
        assert uow.messages.pending_for("tg:3") == []


def test_a_chat_is_sent_by_one_sender_at_a_time_until_its_claim_runs_out(engine: Engine) -> None:
    write(engine, None, reply(5, "a"), reply(5, "b"))
    now = [NOW]
    queue = ReplyQueue(engine, KEY, now=lambda: now[0], lease=timedelta(seconds=30))
    (first, _second) = queue.claim(5, "a")
    assert queue.claim(5, "b") == [], "held by a"
    assert queue.chats_waiting() == []
    queue.sent(first.id, "a")
    write(engine, None, reply(5, "c"))
    assert queue.claim(5, "b") == [], "a sends what follows too"
    now[0] += timedelta(seconds=31)  # a died
    assert [p.reply for p in queue.claim(5, "b")] == [reply(5, "b"), reply(5, "c")]


def test_a_released_row_is_sent_again_and_a_row_failing_again_and_again_is_dropped(
    engine: Engine,
) -> None:
    write(engine, None, reply(5, "a"))
    queue = ReplyQueue(engine, KEY)
    for _ in range(5):
        assert len(queue.claim(5, "a")) == 1
        queue.release("a")
    assert queue.claim(5, "a") == []
    assert queue.count() == 0


def test_rows_written_lately_are_left_to_the_update_that_wrote_them(engine: Engine) -> None:
    write(engine, None, reply(5, "a"))
    queue = ReplyQueue(engine, KEY)
    assert queue.chats_waiting(created_before=NOW - timedelta(seconds=5)) == []
    assert queue.chats_waiting(created_before=NOW) == [5]


def test_rekey_seals_waiting_replies_again_so_none_is_lost_with_the_old_key(
    engine: Engine,
) -> None:
    write(engine, "tg:1", reply(5, VALID_ID), reply(5, "b"))
    new_key = os.urandom(32)
    renewed = ReplyQueue(engine, new_key)
    assert renewed.rekey(KEY) == 2  # `cardbot documents rekey` seals them too
    assert renewed.rekey(KEY) == 0, "safe to run again"
    claimed = renewed.claim(5, "a")
    assert [p.reply for p in claimed] == [reply(5, VALID_ID), reply(5, "b")]


def test_the_last_row_sent_and_the_chats_next_rows_are_one_step(engine: Engine) -> None:
    write(engine, "tg:1", reply(5, "a"))
    queue = ReplyQueue(engine, KEY)
    (first,) = queue.claim(5, "a")
    assert queue.claim(5, "b") == [], "held by the first sender"
    write(engine, "tg:2", reply(5, "b"), reply(5, "c"))  # another update, meanwhile
    following = queue.sent_then_claim(first.id, "a", 5)
    assert [p.reply for p in following] == [reply(5, "b"), reply(5, "c")]
    assert queue.claim(5, "b") == [], "still the first sender's to send"
    assert queue.sent_then_claim(following[0].id, "a", 5) == [following[1]]
    assert queue.sent_then_claim(following[1].id, "a", 5) == []
    assert queue.count(5) == 0


def test_a_sent_row_and_the_name_of_the_message_it_became_are_kept_together(
    engine: Engine,
) -> None:
    write(engine, "tg:1", reply(5, "a"), reply(5, "b"))
    queue, refs = ReplyQueue(engine, KEY), SqlMessageRefs(engine)
    first, second = queue.claim(5, "a")
    queue.sent(first.id, "a", ("ask:5", 5, 41))
    assert refs.get("ask:5") == (5, 41) and queue.count(5) == 1
    assert queue.sent_then_claim(second.id, "a", 5, ("ask:5", 5, 42)) == []
    assert refs.get("ask:5") == (5, 42) and queue.count(5) == 0
