"""Long polling that loses no update, even when the process dies.

python-telegram-bot's own Updater confirms updates as soon as they are fetched, so a crash
while they wait in its queue loses them. Here each fetched batch is first written to the
database inbox, and only then confirmed to Telegram (by the next getUpdates call); each update
is handed to the application's update processor (one applicant's updates strictly in order,
different applicants concurrently) and leaves the inbox once handled (and its replies sent),
with the next batch stored or a moment later. After a crash the inbox
is handled first; an update handled but not yet removed is applied once anyway, because the
update ids recorded with each change make a repeat harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import signal
import time
import warnings
from collections.abc import Callable, Collection, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from cardbot.metrics import Metrics
from cardbot.telegram.processor import ordering_key

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
POLL_TIMEOUT = 30
SHUTDOWN_GRACE = 30.0
FORGET_AFTER = 0.2
MAX_REMEMBERED = 10_000
# With several workers, an update kept this long and never received here was acknowledged by a
# worker that died before handling it: looked for this often, it waits a few seconds at most.
ADOPT_AFTER = 2.0
ADOPT_EVERY = 1.0

BotApplication = Application[Any, Any, Any, Any, Any, Any]


class Inbox(Protocol):
    """Where fetched updates wait, durably, until handled."""

    def store(self, bot_id: int, updates: dict[int, str], forget: Collection[int] = ()) -> None:
        """Keep these updates (update id → JSON) and forget the handled ones `forget`."""
        ...

    def pending(self, bot_id: int) -> list[str]:
        """The updates kept and not yet handled, oldest first."""
        ...

    def remove(self, bot_id: int, update_id: int) -> None:
        """Forget an update once it was handled."""
        ...

    def earlier_of_user(self, bot_id: int, user_id: int, before: int) -> list[str]:
        """The user's updates kept with a smaller update id, oldest first."""
        ...

    def holds(self, bot_id: int, update_id: int) -> bool:
        """True while the update is kept (not yet handled)."""
        ...

    def received_before(self, bot_id: int, cutoff: datetime, limit: int = 100) -> list[str]:
        """The updates kept since before `cutoff`, oldest first."""
        ...


