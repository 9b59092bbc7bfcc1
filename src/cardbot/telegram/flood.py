"""Flood control for incoming updates: each user gets a burst, then a steady pace.

A user who sends faster than that is slowed down, not cut off: their updates wait their turn
(nothing is dropped; they stay in the inbox until handled) and they are told once per flood.
Only that user's own queue waits, so others are not slowed down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRACKED = 50_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


@dataclass(frozen=True)
class Admission:
    """How long an update must wait, and whether to tell the user they are going too fast."""

    wait: float
    warn: bool


class FloodGate:
    """Per-user token buckets: `burst` updates at once, then `per_second` updates a second."""

    def __init__(
        self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = float(burst)
        self.per_second = per_second
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def admit(self, user_id: int) -> Admission:
        """Take one update's place in the user's bucket; call once per update, in order."""
        now = self.clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.per_second)
        bucket.stamp = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # a full bucket ends the flood
        bucket.tokens -= 1
        if bucket.tokens >= 0:
            return Admission(0.0, False)
        warn = not bucket.warned
        bucket.warned = True
        return Admission(-bucket.tokens / self.per_second, warn)

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled completely (they hold nothing)."""
        refill = self.burst / self.per_second
        self._buckets = {
            user: bucket for user, bucket in self._buckets.items() if now - bucket.stamp < refill
        }
