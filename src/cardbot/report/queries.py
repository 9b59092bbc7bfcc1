"""The report's figures, counted in the database with GROUP BY (never row by row in Python).

Each table is read in as few scans as possible (at 100,000 applications a scan or a join costs
tenths of a second): the funnel groups applications by which steps their answers and files
cover (one bit per step or file, summed per application by the unique (application, field) and
(application, kind) indexes), and the audit events of the period are grouped once for the
outcomes and the reviewers.

Pre-screening refusals and FAQ questions are read from their daily tally (trouble_tally),
counted when they happened.

Only counts, days, step, reason, problem and FAQ entry ids and reviewer ids leave the
database: no name, ID number, phone, company name or file. The one text shown is that of the
questions the FAQ could not answer, which staff already read in /unanswered.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    case,
    func,
    literal,
    select,
)

from cardbot.core.clock import local_date
from cardbot.core.spec import DialogSpec
from cardbot.core.workdays import WorkingCalendar, working_days_after
from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    AuditEventRow,
    DocumentRow,
    TroubleTallyRow,
    UnansweredQuestionRow,
)
from cardbot.report.figures import PROMISED_DAYS, percentile, within
from cardbot.report.sql import as_date, local_day, seconds_between
from cardbot.report.tables import Table, table

# Values of cardbot.core.model.Status, written out: that module loads the FAQ matcher (a
# quarter of a second), which a report never uses.
DRAFT = "draft"
FINAL = ("approved", "rejected")
RESUBMIT = "resubmission_requested"
WAITING_FOR_REVIEWERS = ("submitted", "in_review", "investigating")
CLAIMED = ("in_review", "investigating")
# Upper bounds (seconds) of the buckets of time spent in each phase of filling in.
TIME_BUCKETS = (("<1m", 60), ("1-5m", 300), ("5-15m", 900), ("15-60m", 3600), ("1-24h", 86400))
LAST_BUCKET = ">=1d"
UNANSWERED_SHOWN = 20


@dataclass(frozen=True)
class Period:
    """The report's period [since, until) and the moment it is made (for what is open now)."""

    since: datetime
    until: datetime
    now: datetime


@dataclass(frozen=True)
class ReportData:
    """Every table of the report, and the headline figures."""

    tables: dict[str, Table]
    headline: dict[str, Any]


def collect(
    engine: Engine,
    spec: DialogSpec,
    calendar: WorkingCalendar,
    period: Period,
    progress: Callable[[ReportData], None] | None = None,
) -> ReportData:
    """Count everything the report shows, in one read-only connection; `progress` is given
    the tables counted so far after each part (charts are drawn from them meanwhile)."""
    with engine.connect() as connection:
        counter = _Counter(connection, spec, calendar, period)
        data = counter.run(progress)
        connection.rollback()
    return data


