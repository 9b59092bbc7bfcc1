"""Waiting on a condition, never on the clock: tests stay right on a slow or busy machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Long enough for a machine running two suites at once; a passing test never waits this long.
PATIENCE = 30.0


async def until(
    condition: Callable[[], bool], what: str, timeout: float = PATIENCE, every: float = 0.05
) -> None:
    """Return once `condition()` holds, checking every `every` seconds; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:g} s")
        await asyncio.sleep(every)
