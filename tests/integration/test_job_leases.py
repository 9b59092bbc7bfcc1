"""Background jobs with several workers on one database: each job runs in one worker at a time,
and another takes over when that worker stops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cardbot.db.leases import JobLeases
from cardbot.db.migrate import upgrade
from cardbot.db.session import make_engine, make_session_factory
from cardbot.telegram.jobs import leased_job
from tests.support.fakes import FixedClock

TTL = timedelta(minutes=30)


def two_workers(url: str) -> tuple[FixedClock, JobLeases, JobLeases]:
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    clock = FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    return clock, JobLeases(sessions, "a", clock.now), JobLeases(sessions, "b", clock.now)


def test_one_worker_holds_a_job_until_its_lease_runs_out(database_url: str) -> None:
    clock, first, second = two_workers(database_url)

    assert first.acquire("reminders", TTL)
    assert not second.acquire("reminders", TTL)
    assert second.acquire("purge", TTL)  # leases are per job
    clock.current += TTL / 2
    assert first.acquire("reminders", TTL)  # renewed
    clock.current += TTL - timedelta(seconds=1)
    assert not second.acquire("reminders", TTL)
    clock.current += timedelta(seconds=2)
    assert second.acquire("reminders", TTL)  # the first worker stopped renewing
    assert not first.acquire("reminders", TTL)


def test_a_released_lease_is_taken_over_at_once(database_url: str) -> None:
    _clock, first, second = two_workers(database_url)
    assert first.acquire("purge", TTL)
    first.release("purge")
    assert second.acquire("purge", TTL)


async def test_a_leased_job_runs_its_rounds_in_one_of_two_workers(database_url: str) -> None:
    _clock, first, second = two_workers(database_url)
    rounds: list[str] = []
    stop = asyncio.Event()

    def job_of(leases: JobLeases) -> asyncio.Task[None]:
        async def round_of_work() -> None:
            if stop.is_set():
                return  # (the holder gave the lease up on stopping; the other may take it)
            rounds.append(leases.holder)
            if len(rounds) >= 6:
                stop.set()

        return asyncio.create_task(leased_job(leases, "reminders", 0.01, round_of_work)(stop))

    await asyncio.wait_for(asyncio.gather(job_of(first), job_of(second)), 20)

    assert len(set(rounds)) == 1
