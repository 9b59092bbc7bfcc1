"""The operations report counts a known history exactly, on every database, with a fixed clock."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.content.loader import load_spec
from cardbot.core.clock import REVIEW_TIMEZONE
from cardbot.core.ports import ReportOrder
from cardbot.db.migrate import upgrade
from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    AuditEventRow,
    DocumentRow,
    ReplyOutboxRow,
    UnansweredQuestionRow,
)
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.db.trouble_tally import add_tally
from cardbot.report.background import BackgroundReports
from cardbot.report.build import write_report
from cardbot.report.queries import Period, collect
from cardbot.storage.encrypted import EncryptedDocumentStore
from tests.support.fakes import FixedClock
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE

R1, R2 = 7001, 7002
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=REVIEW_TIMEZONE)  # a Monday in Beijing
PERIOD = Period(
    since=datetime(2026, 11, 1, tzinfo=REVIEW_TIMEZONE),
    until=datetime(2026, 12, 1, tzinfo=REVIEW_TIMEZONE),
    now=NOW,
)
NAME, COMPANY = "张秘密", "Secret Trading Co., Ltd."
TEXT_STEPS = {
    "individual": ("full_name", "id_type", "id_number", "phone"),
    "enterprise": (
        "full_name",
        "id_type",
        "id_number",
        "phone",
        "company_name",
        "uscc",
        "daily_call_volume",
    ),
}
SLOTS = {
    "individual": ("id_front", "id_back"),
    "enterprise": ("id_front", "id_back", "business_license", "tax_registration"),
}
VALUES = {
    "full_name": NAME,
    "id_type": "resident_id",
    "id_number": VALID_ID,
    "phone": VALID_PHONE,
    "company_name": COMPANY,
}


def bj(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    """A moment of 2026 on Beijing's clock."""
    return datetime(2026, month, day, hour, minute, tzinfo=REVIEW_TIMEZONE)


class History:
    """Writes applications, applicants and audit events as the bot would have."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.numbers = iter(range(1, 100))

    def application(
        self,
        category: str,
        status: str,
        created: datetime,
        *,
        answered: int | None = None,
        submitted: datetime | None = None,
        reviewer: int | None = None,
        files: bool = True,
    ) -> ApplicationRow:
        """An application; submitted ones have every answer and file, given 2 and 4 minutes
        after it was started and submitted 10 minutes after."""
        number = f"DX-2026-{next(self.numbers):06d}" if submitted else None
        app = ApplicationRow(
            number=number,
            user_id=len(self.session.new) + 100,
            category=category,
            status=status,
            created_at=created,
            submitted_at=submitted,
            review={"reviewer_id": reviewer} if reviewer else {},
            version=1,
        )
        self.session.add(app)
        self.session.flush()
        steps = TEXT_STEPS[category][: answered if answered is not None else None]
        for field in steps:
            self.session.add(
                AnswerRow(application_id=app.id, field=field, value=VALUES.get(field, "1"))
            )
        if submitted is not None and files:
            for index, slot in enumerate(SLOTS[category]):
                self.session.add(
                    DocumentRow(
                        application_id=app.id,
                        kind=slot,
                        storage_key=f"{app.id:030d}{index:02d}",
                        sha256="0" * 64,
                        mime_type="image/jpeg",
                        size=1,
                        received_at=created + timedelta(minutes=2 if index == 0 else 4),
                    )
                )
            self.event(app, "submitted", None, created + timedelta(minutes=10))
        return app

    def event(
        self, app: ApplicationRow, name: str, actor: int | None, at: datetime, **data: Any
    ) -> None:
        """One audit event of the application."""
        assert app.number is not None
        self.session.add(
            AuditEventRow(number=app.number, event=name, actor_id=actor, at=at, data=data)
        )

    def decided(
        self, app: ApplicationRow, outcome: str, actor: int, at: datetime, **data: Any
    ) -> None:
        """A reviewer's decision."""
        self.event(
            app,
            "decided",
            actor,
            at,
            outcome=outcome,
            reasons=data.get("reasons", []),
            items=data.get("items", []),
        )

    def applicant(
        self, user_id: int, state: str, consent: datetime | None, app: ApplicationRow | None = None
    ) -> None:
        """A person's conversation."""
        self.session.add(
            ApplicantRow(
                user_id=user_id,
                chat_id=user_id,
                language="zh",
                state=state,
                consent_at=consent,
                application_id=app.id if app else None,
                version=1,
            )
        )


