"""Job leases: with several workers on one database, each background job runs in one of them.

A lease is a row per job naming its holder and when the lease ends. A worker runs a round of a
job only while it holds the lease, renewing it each round; when the holder stops or dies, the
lease runs out and another worker takes the job over.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cardbot.db.models import JobLeaseRow
from cardbot.db.session import insert_ignoring_duplicates


def worker_name() -> str:
    """A name for this process that no other worker shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobLeases:
    """Takes and renews job leases for one worker."""

    def __init__(
        self, sessions: sessionmaker[Session], holder: str, now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.holder = holder
        self.now = now

    def acquire(self, job: str, ttl: timedelta) -> bool:
        """Hold (or renew) the lease of `job` for `ttl`; False when another worker holds it."""
        now = self.now()
        with self.sessions.begin() as session:
            values = {"job": job, "holder": self.holder, "expires_at": now + ttl}
            session.execute(insert_ignoring_duplicates(session, JobLeaseRow, values))
            lease = session.execute(
                select(JobLeaseRow).where(JobLeaseRow.job == job).with_for_update()
            ).scalar_one()
            if lease.holder != self.holder and lease.expires_at > now:
                return False
            lease.holder = self.holder
            lease.expires_at = now + ttl
            return True

    def release(self, job: str) -> None:
        """Give the lease of `job` up, so another worker may take it at once."""
        with self.sessions.begin() as session:
            lease = session.get(JobLeaseRow, job)
            if lease is not None and lease.holder == self.holder:
                lease.expires_at = self.now()
