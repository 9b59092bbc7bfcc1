"""What applicants struggle with is counted as it happens, once per update, and the report
reads it back by problem and step and by FAQ entry (counts only, on every database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.content.loader import load_spec
from cardbot.core.clock import REVIEW_TIMEZONE
from cardbot.core.events import Text
from cardbot.db.migrate import upgrade
from cardbot.db.models import TroubleTallyRow
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.db.trouble_tally import add_tally
from cardbot.report.queries import Period, collect
from tests.support.fakes import FixedClock
from tests.support.harness import DIALOGS, Harness

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 17:00 in Beijing
PERIOD = Period(
    since=datetime(2026, 11, 1, tzinfo=REVIEW_TIMEZONE),
    until=datetime(2026, 12, 1, tzinfo=REVIEW_TIMEZONE),
    now=NOW,
)


def test_refusals_and_faq_questions_are_counted_once_each_and_reported(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    clock = FixedClock(NOW)
    chat = Harness(
        tmp_path, unit_of_work=lambda: SqlUnitOfWork(sessions, clock), now=NOW, with_faq=True
    )
    chat.start_as("individual")
    chat.text("张三")
    chat.press("pick:id_type:resident_id")
    first = chat.send(Text("110105194912310021"), key="wrong-id")
    assert "身份证号码无效" in first[0].text
    assert chat.send(Text("110105194912310021"), key="wrong-id") == []  # delivered again
    chat.text("12345")  # wrong again, another message
    assert "3–10 个工作日" in chat.text("审批一般要多久？")[0].text
    chat.press("faq:legality")
    chat.text("你们公司食堂的菜单是什么？")  # nothing in the FAQ answers this
    with Session(engine) as session:
        stored = session.execute(select(TroubleTallyRow)).scalars().all()
        assert {(r.day, r.kind, r.key, r.detail): r.count for r in stored} == {
            (date(2026, 11, 30), "problem", "invalid_id_number", "id_number"): 2,
            (date(2026, 11, 30), "faq", "approval-time", "typed"): 1,
            (date(2026, 11, 30), "faq", "legality", "chosen"): 1,
            (date(2026, 11, 30), "faq", "", "unanswered"): 1,
        }

    with Session(engine) as session:  # earlier days, and a day after the period
        connection = session.connection()
        wrong_id = ("problem", "invalid_id_number", "id_number")
        add_tally(connection, date(2026, 11, 5), {wrong_id: 3})
        add_tally(connection, date(2026, 11, 5), {("problem", "missing_document", "id_card"): 1})
        add_tally(connection, date(2026, 11, 5), {("faq", "approval-time", "typed"): 2})
        add_tally(connection, date(2026, 10, 31), {("problem", "invalid_phone", "phone"): 9})
        add_tally(connection, date(2026, 12, 1), {("faq", "", "unanswered"): 9})
        session.commit()
    data = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD)
    # /report's period ends now, in the middle of a day: that day's counts are in it.
    until_now = Period(since=PERIOD.since, until=NOW, now=NOW)
    today = collect(engine, load_spec(DIALOGS), ChinaWorkingCalendar(), until_now)
    engine.dispose()
    assert list(today.tables["faq_answered"].rows) == list(data.tables["faq_answered"].rows)
    assert list(data.tables["prescreen_problems"].rows) == [
        ("invalid_id_number", "id_number", 5),
        ("missing_document", "id_card", 1),
    ]
    assert list(data.tables["faq_by_entry"].rows) == [("approval-time", 3, 0), ("legality", 0, 1)]
    assert list(data.tables["faq_answered"].rows) == [(4, 3, 1, 0.75)]
    assert data.headline["faq_share_answered"] == 0.75
