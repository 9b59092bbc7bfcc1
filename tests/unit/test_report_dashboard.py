"""The Grafana dashboard queries only metrics a running cardbot exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from cardbot.db.models import Base
from cardbot.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
METRIC = re.compile(r"\bcardbot_[a-z_]+")


def exposed_names() -> set[str]:
    """Every sample name /metrics shows (counters as *_total, histograms as *_bucket…)."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    metrics = Metrics(engine)
    metrics.update_handled("message", 0.1)
    metrics.api_error("sendMessage", TimeoutError())
    metrics.prescreen_problems.labels("step", "blurry").inc()
    text = metrics.exposition().decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_every_panel_queries_metrics_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exposed = exposed_names()
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }
    assert all(panel["targets"] for panel in dashboard["panels"])
    assert queried, "no panel queries a cardbot metric"
    assert queried - exposed == set()


def test_the_dashboard_shows_every_metric_cardbot_exposes() -> None:
    dashboard = DASHBOARD.read_text(encoding="utf-8")
    families = {
        re.sub(r"_(total|bucket|sum|count|created)$", "", name) for name in exposed_names()
    }
    assert {f for f in families if f not in dashboard} == set()
