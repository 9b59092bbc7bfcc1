"""SQL expressions the report needs that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Float, cast, extract, func, literal_column

# The review's clock: mainland China, UTC+8 all year (no daylight saving time).
LOCAL_ZONE = "Asia/Shanghai"
LOCAL_OFFSET = "+8 hours"


def local_day(column: Any, dialect: str) -> ColumnElement[Any]:
    """The calendar day of a UTC timestamp column on the review's clock."""
    # Literal, not bound, so the same expression may be selected and grouped by.
    if dialect == "sqlite":
        return func.date(column, literal_column(f"'{LOCAL_OFFSET}'"))
    return func.date(func.timezone(literal_column(f"'{LOCAL_ZONE}'"), column))


def seconds_between(start: Any, end: Any, dialect: str) -> ColumnElement[Any]:
    """How many seconds pass from `start` to `end` (two timestamp columns), to the
    millisecond."""
    if dialect == "sqlite":
        # Julian days are fractions of a day: a minute comes out as 59.99999… most of the day.
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)
    return cast(extract("epoch", end - start), Float)


def as_date(value: Any) -> date:
    """A day as SQLite (text) or PostgreSQL (date) returns it."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
