"""Background work beside the updates: reminders to the review group, retention purges,
back-office delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import Application

from cardbot.backoffice import OutboxDelivery
from cardbot.runtime import Runtime, SystemClock
from cardbot.telegram.bot import TelegramBridge, sweep_downloads

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 600.0
PURGE_INTERVAL = 3600.0
BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def send_reminders(
    runtime: Runtime, application: Application[Any, Any, Any, Any, Any, Any]
) -> int:
    """Post the reminders that are due now; returns how many were sent."""
    bridge = TelegramBridge(runtime)
    loop = asyncio.get_running_loop()
    replies = await loop.run_in_executor(runtime.executor, runtime.service.review.reminders)
    for reply in replies:
        await bridge.deliver(application.bot, runtime.renderer.render(reply))
    return len(replies)


def background_jobs(
    runtime: Runtime,
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    reminder_interval: float = REMINDER_INTERVAL,
    purge_interval: float = PURGE_INTERVAL,
) -> list[BackgroundJob]:
    """The jobs a running bot keeps going until it stops."""

    async def reminders(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await send_reminders(runtime, application)
            except Exception as exc:  # a job must outlive one bad round (e.g. a lost race)
                log.warning("reminders failed: %s", exc.__class__.__name__)
            await _sleep_unless_stopped(stop, reminder_interval)

    async def purges(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await loop.run_in_executor(runtime.executor, runtime.service.privacy.purge)
                sweep_downloads(runtime.settings.data_dir / "incoming")
            except Exception as exc:  # e.g. the database briefly away: try again next round
                log.warning("retention purge failed: %s", exc.__class__.__name__)
            await _sleep_unless_stopped(stop, purge_interval)

    jobs: list[BackgroundJob] = [reminders, purges]
    settings = runtime.settings
    if settings.webhook_url and settings.webhook_secret:
        delivery = OutboxDelivery(
            runtime.sessions, settings.webhook_url, settings.webhook_secret, SystemClock()
        )
        jobs.append(delivery.run)
    return jobs