class _Counter:
    """The queries of one report."""

    def __init__(
        self, connection: Connection, spec: DialogSpec, calendar: WorkingCalendar, period: Period
    ) -> None:
        self.db = connection
        self.spec = spec
        self.dialect = connection.dialect.name
        self.period = period
        self.working_days = cache(lambda start, end: working_days_after(calendar, start, end))
        self.tables: dict[str, Table] = {}
        self.headline: dict[str, Any] = {}
        self.by_reviewer: defaultdict[int, Counter[int]] = defaultdict(Counter)
        # Claimed, decided (approved or rejected), resubmissions asked: per reviewer id.
        self.by_actor: dict[int, list[int]] = {}

    def run(self, progress: Callable[[ReportData], None] | None = None) -> ReportData:
        parts = (
            self.funnel,
            self.phase_times,
            self.promise,
            self.outcomes,
            self.reviewers,
            self.trouble,
            self.unanswered,
        )
        for part in parts:
            part()
            if progress is not None:
                progress(ReportData(dict(self.tables), dict(self.headline)))
        return ReportData(self.tables, self.headline)

    def add(self, name: str, columns: tuple[str, ...], rows: Any) -> None:
        self.tables[name] = table(name, columns, rows)

    def counted(self, keys: Select[Any]) -> list[Any]:
        """(key..., how many) for each distinct row of `keys`: grouped outside a subquery, as
        PostgreSQL does not group by expressions holding bound parameters (JSON paths)."""
        inner = keys.subquery("keys")
        columns = list(inner.c)
        return list(self.db.execute(select(*columns, func.count()).group_by(*columns)).all())

    # -- filters -------------------------------------------------------------------------

    def created_in_period(self) -> Any:
        p = self.period
        return and_(ApplicationRow.created_at >= p.since, ApplicationRow.created_at < p.until)

    def decided_in_period(self, outcomes: tuple[str, ...]) -> Any:
        p = self.period
        return and_(
            AuditEventRow.event == "decided",
            AuditEventRow.at >= p.since,
            AuditEventRow.at < p.until,
            AuditEventRow.data["outcome"].as_string().in_(outcomes),
        )

    # -- funnel --------------------------------------------------------------------------

    def step_index(self, column: Any) -> Any:
        order = {step: index for index, step in enumerate(self.spec.step_order)}
        return case(order, value=column, else_=literal(-1))

    def slot_steps(self) -> dict[str, int]:
        """The step index of each document slot."""
        return {
            slot: index
            for index, step in enumerate(self.spec.steps.values())
            for slot in step.slots
        }

    def covered(self, application: Any) -> tuple[Any, Any]:
        """Two numbers per application: bit i set when it has an answer to step i, bit j set
        when it has a file in slot j (of slot_steps); None when it has none. Summed (the
        unique indexes make each bit count once) in one index look-up each."""
        steps = {step: 1 << index for index, step in enumerate(self.spec.step_order)}
        slots = {slot: 1 << index for index, slot in enumerate(self.slot_steps())}
        answers = (
            select(func.sum(case(steps, value=AnswerRow.field, else_=literal(0))))
            .where(AnswerRow.application_id == application)
            .scalar_subquery()
        )
        files = (
            select(func.sum(case(slots, value=DocumentRow.kind, else_=literal(0))))
            .where(DocumentRow.application_id == application)
            .scalar_subquery()
        )
        return answers, files

    def drafts(self) -> Any:
        """Drafts started in the period (not submitted: where did they stop?)."""
        return and_(self.created_in_period(), ApplicationRow.status == DRAFT)

    def funnel(self) -> None:
        """Applications started in the period, by category: how many reached each step
        (answered it, filled its most filled file, or wait at it now without either), where
        drafts stopped (the furthest step they answered, filled or wait at), how many were
        submitted and decided."""
        p = self.period
        consent = ApplicantRow.consent_at
        consented, waiting = self.db.execute(
            select(
                func.count(case((and_(consent >= p.since, consent < p.until), 1))),
                func.count(case((consent.is_(None), 1))),
            )
        ).one()
        app = ApplicationRow
        answers, files = self.covered(app.id)
        # A draft waits at its applicant's step (the furthest one, were there several).
        waits_at = (
            select(func.max(self.step_index(ApplicantRow.state)))
            .where(ApplicantRow.application_id == app.id)
            .scalar_subquery()
        )
        groups = self.counted(
            select(
                app.category.label("category"),
                app.status.label("status"),
                case((app.submitted_at.is_(None), literal(0)), else_=literal(1)).label("sent"),
                answers.label("answers"),
                files.label("files"),
                case((app.status == DRAFT, waits_at), else_=None).label("waits"),
            ).where(self.created_in_period())
        )
        # Drafts' applicants waiting at a step they neither answered nor filled a file of.
        waiting_at = self.counted(
            select(
                app.category.label("category"),
                ApplicantRow.state.label("state"),
                answers.label("answers"),
                files.label("files"),
            )
            .join(app, app.id == ApplicantRow.application_id)
            .where(self.drafts())
        )
        steps = {step: index for index, step in enumerate(self.spec.step_order)}
        slot_step = list(self.slot_steps().values())
        by_category: dict[str, list[int]] = {}
        answered: Counter[tuple[str, int]] = Counter()
        filled: Counter[tuple[str, int]] = Counter()  # by slot
        stopped: Counter[tuple[str, int]] = Counter()
        for category, status, sent, answer_bits, file_bits, waits, count in groups:
            n = int(count)
            stage = by_category.setdefault(str(category), [0, 0, 0])
            stage[0] += n
            stage[1] += n * int(sent)
            stage[2] += n if status in FINAL else 0
            steps_answered = _bits(answer_bits)
            slots_filled = _bits(file_bits)
            for index in steps_answered:
                answered[category, index] += n
            for slot in slots_filled:
                filled[category, slot] += n
            if status == DRAFT:
                furthest = max(
                    (
                        *steps_answered,
                        *(slot_step[s] for s in slots_filled),
                        -1 if waits is None else int(waits),
                    ),
                )
                if furthest >= 0:
                    stopped[category, furthest] += n
        reached: Counter[tuple[str, int]] = Counter(answered)
        for (category, slot), n in filled.items():
            key = (category, slot_step[slot])
            reached[key] = max(reached[key], n)
        for category, state, answer_bits, file_bits, count in waiting_at:
            waits_at_step = steps.get(state)
            if waits_at_step is None or waits_at_step in _bits(answer_bits):
                continue
            if any(slot_step[s] == waits_at_step for s in _bits(file_bits)):
                continue
            reached[str(category), waits_at_step] += int(count)
        order = self.spec.step_order
        reached_at = {(c, order[i]): n for (c, i), n in reached.items()}
        stopped_at = {(c, order[i]): n for (c, i), n in stopped.items()}
        funnel_rows: list[tuple[Any, ...]] = []
        drop_rows: list[tuple[Any, ...]] = []
        totals = Counter[str]()
        for category in [
            *self.spec.categories,
            *sorted(set(by_category) - set(self.spec.categories)),
        ]:
            created, submitted, decided = by_category.get(category, (0, 0, 0))
            funnel_rows.append((category, "started", created))
            known = self.spec.categories.get(category)
            for step in known.steps if known else ():
                funnel_rows.append((category, step, reached_at.get((category, step), 0)))
                drop_rows.append((category, step, stopped_at.get((category, step), 0)))
            funnel_rows.append((category, "submitted", submitted))
            funnel_rows.append((category, "decided", decided))
            totals.update(started=created, submitted=submitted, decided=decided)
        self.add("funnel", ("category", "stage", "applications"), funnel_rows)
        self.add("dropoff", ("category", "step", "stopped_here"), drop_rows)
        self.add(
            "consent",
            ("consented_in_period", "waiting_at_consent_now"),
            [(int(consented or 0), int(waiting or 0))],
        )
        self.headline.update(consented=int(consented or 0), **totals)

    def phase_times(self) -> None:
        """Time from choosing a category to the first document, from the first to the last
        document, and from the last document to the first submission (answers carry no time)."""
        # One "submitted" event per application (a resubmission is "resubmitted"). The
        # seconds are computed once per application, in the grouped query (the buckets
        # compare them up to five times); its documents are read from the index alone.
        submit = AuditEventRow
        created, submitted = ApplicationRow.created_at, submit.at
        first, last = func.min(DocumentRow.received_at), func.max(DocumentRow.received_at)
        phases = (
            ("answers", created, first),
            ("documents", first, last),
            ("summary_and_submit", last, submitted),
        )
        files = (
            select(
                *(
                    seconds_between(start, end, self.dialect).label(phase)
                    for phase, start, end in phases
                )
            )
            .select_from(submit)
            .join(ApplicationRow, submit.number == ApplicationRow.number)
            .join(DocumentRow, DocumentRow.application_id == ApplicationRow.id)
            .where(
                submit.event == "submitted",
                self.created_in_period(),
                DocumentRow.received_at <= submit.at,
            )
            .group_by(ApplicationRow.id, ApplicationRow.created_at, submit.at)
            .subquery("files")
        )
        buckets = [
            case(
                *((files.c[phase] < limit, literal(name)) for name, limit in TIME_BUCKETS),
                else_=literal(LAST_BUCKET),
            ).label(phase)
            for phase, _, _ in phases
        ]
        found: Counter[tuple[str, str]] = Counter()
        for row in self.counted(select(*buckets).select_from(files)):
            for (phase, _, _), bucket in zip(phases, row[:-1], strict=True):
                found[phase, bucket] += int(row[-1])
        rows = [
            (phase, name, found[phase, name])
            for phase, _, _ in phases
            for name in (*(n for n, _ in TIME_BUCKETS), LAST_BUCKET)
        ]
        self.add("phase_time", ("phase", "time", "applications"), rows)

    # -- the promise of 3 to 10 working days ---------------------------------------------

    def promise(self) -> None:
        submitted_day = local_day(ApplicationRow.submitted_at, self.dialect)
        decided_day = local_day(AuditEventRow.at, self.dialect)
        pairs = self.counted(
            select(submitted_day.label("start"), decided_day.label("end"), AuditEventRow.actor_id)
            .join(ApplicationRow, ApplicationRow.number == AuditEventRow.number)
            .where(self.decided_in_period(FINAL), ApplicationRow.submitted_at.is_not(None))
        )
        overall: Counter[int] = Counter()
        weekly: defaultdict[date, Counter[int]] = defaultdict(Counter)
        for start, end, actor, count in pairs:
            decided = as_date(end)
            days = self.working_days(as_date(start), decided)
            overall[days] += count
            weekly[decided - timedelta(days=decided.weekday())][days] += count
            if actor is not None:
                self.by_reviewer[int(actor)][days] += count
        self.add("promise_days", ("working_days", "decisions"), sorted(overall.items()))
        self.add(
            "promise_weekly",
            ("week_of", "decisions", "median_working_days", "share_within_10"),
            [
                (week.isoformat(), sum(c.values()), percentile(c, 0.5), within(c, PROMISED_DAYS))
                for week, c in sorted(weekly.items())
            ],
        )
        today = local_date(self.period.now)
        waiting = self.counted(
            select(local_day(ApplicationRow.submitted_at, self.dialect).label("day")).where(
                ApplicationRow.status.in_(WAITING_FOR_REVIEWERS),
                ApplicationRow.submitted_at.is_not(None),
            )
        )
        ages: Counter[int] = Counter()
        for day, count in waiting:
            ages[self.working_days(as_date(day), today)] += count
        overdue = sorted((d, n) for d, n in ages.items() if d > PROMISED_DAYS)
        self.add("overdue_now", ("working_days_waiting", "applications"), overdue)
        self.headline.update(
            median_working_days=percentile(overall, 0.5),
            p90_working_days=percentile(overall, 0.9),
            share_within_10=within(overall, PROMISED_DAYS),
            overdue_now=sum(n for _, n in overdue),
            waiting_now=sum(ages.values()),
        )

    # -- outcomes ------------------------------------------------------------------------

    def outcomes(self) -> None:
        """Decisions by outcome, reasons and items asked for, and each reviewer's claims and
        decisions: from one grouping of the period's claimed and decided events."""
        p = self.period
        data = AuditEventRow.data
        events = self.counted(
            select(
                AuditEventRow.event.label("event"),
                AuditEventRow.actor_id.label("actor"),
                data["outcome"].as_string().label("outcome"),
                data["reasons"].as_string().label("reasons"),
                data["items"].as_string().label("items"),
            ).where(
                AuditEventRow.event.in_(("claimed", "decided")),
                AuditEventRow.at >= p.since,
                AuditEventRow.at < p.until,
            )
        )
        counts: Counter[str] = Counter()
        rejected: Counter[str] = Counter()
        asked: Counter[tuple[str, str]] = Counter()
        for event, actor, outcome, reasons, items, number in events:
            count = int(number)
            if actor is not None:
                work = self.by_actor.setdefault(int(actor), [0, 0, 0])
                if event == "claimed":
                    work[0] += count
                elif outcome in FINAL:
                    work[1] += count
                elif outcome == RESUBMIT:
                    work[2] += count
            if event != "decided":
                continue
            if outcome in (*FINAL, RESUBMIT):
                counts[outcome] += count
            if outcome == FINAL[1]:
                rejected.update(dict.fromkeys(_ids(reasons), count))
            elif outcome == RESUBMIT:
                asked.update(dict.fromkeys((("item", i) for i in _ids(items)), count))
                asked.update(dict.fromkeys((("reason", r) for r in _ids(reasons)), count))
        order = (*FINAL, RESUBMIT)
        self.add("outcomes", ("outcome", "decisions"), [(o, counts[o]) for o in order])
        self.headline.update(approved=counts[FINAL[0]], rejected=counts[FINAL[1]])
        self.add("rejection_reasons", ("reason", "rejections"), rejected.most_common())
        self.add(
            "resubmission_requests",
            ("kind", "id", "requests"),
            [(kind, name, n) for (kind, name), n in sorted(asked.items())],
        )
        self.loops()

    def loops(self) -> None:
        """How many resubmissions were asked of each application decided in the period: per
        number, its requests (ever) and its final decisions in the period, in one grouping."""
        p = self.period
        outcome = AuditEventRow.data["outcome"].as_string()
        final_in_period = and_(
            outcome.in_(FINAL), AuditEventRow.at >= p.since, AuditEventRow.at < p.until
        )
        numbers = (
            select(
                func.sum(case((outcome == RESUBMIT, 1), else_=0)).label("loops"),
                func.sum(case((final_in_period, 1), else_=0)).label("decisions"),
            )
            .where(AuditEventRow.event == "decided")
            .group_by(AuditEventRow.number)
            .subquery("numbers")
        )
        rows = self.db.execute(
            select(numbers.c.loops, func.sum(numbers.c.decisions))
            .where(numbers.c.decisions > 0)
            .group_by(numbers.c.loops)
        ).all()
        self.add(
            "resubmission_loops",
            ("resubmissions", "applications"),
            sorted((int(loops), int(n)) for loops, n in rows),
        )

    # -- reviewers -----------------------------------------------------------------------

    def reviewers(self) -> None:
        """Each reviewer's claims and decisions in the period (counted with the outcomes), and
        the applications each holds now."""
        holder = ApplicationRow.review["reviewer_id"].as_integer()
        open_now: dict[int, int] = dict(
            self.counted(
                select(holder.label("reviewer")).where(
                    ApplicationRow.status.in_(CLAIMED), holder.is_not(None)
                )
            )
        )
        rows = []
        for reviewer in sorted(set(self.by_actor) | {int(k) for k in open_now}):
            claimed, decided, resubmissions = self.by_actor.get(reviewer, (0, 0, 0))
            rows.append(
                (
                    reviewer,
                    claimed,
                    decided,
                    resubmissions,
                    percentile(self.by_reviewer.get(reviewer, {}), 0.5),
                    int(open_now.get(reviewer, 0)),
                )
            )
        self.add(
            "reviewers",
            (
                "reviewer_id",
                "claimed",
                "decided",
                "resubmissions_requested",
                "median_working_days",
                "open_now",
            ),
            rows,
        )
        self.headline["reviewers"] = len(rows)

    # -- applicants' trouble -------------------------------------------------------------

    def trouble(self) -> None:
        """Pre-screening refusals by code and step, FAQ questions by entry, and the share of
        typed questions the FAQ answered: sums of the daily tally of the period."""
        t = TroubleTallyRow
        # The period ends at `until` (midnight for the command, now for /report): its day too.
        last_day = local_date(self.period.until - timedelta(microseconds=1))
        days = (t.day >= local_date(self.period.since), t.day <= last_day)
        total = func.sum(t.count)
        rows = self.db.execute(
            select(t.kind, t.key, t.detail, total).where(*days).group_by(t.kind, t.key, t.detail)
        ).all()
        problems = sorted(
            ((key, detail, int(n)) for kind, key, detail, n in rows if kind == "problem"),
            key=lambda row: (-row[2], row[0], row[1]),
        )
        self.add("prescreen_problems", ("code", "step", "times"), problems)
        asked: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for kind, key, detail, n in rows:
            if kind == "faq":
                asked[key][detail] += int(n)
        entries = sorted(
            ((key, c["typed"], c["chosen"]) for key, c in asked.items() if key),
            key=lambda row: (-(row[1] + row[2]), row[0]),
        )
        self.add("faq_by_entry", ("entry", "typed", "chosen"), entries)
        answered = sum(c["typed"] for key, c in asked.items() if key)
        unanswered = asked[""]["unanswered"]
        share = round(answered / (answered + unanswered), 3) if answered + unanswered else None
        self.add(
            "faq_answered",
            ("typed_questions", "answered", "unanswered", "share_answered"),
            [(answered + unanswered, answered, unanswered, share)],
        )
        self.headline["faq_share_answered"] = share

    # -- applicants' questions -----------------------------------------------------------

    def unanswered(self) -> None:
        q = UnansweredQuestionRow
        rows = self.db.execute(
            select(q.question, q.language, q.count)
            .where(q.status == "open")
            .order_by(q.count.desc(), q.id)
            .limit(UNANSWERED_SHOWN)
        ).all()
        self.add("unanswered_top", ("question", "language", "asked"), rows)
        totals = self.db.execute(
            select(q.status, func.count(), func.coalesce(func.sum(q.count), 0))
            .where(q.last_asked_at >= self.period.since, q.first_asked_at < self.period.until)
            .group_by(q.status)
        ).all()
        self.add(
            "unanswered_by_status",
            ("status", "questions", "asked"),
            sorted((s, int(n), int(c)) for s, n, c in totals),
        )


def _bits(value: Any) -> list[int]:
    """The indexes of the bits set in a sum of distinct powers of two (None: no bits)."""
    number = int(value or 0)
    return [index for index in range(number.bit_length()) if number >> index & 1]


def _ids(listed: Any) -> list[str]:
    """The ids of a JSON list as the database returns it (text), or none."""
    if listed is None:
        return []
    try:
        value = json.loads(listed) if isinstance(listed, str) else listed
    except json.JSONDecodeError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
