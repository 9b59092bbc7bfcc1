"""Working days in mainland China, across holidays, make-up days and unpublished years."""

from __future__ import annotations

from datetime import date

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.core.workdays import add_working_days, decision_window

CALENDAR = ChinaWorkingCalendar()


def test_national_day_holidays_are_skipped_and_the_make_up_saturday_counts() -> None:
    assert CALENDAR.is_working_day(date(2026, 10, 1)) is False
    assert CALENDAR.is_working_day(date(2026, 10, 10)) is True  # a Saturday worked (调休)
    # submitted on 30 September 2026: 1–7 October are holidays, 8 and 9 October working
    # days, and Saturday 10 October a make-up working day
    assert add_working_days(CALENDAR, date(2026, 9, 30), 3) == (date(2026, 10, 10), False)


def test_an_ordinary_week_counts_weekdays_only() -> None:
    window = decision_window(CALENDAR, date(2026, 11, 30))
    assert (window.start, window.end, window.estimate) == (
        date(2026, 12, 3),
        date(2026, 12, 14),
        False,
    )


def test_a_december_submission_reaching_into_an_unpublished_year_is_an_estimate() -> None:
    assert CALENDAR.is_official(date(2027, 1, 4)) is False
    window = decision_window(CALENDAR, date(2026, 12, 24))
    assert window.estimate is True
    assert window.end.year == 2027
    assert CALENDAR.is_working_day(date(2027, 1, 1)) is False  # New Year's Day, by rule
    assert CALENDAR.is_working_day(date(2027, 1, 4)) is True
