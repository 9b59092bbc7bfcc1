"""Telegram's sending limits, kept for the whole deployment, interactive replies first.

Telegram allows a bot about 30 messages a second in all, about one a second in a private chat
(short bursts pass) and 20 a minute in a group, and answers 429 beyond that. Every Bot API call
that names a chat goes through `SharedRateLimiter`: it waits until the call fits each limit
that applies (the bot's, the chat's) and then takes its place. The places are kept in a
`SendLedger`: in memory for one process (SQLite), in the database for several workers
(PostgreSQL, db/send_ledger.py), so the limits hold for the sum of all workers.

Each limit is a GCRA (a leaky bucket kept as one "theoretical arrival time" per scope): a
message may go once the scope's time minus the burst allowance is not in the future. A reply to
what someone just did goes on the full allowance; a background notification (a reminder, a
message left from before a restart) only on half of it, so when the budget is short the people
waiting for an answer go first.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from telegram.error import RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

from cardbot.metrics import Metrics

log = logging.getLogger(__name__)

# Set for the sends of background work (the default is a reply someone is waiting for).
BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)
BOT_SCOPE = "bot"
MAX_SLEEP = 5.0  # a waiting send looks again at least this often (others may have given up)
SEND_RETRIES = 5
EPSILON = 1e-6  # seconds: sums of intervals are not exact


State = tuple[float, ...]  # what a scope remembers: its due time, or its recent stamps


@dataclass(frozen=True)
class Pace:
    """One message every `interval` seconds, `burst` of them at once (a GCRA leaky bucket,
    whose state is the scope's due time)."""

    interval: float
    burst: int

    @classmethod
    def within(cls, limit: int, window: float, burst: int, jitter: float = 0.0) -> Pace:
        """The pace that never puts more than `limit` messages in any `window` seconds while
        letting `burst` go at once, also when each message reaches Telegram up to `jitter`
        seconds later than its place was taken (the steady rate is what the burst leaves)."""
        burst = max(1, min(burst, limit - 1))
        return cls((window + jitter) / (limit - burst), burst)

    def allowance(self, background: bool) -> float:
        """How far ahead of now a scope's due time may be for a message to go."""
        burst = max(1, self.burst // 2) if background else self.burst
        return (burst - 1) * self.interval

    def wait(self, state: State, now: float, count: int, background: bool) -> float:
        """How long `count` messages must wait (0: they may go now). An idle scope lets any
        number go at once (an album larger than the burst must go somehow)."""
        due = state[0] if state else now
        if due <= now:
            return 0.0
        return due + (count - 1) * self.interval - self.allowance(background) - now

    def taken(self, state: State, now: float, count: int) -> State:
        """The state once `count` messages went now."""
        due = state[0] if state else now
        return (max(due, now) + count * self.interval,)

    def held(self, state: State, until: float, count: int) -> State:
        """The state that lets `count` messages go at `until` and not before."""
        due = until + self.allowance(False) - (count - 1) * self.interval
        return (max(state[0], due),) if state else (due,)

    def given_back(self, state: State, count: int) -> State:
        """The state with `count` messages that did not go taken back."""
        return (state[0] - count * self.interval,) if state else state

    def idle_from(self, state: State) -> float:
        """When the scope holds nothing any more."""
        return state[0] if state else 0.0


@dataclass(frozen=True)
class Window:
    """At most `limit` messages in any `span` seconds (a sliding window, whose state is the
    stamps of the recent messages): a whole burst, and the full rate, as Telegram counts a
    group's messages a minute. Background messages leave a quarter of it to replies."""

    limit: int
    span: float

    def wait(self, state: State, now: float, count: int, background: bool) -> float:
        """How long `count` messages must wait (0: they may go now)."""
        room = self.limit - (self.limit // 4 if background else 0)
        recent = sorted(stamp for stamp in state if stamp > now - self.span)
        excess = len(recent) + count - room
        if excess <= 0:
            return 0.0
        if excess > len(recent) and not recent:
            return 0.0  # more than the window holds, and it is empty: all at once
        oldest_in_the_way = recent[min(excess, len(recent)) - 1]
        return max(oldest_in_the_way + self.span - now, 2 * EPSILON)  # even if it is due now

    def taken(self, state: State, now: float, count: int) -> State:
        """The state once `count` messages went now."""
        return (*(stamp for stamp in state if stamp > now - self.span), *(now,) * count)

    def held(self, state: State, until: float, count: int) -> State:
        """The state that lets no message go before `until`."""
        return (*state, *(until - self.span,) * self.limit)

    def given_back(self, state: State, count: int) -> State:
        """The state with `count` messages that did not go taken back."""
        return tuple(sorted(state)[: max(0, len(state) - count)])

    def idle_from(self, state: State) -> float:
        """When the scope holds nothing any more."""
        return max(state, default=0.0) + self.span


Limit = Pace | Window


@dataclass(frozen=True)
class Paces:
    """The limits of one bot: all chats together, each private chat, each group."""

    bot: Limit
    private_chat: Limit
    group: Limit

    @classmethod
    def for_limits(
        cls, per_second: float, private_burst: int, group_per_minute: int, jitter: float = 1.0
    ) -> Paces:
        """Limits kept also when a message reaches Telegram up to `jitter` seconds after its
        place was taken (a busy machine, a slow network): about 12 messages a second in all
        for a limit of 30, a private chat's burst less one and then one a second, a group's
        20 in any minute."""
        total = max(2, math.floor(per_second))
        return cls(
            bot=Pace.within(total, 1.0, max(1, total // 6), jitter),
            private_chat=Pace(1.0 + jitter / 20, max(1, private_burst - 1)),
            group=Window(max(1, group_per_minute), 60.0 + jitter),
        )

    def scopes(self, chat_id: int, count: int) -> list[Cell]:
        """What a call of `count` messages to a chat takes: its place in the bot's limit and
        in the chat's."""
        chat = self.group if chat_id < 0 else self.private_chat
        return [Cell(BOT_SCOPE, self.bot, count), Cell(f"chat:{chat_id}", chat, count)]


@dataclass(frozen=True)
class Cell:
    """`count` messages in one scope, under its limit."""

    scope: str
    limit: Limit
    count: int


def waiting(
    states: Mapping[str, State], cells: Sequence[Cell], now: float, background: bool
) -> float:
    """How long `cells` must wait before each fits its scope (0: they fit now)."""
    wait = 0.0
    for cell in cells:
        state = states.get(cell.scope, ())
        wait = max(wait, cell.limit.wait(state, now, cell.count, background))
    return wait


def take(states: dict[str, State], cells: Sequence[Cell], now: float, background: bool) -> float:
    """Take the places of `cells` if each fits its scope now (updating `states`) and return 0;
    else change nothing and return how long to wait."""
    wait = waiting(states, cells, now, background)
    if wait > EPSILON:
        return wait
    for cell in cells:
        states[cell.scope] = cell.limit.taken(states.get(cell.scope, ()), now, cell.count)
    return 0.0


def hold_back(states: dict[str, State], cell: Cell, until: float) -> None:
    """Keep the cell's scope closed until `until` (Telegram answered 429 and named the wait):
    then the cell may go, and what follows keeps its pace."""
    states[cell.scope] = cell.limit.held(states.get(cell.scope, ()), until, cell.count)


def give_back(states: dict[str, State], cells: Sequence[Cell]) -> None:
    """Return the places of cells whose call Telegram did not carry out (refused, or failed
    before it was accepted)."""
    for cell in cells:
        if cell.scope in states:
            states[cell.scope] = cell.limit.given_back(states[cell.scope], cell.count)


class SendLedger(Protocol):
    """Where the scopes' times are kept, for one process or for all workers."""

    shared: bool

    def take(self, cells: Sequence[Cell], background: bool) -> float:
        """Take the cells' places now (0) or say how long to wait (nothing taken)."""
        ...

    def peek(self, cells: Sequence[Cell], background: bool) -> float:
        """How long the cells would wait now (0: they fit), taking nothing."""
        ...

    def hold_back(self, cell: Cell, seconds: float) -> None:
        """Keep the cell's scope closed for `seconds` from now."""
        ...

    def give_back(self, cells: Sequence[Cell]) -> None:
        """Return the places of cells whose call was not carried out."""
        ...


class MemoryLedger:
    """The scopes' states in this process (one process serves: SQLite)."""

    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._states: dict[str, State] = {}
        self._limits: dict[str, Limit] = {}

    def take(self, cells: Sequence[Cell], background: bool) -> float:
        """Take the cells' places now (0) or say how long to wait (nothing taken)."""
        now = self.clock()
        if len(self._states) > 50_000:
            self._forget_idle(now)
        self._limits.update((cell.scope, cell.limit) for cell in cells)
        return take(self._states, cells, now, background)

    def peek(self, cells: Sequence[Cell], background: bool) -> float:
        """How long the cells would wait now (0: they fit), taking nothing."""
        return waiting(self._states, cells, self.clock(), background)

    def hold_back(self, cell: Cell, seconds: float) -> None:
        """Keep the cell's scope closed for `seconds` from now."""
        self._limits[cell.scope] = cell.limit
        hold_back(self._states, cell, self.clock() + seconds)

    def give_back(self, cells: Sequence[Cell]) -> None:
        """Return the places of cells whose call was not carried out."""
        give_back(self._states, cells)

    def _forget_idle(self, now: float) -> None:
        """Forget the scopes that hold nothing any more."""
        self._states = {
            scope: state
            for scope, state in self._states.items()
            if self._limits[scope].idle_from(state) > now
        }
        self._limits = {scope: self._limits[scope] for scope in self._states}


class SharedRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's rate limiter hook: every call that names a chat waits for its
    place in the ledger; a 429 closes the chat's scope for the time Telegram names (for every
    worker) and the call is tried again, up to `max_retries` times. Each failed attempt is
    counted in `Metrics.api_errors`."""

    def __init__(
        self,
        ledger: SendLedger,
        paces: Paces,
        metrics: Metrics | None = None,
        max_retries: int = SEND_RETRIES,
    ) -> None:
        self.ledger = ledger
        self.paces = paces
        self.metrics = metrics
        self.max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def has_room(self, chat_id: int) -> bool:
        """True when the chat has room now for a call and the next reply after it (for calls
        worth making only while the chat is not busy, like taking buttons off an answered
        question)."""
        cells = self.paces.scopes(chat_id, 2)
        wait: float = await self._ledger(self.ledger.peek, cells, False)
        return wait <= EPSILON

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for the call's place, make it, and retry it after a 429."""
        chat_id = _chat_id(data.get("chat_id"))
        cells = [] if chat_id is None else self.paces.scopes(chat_id, _message_count(data))
        retries = rate_limit_args or self.max_retries
        for attempt in range(retries + 1):
            if cells:
                await self._wait_turn(cells)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._count(endpoint, exc)
                seconds = _seconds(exc.retry_after)
                if cells:
                    await self._ledger(self.ledger.hold_back, cells[-1], seconds)
                if attempt == retries:
                    log.warning("%s: still 429 after %d retries; given up", endpoint, retries)
                    raise
                log.info("%s: 429, retrying after %.1f s", endpoint, seconds)
                if not cells:
                    await asyncio.sleep(seconds)
            except TelegramError as exc:
                self._count(endpoint, exc)
                if cells and not isinstance(exc, TimedOut):  # a timed-out call may have gone
                    await self._ledger(self.ledger.give_back, cells)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait_turn(self, cells: Sequence[Cell]) -> None:
        background = BACKGROUND.get()
        while True:
            wait: float = await self._ledger(self.ledger.take, cells, background)
            if wait <= EPSILON:
                return
            await asyncio.sleep(min(wait, MAX_SLEEP))

    async def _ledger(self, call: Callable[..., Any], *args: Any) -> Any:
        """A ledger call: in a thread when it asks the database."""
        if self.ledger.shared:
            return await asyncio.to_thread(call, *args)
        return call(*args)

    def _count(self, endpoint: str, error: TelegramError) -> None:
        if self.metrics is not None:
            self.metrics.api_error(endpoint, error)


def _chat_id(value: object) -> int | None:
    if isinstance(value, int | str):
        try:
            return int(value)
        except ValueError:
            return None  # a channel's @username: not a chat cardbot sends to
    return None


def _message_count(data: dict[str, Any]) -> int:
    media = data.get("media")
    return len(media) if isinstance(media, list) and media else 1


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
