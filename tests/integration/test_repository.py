"""The SQLAlchemy store on SQLite and PostgreSQL: the conversation survives a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from cardbot.core.model import Applicant, Application, Review, Status
from cardbot.core.ports import ConcurrentUpdateError, UnitOfWork
from cardbot.db.migrate import alembic_config, downgrade, head_revision, is_current, upgrade
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from tests.support import files
from tests.support.fakes import FixedClock, MemoryDocumentStore
from tests.support.harness import VALID_ID, VALID_USCC, Harness

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_the_newest_revision_read_from_the_script_names_is_alembics_head(
    database_url: str,
) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert head_revision() == script.get_current_head()
    assert not is_current(database_url)
    upgrade(database_url)
    assert is_current(database_url)
    downgrade(database_url, "-1")
    assert not is_current(database_url)
    upgrade(database_url)  # not skipped: one revision behind
    assert is_current(database_url)


def test_a_worker_starting_on_a_current_database_does_not_load_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    upgrade(url)
    probe = (
        "import sys; from cardbot.db.migrate import upgrade; "
        f"upgrade({url!r}); print('alembic' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr


def sql_units(url: str, clock: FixedClock) -> tuple[Engine, Callable[[], UnitOfWork]]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)

    def unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    return engine, unit_of_work


def test_every_migration_goes_up_down_and_up_again_one_step_at_a_time(database_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert len(revisions) >= 9
    for revision in revisions:
        upgrade(database_url, revision)
    for index in range(len(revisions) - 1, 0, -1):
        downgrade(database_url, revisions[index - 1])
        upgrade(database_url, revisions[index])  # each step down can be climbed again
        downgrade(database_url, revisions[index - 1])
    downgrade(database_url, "base")
    upgrade(database_url)
    engine = make_engine(database_url)
    assert "applicants" in inspect(engine).get_table_names()
    engine.dispose()
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert "applicants" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    assert {"applicants", "applications", "application_documents"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_full_application_on_the_database_survives_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    documents = MemoryDocumentStore()
    clock = FixedClock(NOW)
    engine, units = sql_units(database_url, clock)
    first = Harness(tmp_path, unit_of_work=units, documents=documents, now=NOW)
    first.start_as("enterprise")
    first.fill_identity()
    first.text("Acme (Trading) & Co's")
    engine.dispose()  # the process stops here, mid-application

    engine, units = sql_units(database_url, clock)
    second = Harness(tmp_path, unit_of_work=units, documents=documents)
    replies = second.command("start")
    assert "统一社会信用代码" in replies[-1].text
    second.text(VALID_USCC)
    second.text("300")
    second.upload(files.photo(seed=1), group="a")
    second.upload(files.photo(seed=2), group="a")
    second.upload(files.pdf())
    second.upload(files.photo(seed=3))
    second.press("nav:submit")
    app = second.applicant.application
    assert app is not None
    assert app.status == Status.SUBMITTED
    assert app.number == "DX-2026-000001"
    assert app.answers["company_name"] == "Acme (Trading) & Co's"
    assert set(app.documents) == {"id_front", "id_back", "business_license", "tax_registration"}
    assert app.submitted_at == second.clock.now()
    engine.dispose()


def test_a_delivery_is_claimed_once(database_url: str) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    with units() as uow:
        assert uow.claim_update("tg:1") is True
        uow.commit()
    with units() as uow:
        assert uow.claim_update("tg:1") is False
        assert uow.claim_update("tg:2") is True
    with units() as uow:
        assert uow.claim_update("tg:2") is True
    engine.dispose()


def test_deliveries_handled_before_a_moment_are_forgotten(database_url: str) -> None:
    upgrade(database_url)
    clock = FixedClock(NOW)
    engine, units = sql_units(database_url, clock)
    for key, days in (("tg:1:1", 0), ("tg:1:2", 8)):
        clock.current = NOW + timedelta(days=days)
        with units() as uow:
            assert uow.claim_update(key)
            uow.commit()
    with units() as uow:
        assert uow.forget_deliveries(NOW + timedelta(days=1)) == 1
        uow.commit()
    with units() as uow:
        assert uow.claim_update("tg:1:1") is True  # forgotten: would be applied again
        assert uow.claim_update("tg:1:2") is False  # still remembered
    engine.dispose()


def test_uncommitted_changes_are_rolled_back(database_url: str) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    with units() as uow:
        uow.save_applicant(Applicant(user_id=5, chat_id=5, language="zh", state="consent"))
    with units() as uow:
        assert uow.load_applicant(5) is None
    engine.dispose()


def test_cancelled_draft_is_deleted_with_its_rows(database_url: str) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    applicant = Applicant(user_id=6, chat_id=6, language="zh", state="full_name")
    applicant.application = Application(category="individual", created_at=NOW)
    applicant.application.answers["full_name"] = "张三"
    with units() as uow:
        uow.save_applicant(applicant)
        uow.commit()
    with units() as uow:
        loaded = uow.load_applicant(6)
        assert loaded is not None and loaded.application is not None
        assert loaded.application.answers == {"full_name": "张三"}
        loaded.application = None
        uow.save_applicant(loaded)
        uow.commit()
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from applications")).scalar() == 0
        assert conn.execute(text("select count(*) from application_answers")).scalar() == 0
    engine.dispose()


def test_numbers_are_unique_under_concurrent_submissions(database_url: str) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    numbers: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(5):
            while True:
                try:
                    with units() as uow:
                        number = uow.next_application_number(2026)
                        uow.commit()
                    break
                except ConcurrentUpdateError:
                    continue
            with lock:
                numbers.append(number)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"DX-2026-{n:06d}" for n in range(1, 21)]
    engine.dispose()


def test_two_workers_changing_one_applicant_conflict_instead_of_overwriting(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    with units() as uow:
        uow.save_applicant(Applicant(user_id=9, chat_id=9, language="zh", state="consent"))
        uow.commit()
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; no lost update possible")
    first, second = units(), units()
    with first, second:
        a = first.load_applicant(9)
        b = second.load_applicant(9)
        assert a is not None and b is not None
        a.state, b.state = "category", "idle"
        first.save_applicant(a)
        first.commit()
        with pytest.raises(ConcurrentUpdateError):
            second.save_applicant(b)
            second.commit()
    with units() as uow:
        loaded = uow.load_applicant(9)
        assert loaded is not None and loaded.state == "category"
    engine.dispose()


def test_consistency_look_ups_find_the_other_applications_with_their_status(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    chat = Harness(tmp_path, unit_of_work=units, now=NOW)
    for user_id, seeds in ((1, (1, 2)), (2, (1, 3))):
        chat.user = chat.user.__class__(user_id, user_id, "zh")
        chat.complete_individual(seeds)
        chat.press("nav:submit")
    app = chat.applicant.application
    assert app is not None
    assert [(f.code, f.applications, f.field, f.document) for f in app.flags] == [
        ("id_number_in_use", ("DX-2026-000001",), "id_number", None),
        ("document_in_use", ("DX-2026-000001",), None, "id_front"),
    ]
    with units() as uow:
        first = uow.load_application("DX-2026-000001")
        assert first is not None and first.flags == []
        assert uow.applications_with_answer("id_number", VALID_ID) == [
            ("DX-2026-000001", "submitted"),
            ("DX-2026-000002", "submitted"),
        ]
        assert uow.applications_with_answer(
            "id_number", VALID_ID, exclude_number="DX-2026-000002"
        ) == [("DX-2026-000001", "submitted")]
        ((one, _status),) = uow.applications_with_answer("id_number", VALID_ID, limit=1)
        assert one in {"DX-2026-000001", "DX-2026-000002"}
        assert uow.load_application("DX-2026-999999") is None
    engine.dispose()


def test_the_review_queue_and_reminders_read_only_the_open_applications_they_show(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    with units() as uow:
        for user_id in range(1, 61):
            applicant = Applicant(user_id=user_id, chat_id=user_id, language="zh", state="idle")
            days_ago = 20 if user_id <= 2 else 1
            applicant.application = Application(
                category="individual",
                status=Status.APPROVED if user_id == 3 else Status.SUBMITTED,
                number=f"DX-2026-{user_id:06d}",
                created_at=NOW,
                submitted_at=NOW - timedelta(days=days_ago, minutes=user_id),
            )
            uow.save_applicant(applicant)
        uow.commit()
    with units() as uow:
        queue = uow.open_applications(limit=40)
        old = uow.open_applications(submitted_before=NOW - timedelta(days=7))
    assert len(queue) == 40 and [app.number for app in queue[:2]] == [
        "DX-2026-000002",
        "DX-2026-000001",
    ]
    assert "DX-2026-000003" not in {app.number for app in queue}  # decided
    assert [app.number for app in old] == ["DX-2026-000002", "DX-2026-000001"]
    engine.dispose()


def test_the_reading_job_finds_only_rounds_not_read_yet_in_the_database(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine, units = sql_units(database_url, FixedClock(NOW))
    cases = {  # user id: (status, round, read round)
        1: (Status.SUBMITTED, 1, 0),  # not read
        2: (Status.IN_REVIEW, 1, 1),  # read
        3: (Status.IN_REVIEW, 2, 1),  # resubmitted, the new round not read
        4: (Status.RESUBMISSION_REQUESTED, 2, 1),  # with the applicant
        5: (Status.APPROVED, 1, 0),  # decided
    }
    with units() as uow:
        for user_id, (status, round_, read_round) in cases.items():
            applicant = Applicant(user_id=user_id, chat_id=user_id, language="zh", state="idle")
            applicant.application = Application(
                category="individual",
                status=status,
                number=f"DX-2026-{user_id:06d}",
                created_at=NOW,
                submitted_at=NOW - timedelta(minutes=10 - user_id),
                review=Review(round=round_, read_round=read_round),
            )
            uow.save_applicant(applicant)
        uow.commit()
    with units() as uow:
        unread = uow.open_applications(unread=True)
        first = uow.open_applications(unread=True, limit=1)
    assert [app.number for app in unread] == ["DX-2026-000001", "DX-2026-000003"]
    assert [app.number for app in first] == ["DX-2026-000001"]
    engine.dispose()
