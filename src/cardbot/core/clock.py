"""The review's own time zone: dates and years are those of mainland China (UTC+8, no DST)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

REVIEW_TIMEZONE = timezone(timedelta(hours=8), "Asia/Shanghai")


def local_time(moment: datetime) -> datetime:
    """The moment on the review's clock."""
    return moment.astimezone(REVIEW_TIMEZONE)


def local_date(moment: datetime) -> date:
    """The calendar day of the moment on the review's clock."""
    return local_time(moment).date()
