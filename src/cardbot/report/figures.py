"""Figures from counted values: nearest-rank percentiles and shares, without the single rows."""

from __future__ import annotations

import math
from collections.abc import Mapping

# Working days an applicant is promised a decision within (3 to 10).
PROMISED_DAYS = 10


def percentile(counts: Mapping[int, int], share: float) -> int | None:
    """The nearest-rank percentile of values given as {value: how many}; None when empty."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)  # not reached: the ranks add up to the total


def within(counts: Mapping[int, int], limit: int) -> float | None:
    """The share of values at or below `limit`, rounded to 3 places; None when empty."""
    total = sum(counts.values())
    if total == 0:
        return None
    return round(sum(n for value, n in counts.items() if value <= limit) / total, 3)
