"""The report's SQL differs between databases; on SQLite, durations must still be exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, create_engine, literal, select

from cardbot.report.sql import seconds_between


def test_a_minute_between_two_moments_is_sixty_seconds_at_any_time_of_day() -> None:
    day = datetime(2026, 11, 5, tzinfo=UTC)
    engine = create_engine("sqlite://")
    found = set()
    with engine.connect() as connection:
        for second in range(0, 86400, 97):
            start = literal(day + timedelta(seconds=second), DateTime())
            end = literal(day + timedelta(seconds=second + 60), DateTime())
            found.add(connection.scalar(select(seconds_between(start, end, "sqlite"))))
    assert found == {60.0}  # else a minute would fall in the "<1m" bucket
