"""Whether the first six digits of a PRC resident ID number name a county in use in the year
of birth, as python-stdnum's `cn.ric` checks it, from a compact copy of its table (about 0.2 MB
once read, where python-stdnum's own table, names included, keeps about 5 MB in the process)."""

from __future__ import annotations

from functools import cache

from cardbot.core.id_regions_table import COUNTY_CODES

# None: always in use; else the (first, last) years of each period it was (None: open-ended).
Periods = tuple[tuple[int | None, int | None], ...] | None


@cache
def _counties() -> dict[str, Periods]:
    counties: dict[str, Periods] = {}
    for word in "".join(COUNTY_CODES).split():
        code, _, spans = word.partition(":")
        if not spans:
            counties[code] = None
            continue
        periods = []
        for span in spans.split(","):
            first, _, last = span.partition("-")
            periods.append((int(first) if first else None, int(last) if last else None))
        counties[code] = tuple(periods)
    return counties


def county_in_use(code: str, year: int) -> bool:
    """True when `code` (six digits) named a county in `year`."""
    counties = _counties()
    if code not in counties:
        return False
    periods = counties[code]
    if periods is None:
        return True
    return any(
        (first is None or year >= first) and (last is None or year <= last)
        for first, last in periods
    )