class UserLocking(Protocol):
    """Per-user locks across worker processes."""

    def hold(self, user_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the user's lock for the duration of the block."""
        ...


class UpdateDispatcher:
    """Hands each kept update to the application's update processor and takes it out of the
    inbox once handled; shared by long polling and the webhook server."""

    def __init__(
        self,
        application: BotApplication,
        inbox: Inbox,
        metrics: Metrics | None = None,
        user_locks: UserLocking | None = None,
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.metrics = metrics
        self.user_locks = user_locks
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.dispatched: set[int] = set()
        self.highest: int | None = None

    @property
    def bot_id(self) -> int:
        """The bot whose updates these are."""
        return int(self.application.bot.id)

    async def _in_thread(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def keep(self, updates: dict[int, str]) -> None:
        """Store updates (update id → JSON) in the inbox, durably, before they are confirmed."""
        if updates:
            await self._in_thread(self.inbox.store, self.bot_id, updates)

    def dispatch(self, update: Update) -> None:
        """Start handling one update through the application's update processor."""
        if update.update_id in self.dispatched:
            return  # e.g. resumed from the inbox, then delivered again before it was confirmed
        highest = update.update_id if self.highest is None else max(self.highest, update.update_id)
        self.highest = highest
        if len(self.dispatched) > MAX_REMEMBERED:
            floor = highest - MAX_REMEMBERED // 2
            self.dispatched = {i for i in self.dispatched if i >= floor}
        self.dispatched.add(update.update_id)
        task = asyncio.create_task(self._handle(update, time.monotonic()))
        self.in_flight[update.update_id] = task
        task.add_done_callback(functools.partial(self._done, update.update_id))

    async def _handle(self, update: Update, received: float) -> None:
        await self.application.update_processor.process_update(update, self._in_order(update))
        if self.metrics is not None:
            self.metrics.update_handled(update_kind(update), time.monotonic() - received)

    async def _in_order(self, update: Update) -> None:
        """Handle the update; with several workers, first take its user's lock and handle
        the user's earlier updates still kept (another worker may have received them), and
        skip it when another worker handled it already."""
        user = ordering_key(update)
        if self.user_locks is None or user is None:
            await self._apply(update)
            return
        async with self.user_locks.hold(user):
            earlier = await self._in_thread(
                self.inbox.earlier_of_user, self.bot_id, user, update.update_id
            )
            for data in earlier:
                await self._apply(Update.de_json(json.loads(data), self.application.bot))
            if await self._in_thread(self.inbox.holds, self.bot_id, update.update_id):
                await self._apply(update)

    async def _apply(self, update: Update) -> None:
        await self.application.process_update(update)
        await self._handled(update.update_id)

    async def _handled(self, update_id: int) -> None:
        """Take a handled update (its replies sent) out of the inbox."""
        await self._in_thread(self.inbox.remove, self.bot_id, update_id)

    def _done(self, update_id: int, task: asyncio.Task[None]) -> None:
        self.in_flight.pop(update_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("update %s failed: %s", update_id, task.exception().__class__.__name__)

    async def resume(self) -> None:
        """Handle what the inbox still holds from before a stop or a crash."""
        for data in await self._in_thread(self.inbox.pending, self.bot_id):
            self.dispatch(Update.de_json(json.loads(data), self.application.bot))

    async def adopt_orphans(
        self, stop: asyncio.Event, after: float = ADOPT_AFTER, every: float = ADOPT_EVERY
    ) -> None:
        """Until `stop`, handle every `every` seconds the updates kept for over `after` seconds
        that this worker never received: a worker that acknowledged them died (its user locks
        went with its connection), and their sender must not wait for their own next message.
        One that its worker is still handling waits for that user's lock and is then skipped."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            cutoff = datetime.now(UTC) - timedelta(seconds=after)
            try:
                kept = await self._in_thread(self.inbox.received_before, self.bot_id, cutoff)
            except Exception as exc:  # the database away: the next round looks again
                log.warning("kept updates not looked at: %s", exc.__class__.__name__)
                continue
            for data in kept:
                update = Update.de_json(json.loads(data), self.application.bot)
                if update.update_id not in self.dispatched:
                    log.info("taking over update %s, left by another worker", update.update_id)
                    self.dispatch(update)

    async def finish(self, timeout: float = SHUTDOWN_GRACE) -> None:
        """Wait (up to `timeout` seconds) for the updates in flight to be handled."""
        if self.in_flight:
            await asyncio.wait(list(self.in_flight.values()), timeout=timeout)


def update_kind(update: Update) -> str:
    """What an update carries (one of ALLOWED_UPDATES), for counting."""
    return next((kind for kind in ALLOWED_UPDATES if getattr(update, kind) is not None), "other")


class ConfirmingPoller(UpdateDispatcher):
    """Fetches updates, keeps them in the inbox, confirms them, hands each to the processor."""

    def __init__(
        self,
        application: BotApplication,
        stop: asyncio.Event,
        inbox: Inbox,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(application, inbox, metrics)
        self.stop = stop
        self.next_offset: int | None = None
        self.handled: set[int] = set()
        self._forgetting: asyncio.TimerHandle | None = None
        self._forget_task: asyncio.Task[None] | None = None

    async def _handled(self, update_id: int) -> None:
        """Take the handled update out of the inbox with the next stored batch, or within
        FORGET_AFTER: one transaction fewer per update. Only one process polls, so nobody
        else reads the inbox meanwhile; after a crash in between, the update is handled
        again, which changes nothing and asks the user's current question once more."""
        self.handled.add(update_id)
        if self._forgetting is None:
            loop = asyncio.get_running_loop()
            self._forgetting = loop.call_later(FORGET_AFTER, self._forget_now)

    def _forget_now(self) -> None:
        self._forgetting = None
        if self.handled and (self._forget_task is None or self._forget_task.done()):
            self._forget_task = asyncio.create_task(self._forget_quietly())

    async def _forget_quietly(self) -> None:
        try:
            await self.keep({})
        except Exception as exc:  # they stay kept: handling them again changes nothing
            log.warning("handled updates not forgotten: %s", exc.__class__.__name__)

    async def keep(self, updates: dict[int, str]) -> None:
        """Store the updates, forgetting those handled since the last batch."""
        forget, self.handled = self.handled, set()
        if updates or forget:
            await self._in_thread(self.inbox.store, self.bot_id, updates, forget)

    async def accept(self, batch: list[tuple[Update, str]]) -> None:
        """Keep the batch (each update with its JSON as Telegram sent it) in the inbox, after
        which it may be confirmed, then handle it."""
        if not batch:
            return
        await self.keep({update.update_id: data for update, data in batch})
        last = batch[-1][0].update_id + 1
        self.next_offset = last if self.next_offset is None else max(self.next_offset, last)
        for update, _data in batch:
            self.dispatch(update)

    async def run(self) -> None:
        """Poll until `stop`, then let in-flight updates finish and confirm them."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        await self.resume()
        failures = 0
        while not self.stop.is_set():
            try:
                updates = await self._fetch(POLL_TIMEOUT)
            except InvalidToken:
                raise
            except RetryAfter as exc:
                self._count_error(exc)
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else delay
                await self._wait(float(seconds))
                continue
            except TimedOut as exc:
                self._count_error(exc)
                continue
            except TelegramError as exc:
                self._count_error(exc)
                failures += 1
                log.warning("getUpdates failed (%s); retrying", exc.__class__.__name__)
                await self._wait(min(2.0**failures, 30.0))
                continue
            if updates is None:
                break
            failures = 0
            await self.accept(updates)
        await self._drain()

    def _count_error(self, error: TelegramError) -> None:
        if self.metrics is not None:
            self.metrics.api_error("getUpdates", error)

    async def _fetch(self, timeout: int) -> list[tuple[Update, str]] | None:
        """One getUpdates call (which confirms everything kept so far): each update with its
        JSON as received, so the inbox need not serialise it again; None on `stop`."""
        fetch = asyncio.ensure_future(self._get_updates(timeout))
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await fetch
            return None
        return fetch.result()

    async def _get_updates(self, timeout: int) -> list[tuple[Update, str]]:
        bot = self.application.bot
        arguments = {"timeout": timeout, "allowed_updates": list(ALLOWED_UPDATES)}
        if self.next_offset is not None:
            arguments["offset"] = self.next_offset
        with warnings.catch_warnings():
            # "use Bot.get_updates": that one would parse the JSON and keep no copy of it
            warnings.simplefilter("ignore", PTBUserWarning)
            raw = await bot.do_api_request(
                "getUpdates", api_kwargs=arguments, read_timeout=timeout + 10
            )
        received = raw if isinstance(raw, list) else []
        return [(Update.de_json(data, bot), json.dumps(data)) for data in received]

    async def _wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early on `stop`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _drain(self) -> None:
        """Finish what is in flight, then confirm the last batch to Telegram."""
        await self.finish()
        if self._forgetting is not None:
            self._forgetting.cancel()
        if self._forget_task is not None:
            await self._forget_task
        await self._forget_quietly()
        if self.next_offset is not None:
            with contextlib.suppress(TelegramError):
                await self.application.bot.get_updates(offset=self.next_offset, timeout=0, limit=1)


async def poll_updates(
    application: BotApplication,
    stop: asyncio.Event,
    inbox: Inbox,
    metrics: Metrics | None = None,
) -> None:
    """Poll and handle updates until `stop`; see ConfirmingPoller."""
    await ConfirmingPoller(application, stop, inbox, metrics).run()


async def serve(
    application: BotApplication,
    stop: asyncio.Event,
    inbox: Inbox,
    ready: asyncio.Event | None = None,
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
    metrics: Metrics | None = None,
) -> None:
    """Start the application and its background jobs, poll until `stop`, then finish in-flight
    work and shut down."""
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        jobs = [asyncio.create_task(job(stop)) for job in background]
        if ready is not None:
            ready.set()
        try:
            await poll_updates(application, stop, inbox, metrics)
        finally:
            stop.set()
            if jobs:
                await asyncio.wait(jobs, timeout=SHUTDOWN_GRACE)
            await application.stop()


def run_until_signalled(
    application: BotApplication,
    inbox: Inbox,
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
    metrics: Metrics | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM: stop taking updates, finish those in flight, exit."""
    until_signalled(
        lambda stop: serve(application, stop, inbox, background=background, metrics=metrics)
    )


def until_signalled(serving: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run `serving(stop)` in a new event loop; SIGINT or SIGTERM sets `stop`."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serving(stop)

    asyncio.run(main())
