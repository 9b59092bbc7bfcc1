"""What a running cardbot counts, in Prometheus' text format (served at /metrics).

One `Metrics` per Runtime, each with its own CollectorRegistry (never the global one, so two
bots in one process, as in the tests, do not collide). Counters only ever carry bounded labels
(update kinds, Bot API method names, error class names, problem codes), never what people
typed. The applications gauge is computed when scraped, with one GROUP BY query.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from cardbot.core.model import Status
from cardbot.core.replies import Reply
from cardbot.db.models import ApplicationRow

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
UPDATE_KINDS = ("message", "edited_message", "callback_query")
# Handling an update runs from receiving it to its last reply: uploads take seconds.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
FAQ_ANSWER_TEMPLATE = "faq_answer"
FAQ_UNSURE_TEMPLATE = "faq_unsure"
INCOMPLETE_TEMPLATE = "incomplete"
STEP_PROBLEM_PREFIX = "problems/"


class ApplicationsByStatus(Collector):
    """The `cardbot_applications{status}` gauge, counted in the database on every scrape."""

    NAME = "cardbot_applications"
    HELP = "Applications in the database, by status."

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        """The gauge without samples (so registering it does not query the database)."""
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=["status"])]

    def collect(self) -> Iterable[Metric]:
        """The gauge, every known status included (0 when there is none)."""
        gauge = GaugeMetricFamily(self.NAME, self.HELP, labels=["status"])
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(
                    select(ApplicationRow.status, func.count()).group_by(ApplicationRow.status)
                ).all()
        except SQLAlchemyError as exc:
            log.warning("applications not counted: %s", exc.__class__.__name__)
            return []
        counts = {str(status.value): 0 for status in Status} | {
            str(status): int(count) for status, count in rows
        }
        for status, count in sorted(counts.items()):
            gauge.add_metric([status], count)
        return [gauge]


class Metrics:
    """The counters of one running bot, and their exposition."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.registry = CollectorRegistry()
        registry = self.registry
        self.updates = Counter(
            "cardbot_updates_handled",
            "Telegram updates handled, by kind.",
            ["kind"],
            registry=registry,
        )
        self.update_seconds = Histogram(
            "cardbot_update_handling_seconds",
            "Seconds from receiving an update to having handled it (replies sent), by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.replies = Counter(
            "cardbot_replies_sent", "Messages sent (or edited in place).", registry=registry
        )
        self.api_errors = Counter(
            "cardbot_bot_api_errors",
            "Failed Bot API calls (each attempt), by method and error class.",
            ["method", "error"],
            registry=registry,
        )
        self.faq = Counter(
            "cardbot_faq_questions",
            "Questions the FAQ answered, or could not answer with confidence.",
            ["outcome"],
            registry=registry,
        )
        self.prescreen_problems = Counter(
            "cardbot_prescreen_problems",
            "Problems pre-screening found, by code; stage=step when an answer or file was "
            "refused, stage=submit when a whole package was.",
            ["stage", "code"],
            registry=registry,
        )
        for kind in UPDATE_KINDS:
            self.updates.labels(kind)
            self.update_seconds.labels(kind)
        for outcome in ("answered", "unanswered"):
            self.faq.labels(outcome)
        if engine is not None:
            registry.register(ApplicationsByStatus(engine))

    def update_handled(self, kind: str, seconds: float) -> None:
        """Count one handled update and how long it took."""
        self.updates.labels(kind).inc()
        self.update_seconds.labels(kind).observe(max(seconds, 0.0))

    def reply_sent(self) -> None:
        """Count one message delivered to a chat."""
        self.replies.inc()

    def api_error(self, method: str, error: BaseException) -> None:
        """Count one failed Bot API call."""
        self.api_errors.labels(method, error.__class__.__name__).inc()

    def observe_replies(self, replies: Sequence[Reply]) -> None:
        """Count what the core's replies to one update say: FAQ answers and pre-screening
        problems (read from the template names and the problem codes, nothing else)."""
        for reply in replies:
            template = reply.template
            if template == FAQ_ANSWER_TEMPLATE:
                self.faq.labels("answered").inc()
            elif template == FAQ_UNSURE_TEMPLATE:
                self.faq.labels("unanswered").inc()
            elif template.startswith(STEP_PROBLEM_PREFIX):
                self.prescreen_problems.labels("step", template[len(STEP_PROBLEM_PREFIX) :]).inc()
            elif template == INCOMPLETE_TEMPLATE:
                for problem in _problems(reply.context):
                    self.prescreen_problems.labels("submit", problem).inc()

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format (queries the database: not on the loop)."""
        return generate_latest(self.registry)


def _problems(context: Mapping[str, Any]) -> Iterator[str]:
    problems = context.get("problems")
    if not isinstance(problems, list | tuple):
        return
    for problem in problems:
        code = problem.get("code") if isinstance(problem, Mapping) else None
        if isinstance(code, str):
            yield code


def database_ok(engine: Engine) -> bool:
    """True when the database answers `SELECT 1`."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy", whatever the driver raises
        log.warning("database check failed: %s", exc.__class__.__name__)
        return False
    return True
