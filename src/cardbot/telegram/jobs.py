"""Background work beside the updates: reminders to the review group, retention purges (and
forgetting deliveries older than a week), back-office delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from cardbot.backoffice import OutboxDelivery
from cardbot.db.leases import JobLeases, worker_name
from cardbot.runtime import Runtime, SystemClock
from cardbot.telegram.bot import TelegramBridge, sweep_downloads

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 600.0
PURGE_INTERVAL = 3600.0
# A lease outlives a few rounds, so a worker that died hands its jobs on after that long.
LEASE_ROUNDS = 3
ORPHAN_AGE = timedelta(hours=1)
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


def leased_job(
    leases: JobLeases | None,
    name: str,
    interval: float,
    round_of_work: Callable[[], Awaitable[None]],
) -> BackgroundJob:
    """A job that does one round every `interval` seconds while this worker holds its lease
    (every worker runs it when `leases` is None); a failed round is logged and retried."""
    ttl = timedelta(seconds=interval * LEASE_ROUNDS)

    async def job(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    if leases is None or await loop.run_in_executor(
                        None, leases.acquire, name, ttl
                    ):
                        await round_of_work()
                except Exception as exc:  # e.g. the database briefly away, a lost race
                    log.warning("%s failed: %s", name, exc.__class__.__name__)
                await _sleep_unless_stopped(stop, interval)
        finally:
            if leases is not None:
                with contextlib.suppress(Exception):
                    await loop.run_in_executor(None, leases.release, name)

    return job


def background_jobs(
    runtime: Runtime,
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    reminder_interval: float = REMINDER_INTERVAL,
    purge_interval: float = PURGE_INTERVAL,
) -> list[BackgroundJob]:
    """The jobs a running bot keeps going until it stops; with several workers on one
    database, each job runs in whichever worker holds its lease."""
    leases = JobLeases(runtime.sessions, worker_name(), SystemClock().now)

    async def remind() -> None:
        await send_reminders(runtime, application)

    async def purge() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(runtime.executor, runtime.service.privacy.purge)
        await loop.run_in_executor(runtime.executor, runtime.service.forget_old_deliveries)
        sweep_orphans = getattr(runtime.service.documents, "sweep_orphans", None)
        if sweep_orphans is not None:  # blobs of uploads whose transaction never committed
            await loop.run_in_executor(runtime.executor, sweep_orphans, ORPHAN_AGE)

    async def sweep() -> None:  # each worker's own download folder
        sweep_downloads(runtime.settings.data_dir / "incoming")

    jobs: list[BackgroundJob] = [
        leased_job(leases, "reminders", reminder_interval, remind),
        leased_job(leases, "purge", purge_interval, purge),
        leased_job(None, "sweep", purge_interval, sweep),
    ]
    settings = runtime.settings
    if settings.webhook_url and settings.webhook_secret:
        delivery = OutboxDelivery(
            runtime.sessions, settings.webhook_url, settings.webhook_secret, SystemClock()
        )
        jobs.append(delivery.run)
    return jobs
