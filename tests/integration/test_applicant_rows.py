"""The applicant path's own SQL (db/applicant_rows.py) on SQLite and PostgreSQL: round trips,
only changed rows written, lost races refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from cardbot.core.model import Applicant, Application, Flag, Status, StoredDocument
from cardbot.core.ports import ConcurrentUpdateError, UnitOfWork
from cardbot.db.migrate import upgrade
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from tests.support.fakes import FixedClock

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def document(kind: str, key: str) -> StoredDocument:
    return StoredDocument(
        kind=kind,
        storage_key=key,
        sha256=key.ljust(64, "0")[:64],
        mime_type="image/jpeg",
        size=1234,
        received_at=NOW,
        file_unique_id=f"u-{key}",
    )


@pytest.fixture
def database(database_url: str) -> Iterator[tuple[Engine, Callable[[], UnitOfWork]]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    yield engine, lambda: SqlUnitOfWork(sessions, FixedClock(NOW))
    engine.dispose()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Record the SQL statements run on the engine (a recording listener, not a mock)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def saved_applicant(units: Callable[[], UnitOfWork]) -> Applicant:
    applicant = Applicant(user_id=7, chat_id=7, language="zh", state="id_front")
    app = Application(category="company", created_at=NOW)
    app.answers |= {"full_name": "张三", "phone": "+8613800138000", "company": "<b>甲</b>"}
    app.documents |= {"id_front": document("id_front", "a1"), "licence": document("licence", "b1")}
    app.flags.append(Flag("id_in_use", ("DX-2026-000001",), field="id_number"))
    app.skipped.add("tax")
    applicant.application = app
    with units() as uow:
        uow.save_applicant(applicant)
        uow.commit()
    return applicant


def test_answers_documents_and_flags_round_trip_through_changes(
    database: tuple[Engine, Callable[[], UnitOfWork]],
) -> None:
    _engine, units = database
    saved_applicant(units)
    with units() as uow:
        loaded = uow.load_applicant(7)
        assert loaded is not None and loaded.application is not None
        app = loaded.application
        assert app.flags == [Flag("id_in_use", ("DX-2026-000001",), field="id_number")]
        app.answers["phone"] = "+8613900139000"
        del app.answers["company"]
        app.answers["tax_id"] = "91350100M000100Y43"
        app.documents["id_front"] = document("id_front", "a2")
        del app.documents["licence"]
        app.status = Status.SUBMITTED
        loaded.state = "submitted"
        uow.save_applicant(loaded)
        uow.commit()
    with units() as uow:
        again = uow.load_applicant(7)
    assert again is not None and again.application is not None
    assert again.state == "submitted"
    assert again.application.answers == {
        "full_name": "张三",
        "phone": "+8613900139000",
        "tax_id": "91350100M000100Y43",
    }
    assert list(again.application.documents) == ["id_front"]
    assert again.application.documents["id_front"] == document("id_front", "a2")
    assert again.application.status == Status.SUBMITTED
    assert again.application.skipped == {"tax"}


def test_saving_an_unchanged_applicant_writes_nothing(
    database: tuple[Engine, Callable[[], UnitOfWork]],
) -> None:
    engine, units = database
    saved_applicant(units)
    with units() as uow, statements(engine) as run:
        loaded = uow.load_applicant(7)
        assert loaded is not None
        uow.save_applicant(loaded)
        uow.commit()
    assert not {"INSERT", "UPDATE", "DELETE"} & set(run)


def test_one_new_answer_is_one_insert_and_one_version_step(
    database: tuple[Engine, Callable[[], UnitOfWork]],
) -> None:
    engine, units = database
    saved_applicant(units)
    with units() as uow, statements(engine) as run:
        loaded = uow.load_applicant(7)
        assert loaded is not None and loaded.application is not None
        version = loaded.application.version
        loaded.application.answers["email"] = "a@example.com"
        uow.save_applicant(loaded)
        uow.commit()
    assert run.count("INSERT") == 1 and run.count("UPDATE") == 1 and "DELETE" not in run
    assert loaded.application.version == version + 1


def test_two_workers_changing_one_application_conflict_instead_of_overwriting(
    database: tuple[Engine, Callable[[], UnitOfWork]],
) -> None:
    engine, units = database
    saved_applicant(units)
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; no lost update possible")
    first, second = units(), units()
    with first, second:
        a, b = first.load_applicant(7), second.load_applicant(7)
        assert a is not None and a.application is not None
        assert b is not None and b.application is not None
        a.application.answers["phone"] = "+8613900139000"
        b.application.documents["id_front"] = document("id_front", "zz")
        first.save_applicant(a)
        first.commit()
        with pytest.raises(ConcurrentUpdateError):
            second.save_applicant(b)
            second.commit()
    with units() as uow:
        loaded = uow.load_applicant(7)
    assert loaded is not None and loaded.application is not None
    assert loaded.application.documents["id_front"].storage_key == "a1"


def test_a_review_draft_changed_in_place_is_saved(
    database: tuple[Engine, Callable[[], UnitOfWork]],
) -> None:
    _engine, units = database
    applicant = saved_applicant(units)
    assert applicant.application is not None
    applicant.application.review.draft = {"decision": "reject", "reasons": []}
    with units() as uow:
        uow.save_applicant(applicant)
        uow.commit()
    with units() as uow:
        loaded = uow.load_applicant(7)
        assert loaded is not None and loaded.application is not None
        draft = loaded.application.review.draft
        assert draft is not None
        draft["reasons"].append("licence_unverified")  # changed in place, not replaced
        uow.save_applicant(loaded)
        uow.commit()
    with units() as uow:
        again = uow.load_applicant(7)
    assert again is not None and again.application is not None
    assert again.application.review.draft == {
        "decision": "reject",
        "reasons": ["licence_unverified"],
    }


def test_proposed_answers_round_trip_apart_from_the_answers_and_go_when_dropped(
    database: tuple[Engine, Callable[[], UnitOfWork]],
) -> None:
    _engine, units = database
    saved_applicant(units)
    with units() as uow:
        loaded = uow.load_applicant(7)
        assert loaded is not None and loaded.application is not None
        loaded.application.proposed |= {"full_name": "王芳", "id_number": ""}
        uow.save_applicant(loaded)
        uow.commit()
    with units() as uow:
        again = uow.load_applicant(7)
        assert again is not None and again.application is not None
        assert again.application.proposed == {"full_name": "王芳", "id_number": ""}
        assert again.application.answers["full_name"] == "张三"  # not the one read
        again.application.proposed.clear()
        uow.save_applicant(again)
        uow.commit()
    with units() as uow:
        last = uow.load_applicant(7)
    assert last is not None and last.application is not None
    assert last.application.proposed == {}
    assert set(last.application.answers) == {"full_name", "phone", "company"}