def write_history(session: Session) -> None:
    """The known history of November 2026 (working days: Monday to Friday, no holidays)."""
    h = History(session)
    a1 = h.application("individual", "approved", bj(2), submitted=bj(2, 10, 10))
    h.event(a1, "claimed", R1, bj(3))
    h.decided(a1, "approved", R1, bj(5))  # 3 working days
    a2 = h.application("individual", "rejected", bj(2, 11), submitted=bj(2, 11, 10))
    h.event(a2, "claimed", R2, bj(3))
    h.decided(a2, "rejected", R2, bj(20), reasons=["id_mismatch"])  # 14 working days
    a3 = h.application("enterprise", "approved", bj(9), submitted=bj(12, 9))
    h.event(a3, "claimed", R1, bj(10))
    h.decided(
        a3,
        "resubmission_requested",
        R1,
        bj(11),
        reasons=["unreadable"],
        items=["business_license"],
    )
    h.event(a3, "resubmitted", 103, bj(12, 9))
    h.decided(a3, "approved", R1, bj(16))  # 2 working days after the resubmission
    a4 = h.application("individual", "draft", bj(10), answered=3)
    h.application("enterprise", "draft", bj(11), answered=5)  # left, its applicant gone
    a6 = h.application("individual", "in_review", bj(3), submitted=bj(3, 10, 10), reviewer=R2)
    h.event(a6, "claimed", R2, bj(4))  # waiting 19 working days now: overdue
    a7 = h.application("enterprise", "submitted", bj(25), submitted=bj(25, 10, 10))
    a8 = h.application("individual", "approved", bj(15, month=10), submitted=bj(2, 9))
    h.decided(a8, "approved", R2, bj(4))  # started before the period, decided in it
    for user, app in ((1, a1), (2, a2), (3, a3), (6, a6), (7, a7)):
        h.applicant(user, "idle", bj(1), app)
    h.applicant(4, "phone", bj(10), a4)
    h.applicant(8, "idle", bj(15, month=10), a8)
    h.applicant(9, "category", bj(20))
    h.applicant(10, "consent", None)
    for question, language, count, status in (
        ("可以开发票吗？", "zh", 5, "open"),
        ("Can I get an invoice?", "en", 2, "open"),
        ("你好", "zh", 1, "dismissed"),
    ):
        session.add(
            UnansweredQuestionRow(
                question=question,
                language=language,
                count=count,
                status=status,
                first_asked_at=bj(5),
                last_asked_at=bj(6),
            )
        )
    tally = {
        ("problem", "invalid_id_number", "id_number"): 3,
        ("problem", "unreadable_image", "id_card"): 1,
        ("faq", "approval-time", "typed"): 2,
        ("faq", "", "unanswered"): 2,
    }
    add_tally(session.connection(), date(2026, 11, 5), tally)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A database holding the known history."""
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        write_history(session)
        session.commit()
    yield engine
    engine.dispose()


def rows(engine: Engine, name: str) -> list[tuple[Any, ...]]:
    """One table of the report of PERIOD."""
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    return list(data.tables[name].rows)


def test_the_headline_figures_are_those_of_the_known_history(engine: Engine) -> None:
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    assert data.headline == {
        "consented": 7,
        "started": 7,
        "submitted": 5,
        "decided": 3,
        "approved": 3,
        "rejected": 1,
        "median_working_days": 2,
        "p90_working_days": 14,
        "share_within_10": 0.75,
        "overdue_now": 1,
        "waiting_now": 2,
        "reviewers": 2,
        "faq_share_answered": 0.5,
    }


def test_the_funnel_counts_each_step_reached_and_where_drafts_stopped(engine: Engine) -> None:
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    funnel = {(c, s): n for c, s, n in data.tables["funnel"].rows}
    individual = [
        funnel["individual", s]
        for s in (
            "started",
            "full_name",
            "id_type",
            "id_number",
            "phone",
            "id_card",
            "passport_page",
            "submitted",
            "decided",
        )
    ]
    assert individual == [4, 4, 4, 4, 4, 3, 0, 3, 2]
    enterprise = [
        funnel["enterprise", s]
        for s in (
            "started",
            "company_name",
            "uscc",
            "id_card",
            "business_license",
            "submitted",
            "decided",
        )
    ]
    assert enterprise == [3, 3, 2, 2, 2, 2, 1]
    assert funnel["small_business", "started"] == 0
    stopped = [(c, s, n) for c, s, n in data.tables["dropoff"].rows if n]
    assert stopped == [("enterprise", "company_name", 1), ("individual", "phone", 1)]
    assert list(data.tables["consent"].rows) == [(7, 1)]
    phases = [(p, t, n) for p, t, n in data.tables["phase_time"].rows if n]
    assert phases == [
        ("answers", "1-5m", 5),
        ("documents", "1-5m", 5),
        ("summary_and_submit", "5-15m", 5),
    ]


def test_the_promise_is_measured_in_working_days_from_the_complete_package(
    engine: Engine,
) -> None:
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    assert list(data.tables["promise_days"].rows) == [(2, 2), (3, 1), (14, 1)]
    assert list(data.tables["promise_weekly"].rows) == [
        ("2026-11-02", 2, 2, 1.0),
        ("2026-11-16", 2, 2, 0.5),
    ]
    assert list(data.tables["overdue_now"].rows) == [(19, 1)]


def test_outcomes_reasons_and_resubmission_loops_are_counted(engine: Engine) -> None:
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    tables = data.tables
    assert list(tables["outcomes"].rows) == [
        ("approved", 3),
        ("rejected", 1),
        ("resubmission_requested", 1),
    ]
    assert list(tables["rejection_reasons"].rows) == [("id_mismatch", 1)]
    assert list(tables["resubmission_requests"].rows) == [
        ("item", "business_license", 1),
        ("reason", "unreadable", 1),
    ]
    assert [tuple(r) for r in tables["resubmission_loops"].rows] == [(0, 3), (1, 1)]


def test_reviewers_are_shown_by_id_with_their_work(engine: Engine) -> None:
    assert rows(engine, "reviewers") == [(R1, 2, 2, 1, 2, 0), (R2, 2, 2, 0, 2, 1)]


def test_the_unanswered_questions_staff_see_are_listed_most_asked_first(engine: Engine) -> None:
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    assert [tuple(r) for r in data.tables["unanswered_top"].rows] == [
        ("可以开发票吗？", "zh", 5),
        ("Can I get an invoice?", "en", 2),
    ]
    assert list(data.tables["unanswered_by_status"].rows) == [("dismissed", 1, 1), ("open", 2, 7)]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_report_folder_holds_a_self_contained_page_and_the_tables_without_personal_data(
    engine: Engine, tmp_path: Path, language: str
) -> None:
    written = write_report(
        engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD, tmp_path, language
    )
    page = written.html.read_text(encoding="utf-8")
    assert page.count("<svg") == 8  # every chart
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert not re.search(r"""@import|url\(\s*["']?\s*(https?:)?//""", page)
    assert ("运营报告" in page) == (language == "zh")
    texts = [page, *(p.read_text(encoding="utf-8-sig") for p in written.tables)]
    for secret in (NAME, COMPANY, VALID_ID, VALID_PHONE):
        assert not any(secret in text for text in texts), secret
    with (tmp_path / "reviewers.csv").open(encoding="utf-8-sig") as stream:
        assert list(csv.reader(stream))[1:] == [
            [str(R1), "2", "2", "1", "2", "0"],
            [str(R2), "2", "2", "0", "2", "1"],
        ]
    assert sorted(written.images) == ["funnel", "promise"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written.images.values())


def test_a_report_made_in_the_background_is_posted_with_its_files_stored(
    engine: Engine, tmp_path: Path
) -> None:
    store = EncryptedDocumentStore(tmp_path / "documents", bytes(32))
    sessions = make_session_factory(engine)
    clock = FixedClock(NOW.astimezone(UTC))
    maker = BackgroundReports(
        engine,
        load_spec(DIALOGS),
        ChinaWorkingCalendar(),
        store,
        lambda: SqlUnitOfWork(sessions, clock),
        clock,
    )
    order = ReportOrder(
        chat_id=42, language="en", since=PERIOD.since, until=PERIOD.until, requested_by=42
    )
    reply = maker.make(order)
    maker.close()
    assert reply.template == "staff/report"
    assert reply.context["headline"]["overdue_now"] == 1
    assert [(a.mime_type, a.label) for a in reply.attachments] == [
        ("text/html", "report.document"),
        ("image/png", "report.funnel"),
        ("image/png", "report.promise"),
    ]
    assert store.read(reply.attachments[0].storage_key).startswith(b"<!DOCTYPE html>")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ReplyOutboxRow)) == 1
