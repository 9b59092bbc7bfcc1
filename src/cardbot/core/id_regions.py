"""Whether the first six digits of a PRC resident ID number name a county in use in the year
of birth, as python-stdnum's `cn.ric` checks it, from a compact copy of its table
(`id_regions.txt`, about 0.2 MB once read, where python-stdnum's own table, names included,
keeps about 5 MB in the process)."""

from __future__ import annotations

from functools import cache
from importlib import resources

# None: always in use; else the (first, last) years of each period it was (None: open-ended).
Periods = tuple[tuple[int | None, int | None], ...] | None


@cache
def _counties() -> dict[str, Periods]:
    counties: dict[str, Periods] = {}
    table = resources.files("cardbot.core").joinpath("id_regions.txt").read_text("utf-8")
    for line in table.splitlines():
        if not line or line.startswith("#"):
            continue
        code, _, spans = line.partition(":")
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
