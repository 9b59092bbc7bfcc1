"""Mainland China's working days: official schedules where published, rules beyond that.

chinese-calendar knows the State Council's published holidays and make-up working days (调休)
only up to the last year it was released for (2026 at the time of writing) and raises for later
dates; the holidays package computes later years' public holidays by rule but cannot know their
make-up days. Days past chinese-calendar's range are therefore reported as estimates.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar

from cardbot.calendar_cn_table import RULE_BASED_HOLIDAYS


class ChinaWorkingCalendar:
    """Working days in mainland China."""

    def is_official(self, day: date) -> bool:
        """True when chinese-calendar has the published schedule for the day's year."""
        return _official(day)

    def is_working_day(self, day: date) -> bool:
        """True on a working day, from the official schedule or, beyond it, by rule."""
        if _official(day):
            return bool(chinese_calendar.is_workday(day))
        if day in _rule_based(day.year):
            return False
        return day.weekday() < 5


def rule_based_holidays(year: int) -> frozenset[date]:
    """China's public holidays in `year` by rule: from the table kept as data, or (past it)
    from the holidays package."""
    return _rule_based(year)


def _official(day: date) -> bool:
    return _official_year(day.year)


@lru_cache(maxsize=64)
def _official_year(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=16)
def _rule_based(year: int) -> frozenset[date]:
    kept = RULE_BASED_HOLIDAYS.get(year)
    if kept is not None:
        return frozenset(date(year, int(day[:2]), int(day[2:])) for day in kept.split())
    import holidays  # about 11 MB: only for years past the table

    return frozenset(d for d in holidays.country_holidays("CN", years=year) if d.year == year)
