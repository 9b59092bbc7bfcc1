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


def hold_until(condition: Callable[[], bool], timeout: float = PATIENCE) -> bool:
    """Block this thread (one of the bot's, standing in for a process about to die) until
    `condition()` holds; False after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# A proposal comes after OCR, on two busy cores, the model loading first (4 s when idle).
READING = 60.0
