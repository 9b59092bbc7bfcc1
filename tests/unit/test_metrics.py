"""Metrics: counters from updates, replies and Bot API failures; the applications gauge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, insert

from cardbot.core.replies import Reply
from cardbot.db.models import ApplicationRow, Base
from cardbot.metrics import Metrics, database_ok


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels."""
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'metrics.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def add_applications(engine: Engine, *statuses: str) -> None:
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "user_id": 1000 + index,
            "category": "individual",
            "status": status,
            "skipped": [],
            "flags": [],
            "created_at": now,
            "review": {},
            "redo": [],
            "version": 1,
        }
        for index, status in enumerate(statuses)
    ]
    with engine.begin() as connection:
        connection.execute(insert(ApplicationRow), rows)


def test_a_fresh_registry_shows_every_update_kind_at_zero() -> None:
    metrics = Metrics()
    for kind in ("message", "edited_message", "callback_query"):
        assert value(metrics, "cardbot_updates_handled_total", kind=kind) == 0
        assert value(metrics, "cardbot_update_handling_seconds_count", kind=kind) == 0
    assert value(metrics, "cardbot_replies_sent_total") == 0
    assert value(metrics, "cardbot_faq_questions_total", outcome="answered") == 0
    assert not [key for key in samples(metrics) if key[0] == "cardbot_applications"]


def test_handled_updates_are_counted_with_their_latency() -> None:
    metrics = Metrics()
    metrics.update_handled("message", 0.2)
    metrics.update_handled("message", 3.0)
    metrics.update_handled("callback_query", 0.01)
    assert value(metrics, "cardbot_updates_handled_total", kind="message") == 2
    assert value(metrics, "cardbot_updates_handled_total", kind="callback_query") == 1
    assert value(metrics, "cardbot_update_handling_seconds_sum", kind="message") == pytest.approx(
        3.2
    )
    assert value(metrics, "cardbot_update_handling_seconds_bucket", kind="message", le="0.25") == 1
    assert value(metrics, "cardbot_update_handling_seconds_bucket", kind="message", le="+Inf") == 2


def test_replies_tell_faq_outcomes_and_prescreening_problems() -> None:
    metrics = Metrics()
    metrics.observe_replies(
        [
            Reply("faq_answer", 1, "zh", source="..."),
            Reply("faq_answer", 1, "zh", source="..."),
            Reply("faq_unsure", 1, "zh"),
            Reply("problems/id_checksum", 1, "zh", {"step": "id_number"}),
            Reply(
                "incomplete",
                1,
                "zh",
                {"problems": [{"code": "missing_document"}, {"code": "missing_document"}]},
            ),
            Reply("incomplete", 1, "zh", {"problems": "not a list"}),
            Reply("welcome", 1, "zh"),
        ]
    )
    metrics.reply_sent()
    assert value(metrics, "cardbot_faq_questions_total", outcome="answered") == 2
    assert value(metrics, "cardbot_faq_questions_total", outcome="unanswered") == 1
    problems = "cardbot_prescreen_problems_total"
    assert value(metrics, problems, stage="step", code="id_checksum") == 1
    assert value(metrics, problems, stage="submit", code="missing_document") == 2
    assert value(metrics, "cardbot_replies_sent_total") == 1


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.update_handled("message", 0.1)
    assert value(first, "cardbot_updates_handled_total", kind="message") == 1
    assert value(second, "cardbot_updates_handled_total", kind="message") == 0
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("cardbot")]


def test_applications_are_counted_by_status_on_every_scrape(engine: Engine) -> None:
    metrics = Metrics(engine)
    assert value(metrics, "cardbot_applications", status="submitted") == 0
    add_applications(engine, "draft", "submitted", "submitted", "approved")
    assert value(metrics, "cardbot_applications", status="draft") == 1
    assert value(metrics, "cardbot_applications", status="submitted") == 2
    assert value(metrics, "cardbot_applications", status="approved") == 1
    assert value(metrics, "cardbot_applications", status="rejected") == 0
    add_applications(engine, "rejected")
    assert value(metrics, "cardbot_applications", status="rejected") == 1


def test_a_database_that_is_away_fails_the_health_check_not_the_scrape(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'cardbot.db'}")
    try:
        assert database_ok(engine) is False
        metrics = Metrics(engine)
        metrics.update_handled("message", 0.1)
        assert value(metrics, "cardbot_updates_handled_total", kind="message") == 1
        assert value(metrics, "cardbot_applications", status="draft") is None
    finally:
        engine.dispose()


def test_the_health_check_passes_on_a_working_database(engine: Engine) -> None:
    assert database_ok(engine) is True
