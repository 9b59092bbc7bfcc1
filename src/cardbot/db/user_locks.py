"""One applicant's updates, one at a time, across worker processes (PostgreSQL advisory locks).

A worker holds the lock of a user while it handles one of their updates; the database releases
it when the worker's connection ends, so a worker that dies holds nothing. Each lock has its
own connection (not from the pool the units of work use, which lock holders must never starve).
On SQLite, where one process serves, there is nothing to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MAX_HELD = 32  # connections a worker may hold for user locks at once
RETRY_EVERY = 0.05


class UserLocks:
    """Per-user locks shared by every worker on one PostgreSQL database."""

    def __init__(self, database_url: str, max_held: int = MAX_HELD) -> None:
        postgres = make_url(database_url).get_backend_name() == "postgresql"
        self.engine = (
            create_engine(database_url, poolclass=NullPool, hide_parameters=True)
            if postgres
            else None
        )
        self.max_held = max_held
        self._slots: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        """Hold the user's lock for the duration of the block (waiting for other workers)."""
        if self.engine is None:
            yield
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_held)
        async with self._slots:
            connection = await asyncio.to_thread(self._connect)
            try:
                while not await asyncio.to_thread(_try_lock, connection, user_id):
                    await asyncio.sleep(RETRY_EVERY)
                yield
            finally:
                with suppress(Exception):
                    await asyncio.to_thread(connection.close)  # releases the lock

    def _connect(self) -> Connection:
        assert self.engine is not None
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        """Release the engine."""
        if self.engine is not None:
            self.engine.dispose()


def _try_lock(connection: Connection, user_id: int) -> bool:
    locked = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": user_id})
    return bool(locked.scalar())
