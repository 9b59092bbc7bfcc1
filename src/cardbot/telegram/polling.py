"""Long polling that acknowledges a batch of updates only after it was handled.

python-telegram-bot's own Updater confirms updates as soon as they are fetched, so a crash
while they wait in its queue loses them. Here the next getUpdates call, which tells Telegram
the batch is done, is made only once every update of the batch was applied; a crash before
that makes Telegram deliver the batch again, and the update ids recorded with each change
make the repeat harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any

from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
POLL_TIMEOUT = 30


async def poll_updates(
    application: Application[Any, Any, Any, Any, Any, Any],
    stop: asyncio.Event,
    *,
    timeout: int = POLL_TIMEOUT,
) -> None:
    """Fetch a batch, handle all of it, then fetch again (which confirms it), until `stop`."""
    bot = application.bot
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    failures = 0
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                bot.get_updates(
                    offset=offset,
                    timeout=timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                    read_timeout=timeout + 10,
                )
            )
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                break
            try:
                updates = fetch.result()
            except InvalidToken:
                raise
            except RetryAfter as exc:
                delay = exc.retry_after
                seconds = delay.total_seconds() if isinstance(delay, timedelta) else delay
                await _pause(stop, float(seconds))
                continue
            except TimedOut:
                continue
            except (NetworkError, TelegramError) as exc:
                failures += 1
                log.warning("getUpdates failed (%s); retrying", exc.__class__.__name__)
                await _pause(stop, min(2.0**failures, 30.0))
                continue
            failures = 0
            if not updates:
                continue
            await asyncio.gather(
                *(application.process_update(update) for update in updates),
                return_exceptions=True,
            )
            offset = updates[-1].update_id + 1
    finally:
        stopped.cancel()
    if offset is not None:
        with contextlib.suppress(TelegramError):
            await bot.get_updates(offset=offset, timeout=0, limit=1)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def serve(
    application: Application[Any, Any, Any, Any, Any, Any],
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


def run_until_signalled(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Serve until SIGINT or SIGTERM: stop taking updates, finish those in flight, exit."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(application, stop)

    asyncio.run(main())
