"""The rule-based holidays kept as data are the holidays package's, year by year."""

from __future__ import annotations

from datetime import date

import holidays

from cardbot.calendar_cn import ChinaWorkingCalendar, rule_based_holidays
from cardbot.calendar_cn_table import RULE_BASED_HOLIDAYS


def test_the_kept_table_is_what_the_holidays_package_computes_for_each_year() -> None:
    for year in RULE_BASED_HOLIDAYS:
        computed = {d for d in holidays.country_holidays("CN", years=year) if d.year == year}
        table = " ".join(sorted(d.strftime("%m%d") for d in computed))
        assert rule_based_holidays(year) == computed, f"{year}: {table!r}"


def test_years_past_the_table_ask_the_package() -> None:
    year = max(RULE_BASED_HOLIDAYS) + 1
    assert date(year, 10, 1) in rule_based_holidays(year)
    assert not ChinaWorkingCalendar().is_working_day(date(year, 10, 1))


def test_a_rule_based_holiday_is_not_a_working_day_and_a_weekday_after_it_is() -> None:
    calendar = ChinaWorkingCalendar()
    assert not calendar.is_working_day(date(2027, 10, 1))  # National Day
    assert calendar.is_working_day(date(2027, 10, 8))  # a Friday
    assert not calendar.is_official(date(2027, 10, 8))
