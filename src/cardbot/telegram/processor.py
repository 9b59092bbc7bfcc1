"""Per-applicant ordering: one applicant's updates run one after another, others in parallel."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# The base class counts an update against its limit while it waits for its user's turn; that
# limit is set out of reach, and the real one is applied once the user's turn has come.
UNLIMITED = 1_000_000


def ordering_key(update: object) -> int | None:
    """The user whose updates must not overlap, or None for updates with no user."""
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Runs updates concurrently, except that each user's updates are strictly sequential.

    An update waits for its user's turn before it takes one of the `max_concurrent` slots, so
    one user with many queued updates (a flood) cannot occupy the slots others need.
    """

    def __init__(self, max_concurrent: int = 256) -> None:
        super().__init__(UNLIMITED)
        self._slots = asyncio.BoundedSemaphore(max_concurrent)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handling in its user's turn, holding one slot."""
        key = ordering_key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
