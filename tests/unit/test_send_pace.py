"""Telegram's sending limits as cardbot keeps them: never more than a limit in any window,
replies before background messages, a 429 waited out by every sender."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import BadRequest, NetworkError, RetryAfter

from cardbot.metrics import Metrics
from cardbot.telegram.send_pace import (
    BACKGROUND,
    EPSILON,
    Cell,
    MemoryLedger,
    Pace,
    Paces,
    SharedRateLimiter,
    State,
    Window,
    take,
)
from tests.unit.test_metrics import value


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def most_in_any_window(stamps: list[float], window: float) -> int:
    """The largest number of stamps in any half-open window of `window` seconds (as the
    stand-in and Telegram count)."""
    seen: deque[float] = deque()
    most = 0
    for stamp in stamps:
        seen.append(stamp)
        while seen[0] <= stamp - window:
            seen.popleft()
        most = max(most, len(seen))
    return most


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=2, max_value=40),
    burst=st.integers(min_value=1, max_value=40),
    gaps=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=300),
)
def test_a_pace_never_puts_more_than_its_limit_in_any_window(
    limit: int, burst: int, gaps: list[float]
) -> None:
    pace = Pace.within(limit, 1.0, burst)
    times: dict[str, State] = {}
    now, sent = 0.0, []
    for gap in gaps:  # a sender that tries again as soon as it is told it may
        now += gap
        while (wait := take(times, [Cell("bot", pace, 1)], now, False)) > 0:
            now += wait
        sent.append(now)
    assert most_in_any_window(sent, 1.0) <= limit


def test_the_default_paces_stay_below_telegrams_limits_for_a_busy_minute() -> None:
    paces = Paces.for_limits(30, 10, 20)
    times: dict[str, State] = {}
    now, to_group, to_all = 0.0, [], []
    for i in range(3000):  # as fast as allowed: every tenth message to the review group
        chat = -100 if i % 10 == 0 else 1 + i % 50
        while (wait := take(times, paces.scopes(chat, 1), now, False)) > 0:
            now += wait
        to_all.append(now)
        if chat < 0:
            to_group.append(now)
    # Room for each message to reach Telegram up to a second late.
    assert most_in_any_window(to_all, 2.0) <= 30
    assert most_in_any_window(to_group, 61.0) <= 20


def test_a_chat_gets_a_burst_then_about_one_message_a_second() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    paces = Paces.for_limits(30, 10, 20)
    cells = paces.scopes(7, 1)
    for _ in range(paces.private_chat.burst):  # within a second: the bot's limit has room
        assert ledger.take(cells, False) <= EPSILON
        clock.now += 0.1
    assert ledger.take(cells, False) == pytest.approx(1.05 - 0.1 * paces.private_chat.burst)
    assert ledger.take(paces.scopes(8, 1), False) <= EPSILON, "another chat is not held up"
    clock.now += 1.05
    assert ledger.take(cells, False) <= EPSILON


def test_replies_go_before_background_messages_when_the_budget_is_short() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    paces = Paces(bot=Pace(0.1, 10), private_chat=Pace(1.0, 10), group=Window(20, 61.0))
    chats = iter(range(1, 1000))
    background_sent = 0
    while ledger.take(paces.scopes(next(chats), 1), True) == 0:  # a reminder to each chat
        background_sent += 1
    assert background_sent == 5, "background work stops at half the bot's burst"
    replies_sent = 0
    while ledger.take(paces.scopes(next(chats), 1), False) == 0:
        replies_sent += 1
    assert replies_sent == 5, "the other half is kept for replies"
    clock.now += 0.1
    assert ledger.take(paces.scopes(next(chats), 1), True) > 0, "a reply takes what frees first"
    assert ledger.take(paces.scopes(next(chats), 1), False) <= EPSILON


def test_a_group_gets_its_whole_minute_at_once_and_background_leaves_a_quarter() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    paces = Paces.for_limits(30, 10, 20)
    group = -100
    for _ in range(15):  # a reminder round to the group
        assert ledger.take(paces.scopes(group, 1), True) == 0
        clock.now += 0.5
    assert ledger.take(paces.scopes(group, 1), True) > 0, "the last quarter is for replies"
    assert ledger.take(paces.scopes(group, 5), False) == 0, "a card and its album"
    wait = ledger.take(paces.scopes(group, 1), False)
    assert wait == pytest.approx(61.0 - 15 * 0.5), "the 21st waits for the first to age out"


def test_an_album_larger_than_the_burst_goes_when_the_chat_is_idle() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    paces = Paces.for_limits(30, 3, 20)
    assert ledger.take(paces.scopes(7, 10), False) == 0
    assert ledger.take(paces.scopes(7, 1), False) > 5, "then the chat's pace catches up"


def test_a_peek_takes_nothing() -> None:
    ledger = MemoryLedger(Clock())
    paces = Paces.for_limits(30, 3, 20)
    for _ in range(10):
        assert ledger.peek(paces.scopes(7, 1), False) <= EPSILON
    assert ledger.take(paces.scopes(7, 1), False) <= EPSILON


async def test_a_429_closes_the_chat_for_every_sender_and_the_call_is_tried_again() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    metrics = Metrics()
    paces = Paces.for_limits(30, 10, 20)
    limiter = SharedRateLimiter(ledger, paces, metrics, max_retries=2)
    attempts: list[int] = []

    async def flaky(**_kwargs: Any) -> bool:
        attempts.append(1)
        if len(attempts) == 1:
            raise RetryAfter(30)
        return True

    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("cardbot.telegram.send_pace.asyncio.sleep", no_sleep)
    try:
        assert await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 5}, None)
    finally:
        monkeypatch.undo()
    assert len(attempts) == 2 and sum(sleeps) >= 30, "the retry waited as long as Telegram said"
    errors = "cardbot_bot_api_errors_total"
    assert value(metrics, errors, method="sendMessage", error="RetryAfter") == 1


async def test_a_refused_call_is_counted_and_not_tried_again() -> None:
    metrics = Metrics()
    limiter = SharedRateLimiter(MemoryLedger(Clock()), Paces.for_limits(30, 10, 20), metrics)
    attempts: list[int] = []

    async def refused(**_kwargs: Any) -> bool:
        attempts.append(1)
        raise BadRequest("Bad Request: chat not found")

    with pytest.raises(BadRequest):
        await limiter.process_request(refused, (), {}, "editMessageText", {"chat_id": 5}, None)
    assert len(attempts) == 1
    errors = "cardbot_bot_api_errors_total"
    assert value(metrics, errors, method="editMessageText", error="BadRequest") == 1


async def test_a_chat_written_to_at_a_human_pace_always_has_room_for_button_removals() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    limiter = SharedRateLimiter(ledger, Paces.for_limits(30, 10, 20))
    cells = limiter.paces.scopes(7, 1)
    for _ in range(100):
        assert ledger.take(cells, False) <= EPSILON  # the next question
        assert await limiter.has_room(7)
        assert ledger.take(cells, True) <= EPSILON  # the buttons of the answered one
        clock.now += 3.0  # a person reads, thinks and types
    for _ in range(6):  # a burst: someone answering faster than anyone types
        ledger.take(cells, False)
    assert not await limiter.has_room(7)


def test_background_is_a_setting_of_the_sending_task() -> None:
    assert BACKGROUND.get() is False


async def test_a_call_telegram_did_not_carry_out_gives_its_place_back() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    paces = Paces.for_limits(30, 2, 20)
    limiter = SharedRateLimiter(ledger, paces)

    async def bad_gateway(**_kwargs: Any) -> bool:
        raise NetworkError("Bad Gateway")

    for _ in range(5):  # failing again and again costs the chat nothing
        with pytest.raises(NetworkError):
            await limiter.process_request(bad_gateway, (), {}, "sendMessage", {"chat_id": 5}, None)
    assert ledger.take(paces.scopes(5, 1), False) == 0


def test_after_a_429_an_album_goes_as_soon_as_telegram_allows() -> None:
    clock = Clock()
    ledger = MemoryLedger(clock)
    paces = Paces.for_limits(30, 10, 20)
    album = paces.scopes(-100, 3)
    ledger.hold_back(album[-1], 2.0)
    assert ledger.take(album, False) == pytest.approx(2.0)
    clock.now += 2.0
    assert ledger.take(album, False) == 0
