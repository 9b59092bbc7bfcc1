"""The sending limits kept in PostgreSQL: two workers (here two ledgers on their own engines,
each sending from several threads as fast as they are let) together stay within the limits."""

from __future__ import annotations

import threading
import time

import pytest

from cardbot.db.migrate import upgrade
from cardbot.db.send_ledger import SqlSendLedger
from cardbot.db.session import make_engine
from cardbot.telegram import send_pace
from cardbot.telegram.send_pace import Cell, Pace, Paces, State
from tests.unit.test_send_pace import most_in_any_window

pytestmark = pytest.mark.postgres


def test_two_workers_sending_as_fast_as_allowed_stay_within_the_bots_limit(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(postgres_database)
    # Each place is stamped with the database clock it was taken at, under the rows' lock, so
    # the count does not depend on how soon a thread gets to run again after its commit.
    taken_at: list[float] = []
    real_take = send_pace.take

    def recording_take(
        states: dict[str, State], cells: list[Cell], now: float, background: bool
    ) -> float:
        wait = real_take(states, cells, now, background)
        if wait == 0:
            taken_at.append(now)
        return wait

    monkeypatch.setattr("cardbot.db.send_ledger.take", recording_take)
    paces = Paces(bot=Pace.within(10, 1.0, 3), private_chat=Pace(1.0, 5), group=Pace(4.0, 5))
    engines = [make_engine(postgres_database) for _ in range(2)]
    ledgers = [SqlSendLedger(engine) for engine in engines]
    sent: list[tuple[int, int]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 2.5

    def send(worker: int, first_chat: int) -> None:
        chat = first_chat
        while time.monotonic() < deadline:
            wait = ledgers[worker].take(paces.scopes(chat, 1), False)
            if wait > 0:
                time.sleep(wait)
                continue
            with lock:
                sent.append((worker, chat))
            chat += 1

    threads = [
        threading.Thread(target=send, args=(worker, 1000 * (worker * 3 + i)))
        for worker in range(2)
        for i in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert {worker for worker, _ in sent} == {0, 1}
    assert len(taken_at) == len(sent) > 10, "every send took a place, more than one window's"
    assert most_in_any_window(sorted(taken_at), 1.0) <= 10


def test_a_429_seen_by_one_worker_holds_the_chat_back_for_the_other(
    postgres_database: str,
) -> None:
    upgrade(postgres_database)
    paces = Paces.for_limits(30, 10, 20)
    engines = [make_engine(postgres_database) for _ in range(2)]
    first, second = (SqlSendLedger(engine) for engine in engines)
    cells = paces.scopes(42, 1)
    assert first.take(cells, False) == 0
    first.hold_back(cells[-1], 20.0)
    assert 15.0 < second.take(cells, False) <= 20.0  # less the time the two calls took
    assert second.take(paces.scopes(43, 1), False) == 0, "other chats go on"
    assert second.peek([Cell("chat:44", paces.private_chat, 1)], True) == 0
    assert first.forget_idle() == 1, "only the chat looked at and never sent to is idle"
    for engine in engines:
        engine.dispose()


def test_a_chat_forgotten_by_one_worker_is_still_limited_by_the_other(
    postgres_database: str,
) -> None:
    upgrade(postgres_database)
    # The chat's pace leaves room for two transactions on a busy machine between the takes.
    paces = Paces(bot=Pace(0.01, 1), private_chat=Pace(3.0, 1), group=Pace(4.0, 5))
    engines = [make_engine(postgres_database) for _ in range(2)]
    first, second = (SqlSendLedger(engine) for engine in engines)
    cells = paces.scopes(45, 1)
    assert first.take(cells, False) == 0
    deadline, forgotten = time.monotonic() + 10, 0
    while forgotten < 2:  # the bot's row and the chat's, once their places have run out
        assert time.monotonic() < deadline, "the scopes never became idle"
        time.sleep(0.02)
        forgotten += second.forget_idle()
    assert first.take(cells, False) == 0, "the forgotten chat's row is made again"
    assert first.take(cells, False) > 0, "and it holds the next message back"
    for engine in engines:
        engine.dispose()
