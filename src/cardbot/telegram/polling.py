"""Long polling that confirms an update to Telegram only after it was handled.

python-telegram-bot's own Updater confirms updates as soon as they are fetched, so a crash
while they wait in its queue loses them. Here each fetched update is handed to the application's
update processor (one applicant's updates strictly in order, different applicants concurrently)
and polling goes on; the offset sent with each getUpdates call, which confirms everything below
it, never passes an update still being handled. A crash makes Telegram deliver the unconfirmed
updates again, and the update ids recorded with each change make a repeat harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
POLL_TIMEOUT = 30
BUSY_POLL_INTERVAL = 0.1
SHUTDOWN_GRACE = 30.0

BotApplication = Application[Any, Any, Any, Any, Any, Any]


class ConfirmingPoller:
    """Fetches updates, hands each to the update processor, confirms only finished ones."""

    def __init__(self, application: BotApplication, stop: asyncio.Event) -> None:
        self.application = application
        self.stop = stop
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.finished: set[int] = set()
        self.next_offset: int | None = None

    @property
    def confirm_offset(self) -> int | None:
        """Every update below this id is handled: the lowest in flight, else one past the last."""
        return min(self.in_flight) if self.in_flight else self.next_offset

    def dispatch(self, update: Update) -> None:
        """Start handling one update through the application's update processor."""
        app = self.application
        task = asyncio.create_task(
            app.update_processor.process_update(update, app.process_update(update))
        )
        self.in_flight[update.update_id] = task
        task.add_done_callback(functools.partial(self._done, update.update_id))

    def _done(self, update_id: int, task: asyncio.Task[None]) -> None:
        self.in_flight.pop(update_id, None)
        self.finished.add(update_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("update %s failed: %s", update_id, task.exception().__class__.__name__)

    def accept(self, updates: list[Update]) -> bool:
        """Dispatch the updates not seen before; True when there was at least one."""
        offset = self.confirm_offset
        self.finished = {i for i in self.finished if offset is None or i >= offset}
        fresh = [
            u
            for u in updates
            if u.update_id not in self.in_flight and u.update_id not in self.finished
        ]
        for update in fresh:
            self.dispatch(update)
        if updates:
            last = updates[-1].update_id + 1
            self.next_offset = last if self.next_offset is None else max(self.next_offset, last)
        return bool(fresh)

    async def run(self) -> None:
        """Poll until `stop`, then let in-flight updates finish and confirm them."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        failures = 0
        while not self.stop.is_set():
            # With updates in flight, Telegram answers at once (it still has them): poll briefly.
            timeout = 0 if self.in_flight else POLL_TIMEOUT
            try:
                updates = await self._fetch(timeout)
            except InvalidToken:
                raise
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else delay
                await self._wait(float(seconds))
                continue
            except TimedOut:
                continue
            except TelegramError as exc:
                failures += 1
                log.warning("getUpdates failed (%s); retrying", exc.__class__.__name__)
                await self._wait(min(2.0**failures, 30.0))
                continue
            if updates is None:
                break
            failures = 0
            if not self.accept(updates) and self.in_flight:
                await self._wait(BUSY_POLL_INTERVAL)
        await self._drain()

    async def _fetch(self, timeout: int) -> list[Update] | None:
        """One getUpdates call; None when `stop` was set meanwhile."""
        fetch = asyncio.ensure_future(
            self.application.bot.get_updates(
                offset=self.confirm_offset,
                timeout=timeout,
                allowed_updates=list(ALLOWED_UPDATES),
                read_timeout=timeout + 10,
            )
        )
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
        return list(fetch.result())

    async def _wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early on `stop`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _drain(self) -> None:
        """Finish what is in flight, then confirm it so it is not delivered again."""
        if self.in_flight:
            await asyncio.wait(list(self.in_flight.values()), timeout=SHUTDOWN_GRACE)
        offset = self.confirm_offset
        if offset is not None:
            with contextlib.suppress(TelegramError):
                await self.application.bot.get_updates(offset=offset, timeout=0, limit=1)


async def poll_updates(application: BotApplication, stop: asyncio.Event) -> None:
    """Poll and handle updates until `stop`; see ConfirmingPoller."""
    await ConfirmingPoller(application, stop).run()


async def serve(
    application: BotApplication,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
) -> None:
    """Start the application, poll until `stop`, then finish in-flight work and shut down."""
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        if ready is not None:
            ready.set()
        try:
            await poll_updates(application, stop)
        finally:
            await application.stop()


def run_until_signalled(application: BotApplication) -> None:
    """Serve until SIGINT or SIGTERM: stop taking updates, finish those in flight, exit."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(application, stop)

    asyncio.run(main())
