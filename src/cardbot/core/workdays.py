"""Counting working days, for expected decision windows and due dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

REVIEW_MIN_DAYS = 3
REVIEW_MAX_DAYS = 10


class WorkingCalendar(Protocol):
    """Which days are working days, and whether that is official or an estimate."""

    def is_working_day(self, day: date) -> bool:
        """True on a working day (including make-up working days on weekends)."""
        ...

    def is_official(self, day: date) -> bool:
        """False when the day's status is estimated (the year's schedule is not published)."""
        ...


@dataclass(frozen=True)
class Window:
    """The expected decision window: from `start` to `end`, and whether it is an estimate."""

    start: date
    end: date
    estimate: bool


def add_working_days(calendar: WorkingCalendar, start: date, days: int) -> tuple[date, bool]:
    """The date `days` working days after `start`, and whether any day counted was estimated."""
    day, counted, estimate = start, 0, False
    while counted < days:
        day += timedelta(days=1)
        estimate = estimate or not calendar.is_official(day)
        if calendar.is_working_day(day):
            counted += 1
    return day, estimate


def working_days_after(calendar: WorkingCalendar, start: date, end: date) -> int:
    """How many working days there are after `start`, up to and including `end`."""
    day, counted = start, 0
    while day < end:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    return counted


class WeekdayCalendar:
    """Monday to Friday, every day an estimate: for when no holiday calendar is given."""

    def is_working_day(self, day: date) -> bool:
        """True from Monday to Friday."""
        return day.weekday() < 5

    def is_official(self, day: date) -> bool:
        """Never official: public holidays are not known."""
        return False


def decision_window(calendar: WorkingCalendar, submitted: date) -> Window:
    """When a decision is expected for a package complete on `submitted`."""
    start, early_estimate = add_working_days(calendar, submitted, REVIEW_MIN_DAYS)
    end, late_estimate = add_working_days(calendar, submitted, REVIEW_MAX_DAYS)
    return Window(start, end, early_estimate or late_estimate)
