"""Background work beside the updates: replies left in the outbox (after a restart, or when
Telegram was away), reminders to the review group, reading submitted packages for reviewers,
retention purges (and forgetting deliveries older than a week), back-office delivery."""

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
from cardbot.telegram.bot import BRIDGE, TelegramBridge, sweep_downloads

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 600.0
OUTBOX_INTERVAL = 5.0
# Rows written this recently are left to the update that wrote them (it sends them at once).
OUTBOX_GRACE = timedelta(seconds=5)
PURGE_INTERVAL = 3600.0
# How often submitted packages waiting to be read are looked for (CARDBOT_OCR not off).
READING_INTERVAL = 10.0
# A lease outlives a few rounds, so a worker that died hands its jobs on after that long.
LEASE_ROUNDS = 3
ORPHAN_AGE = timedelta(hours=1)
BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def bridge_of(
    runtime: Runtime, application: Application[Any, Any, Any, Any, Any, Any]
) -> TelegramBridge:
    """The bridge that handles the application's updates (a new one if it has none)."""
    bridge = application.bot_data.get(BRIDGE)
    return bridge if isinstance(bridge, TelegramBridge) else TelegramBridge(runtime)


async def send_reminders(
    runtime: Runtime, application: Application[Any, Any, Any, Any, Any, Any]
) -> int:
    """Record the reminders that are due now (written to the outbox with that record), then
    send them; returns how many were due."""
    loop = asyncio.get_running_loop()
    replies = await loop.run_in_executor(runtime.executor, runtime.service.review.reminders)
    if replies:
        chats = dict.fromkeys(reply.chat_id for reply in replies)
        await bridge_of(runtime, application).flush(application.bot, chats)
    return len(replies)


async def read_documents(
    runtime: Runtime, application: Application[Any, Any, Any, Any, Any, Any]
) -> int:
    """Read the submitted packages waiting to be read (in the reading pool, off the update
    path) and send the card edits their flags make; returns how many cards changed."""
    from cardbot.reading.review_job import read_waiting

    loop = asyncio.get_running_loop()
    replies = await loop.run_in_executor(
        None, read_waiting, runtime.service.review, runtime.service.documents
    )
    if replies:
        chats = dict.fromkeys(reply.chat_id for reply in replies)
        await bridge_of(runtime, application).flush(application.bot, chats)
    return len(replies)


async def send_waiting(
    runtime: Runtime,
    application: Application[Any, Any, Any, Any, Any, Any],
    older_than: timedelta | None = None,
) -> int:
    """Send what waits in the outbox with no sender on it (all of it, or only rows written
    more than `older_than` ago: the newer ones are being sent by the update that wrote them);
    returns how many were sent."""
    queue = runtime.replies
    bridge = bridge_of(runtime, application)
    cutoff = SystemClock().now() - older_than if older_than is not None else None
    sent = 0
    while chats := await asyncio.to_thread(queue.chats_waiting, cutoff):
        done = await bridge.flush(application.bot, chats)
        sent += done
        if not done:  # held by other senders, or failing: the next round tries again
            break
    return sent


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
    outbox_interval: float = OUTBOX_INTERVAL,
    reading_interval: float = READING_INTERVAL,
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

    started = False

    async def send_outbox() -> None:  # at start everything waiting, then what was left behind
        nonlocal started
        await send_waiting(runtime, application, OUTBOX_GRACE if started else None)
        started = True

    jobs: list[BackgroundJob] = [
        leased_job(leases, "reminders", reminder_interval, remind),
        leased_job(leases, "purge", purge_interval, purge),
        leased_job(None, "sweep", purge_interval, sweep),
        # Every worker: the rows are claimed one chat at a time, never sent by two senders.
        leased_job(None, "outbox", outbox_interval, send_outbox),
    ]
    settings = runtime.settings
    if settings.ocr != "off" and runtime.service.review.chat_id is not None:

        async def read_packages() -> None:
            await read_documents(runtime, application)

        jobs.append(leased_job(leases, "reading", reading_interval, read_packages))
    if settings.webhook_url and settings.webhook_secret:
        delivery = OutboxDelivery(
            runtime.sessions, settings.webhook_url, settings.webhook_secret, SystemClock()
        )
        jobs.append(delivery.run)
    return jobs
