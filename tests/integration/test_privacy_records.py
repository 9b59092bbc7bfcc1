"""Privacy on a real database and data folder: encryption at rest, /delete, `cardbot purge`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from cardbot.__main__ import main
from cardbot.config import ConfigError, load_settings
from cardbot.core.ports import UnitOfWork
from cardbot.core.roles import REVIEWER
from cardbot.db.migrate import upgrade
from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    AuditEventRow,
    DocumentRow,
    SupportTicketRow,
)
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.runtime import open_document_store
from cardbot.storage.keys import generate_key
from tests.support import files
from tests.support.fakes import FixedClock
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE, Harness

GROUP = -100555
REVIEWER_ID = 71
PERSONAL = ("张三", VALID_ID, VALID_PHONE)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder that cardbot's settings point at."""
    data = tmp_path / "data"
    data.mkdir()
    for key in (
        "CARDBOT_DATABASE_URL",
        "CARDBOT_TOKEN",
        "CARDBOT_SECRET_KEY",
        "CARDBOT_OLD_SECRET_KEY",
        "CARDBOT_DOCUMENT_STORE",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CARDBOT_DATA_DIR", str(data))
    monkeypatch.setenv("CARDBOT_DIALOGS_DIR", str(DIALOGS))
    return data


def sql_chat(tmp_path: Path, url: str) -> Harness:
    """A harness on the database at `url` and the encrypted store of the data folder."""
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    clock = FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))

    def units() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    store = open_document_store(load_settings(), sessions=sessions)
    chat = Harness(
        tmp_path, unit_of_work=units, documents=store, now=clock.current, review_chat_id=GROUP
    )
    with units() as uow:
        uow.roles.grant(REVIEWER_ID, REVIEWER, None)
        uow.commit()
    return chat


def document_files(data: Path) -> list[Path]:
    return [p for p in (data / "documents").rglob("*") if p.is_file() and p.name[0] != "."]


def count(chat: Harness, model: type, **where: object) -> int:
    with chat.unit_of_work() as uow:
        session = uow.session  # type: ignore[attr-defined]
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(session.execute(query).scalar_one())


def test_documents_are_unreadable_in_the_data_folder_and_a_changed_key_is_refused(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = sql_chat(tmp_path, f"sqlite:///{data_dir / 'cardbot.db'}")
    photo = files.photo(seed=5)
    chat.complete_individual(seeds=(5, 6))

    stored = document_files(data_dir)
    assert len(stored) == 2
    for path in stored:
        on_disk = path.read_bytes()
        assert photo[200:264] not in on_disk and b"JFIF" not in on_disk
        assert path.stat().st_mode & 0o077 == 0
    key_file = data_dir / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600

    monkeypatch.setenv("CARDBOT_SECRET_KEY", generate_key())
    with pytest.raises(ConfigError, match="CARDBOT_SECRET_KEY"):
        open_document_store(load_settings())
    monkeypatch.setenv("CARDBOT_SECRET_KEY", key_file.read_text().strip())
    reopened = open_document_store(load_settings())
    app = chat.applicant.application
    assert app is not None
    assert reopened.read(app.documents["id_front"].storage_key) == photo


def test_delete_under_review_removes_every_row_and_file_of_the_applicant(
    data_dir: Path, tmp_path: Path, database_url: str
) -> None:
    chat = sql_chat(tmp_path, database_url)
    chat.complete_individual()
    chat.press("nav:submit")
    with chat.unit_of_work() as uow:
        uow.support.open_ticket(1001, 1001, "我的号码 13800138000 能用吗", "zh")
        uow.commit()
    chat.in_group(REVIEWER_ID, GROUP, "R")
    chat.press("rv:1:claim")
    chat.as_user(1001)
    assert len(document_files(data_dir)) == 2

    chat.command("delete")
    replies = chat.press("del:yes")

    assert any(m.chat_id == GROUP and m.tag == "card:1" for m in replies)
    for model in (ApplicantRow, ApplicationRow, SupportTicketRow):
        assert count(chat, model, user_id=1001) == 0
    assert count(chat, AnswerRow) == 0 and count(chat, DocumentRow) == 0
    assert document_files(data_dir) == []
    with chat.unit_of_work() as uow:
        events = uow.audit.history("DX-2026-000001")
    assert [e.event for e in events][-2:] == ["withdrawn", "erased"]
    trail = json.dumps([e.data for e in events], ensure_ascii=False)
    assert not any(value in trail for value in PERSONAL)


def test_cardbot_purge_deletes_answers_and_files_after_the_retention_period(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{data_dir / 'cardbot.db'}"
    chat = sql_chat(tmp_path, url)
    chat.complete_individual()
    chat.press("nav:submit")
    chat.in_group(REVIEWER_ID, GROUP, "R")
    for op in ("claim", "approve", "approve_ok"):
        chat.press(f"rv:1:{op}")
    retention = timedelta(days=load_settings().retention_days)

    def closed_ago(age: timedelta) -> None:
        """Date the closing back by `age` from the clock `cardbot purge` reads (the system's)."""
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(update(ApplicationRow).values(closed_at=datetime.now(UTC) - age))
        engine.dispose()

    closed_ago(retention - timedelta(days=1))
    assert main(["purge"]) == 0
    assert "nothing to purge" in capsys.readouterr().out

    closed_ago(retention + timedelta(days=1))
    assert main(["purge", "--json"]) == 0

    assert json.loads(capsys.readouterr().out) == {"purged": ["DX-2026-000001"], "files": 2}
    assert document_files(data_dir) == []
    assert count(chat, AnswerRow) == 0 and count(chat, DocumentRow) == 0
    assert count(chat, ApplicationRow, number="DX-2026-000001") == 1
    assert count(chat, AuditEventRow, event="purged") == 1
    assert main(["purge"]) == 0
    assert "nothing to purge" in capsys.readouterr().out


@pytest.mark.parametrize("store", ["folder", "database"])
def test_cardbot_documents_rekey_re_encrypts_every_document_and_can_run_again(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: str,
) -> None:
    old_key, new_key = generate_key(), generate_key()
    monkeypatch.setenv("CARDBOT_SECRET_KEY", old_key)
    monkeypatch.setenv("CARDBOT_DOCUMENT_STORE", store)
    chat = sql_chat(tmp_path, f"sqlite:///{data_dir / 'cardbot.db'}")
    chat.complete_individual(seeds=(7, 8))
    app = chat.applicant.application
    assert app is not None
    front = app.documents["id_front"].storage_key

    monkeypatch.setenv("CARDBOT_OLD_SECRET_KEY", old_key)
    monkeypatch.setenv("CARDBOT_SECRET_KEY", new_key)
    assert main(["documents", "rekey"]) == 0
    assert "re-encrypted 2 document(s)" in capsys.readouterr().out
    assert main(["documents", "rekey"]) == 0
    assert "already encrypted with the new key" in capsys.readouterr().out

    assert open_document_store(load_settings()).read(front) == files.photo(seed=7)
    monkeypatch.setenv("CARDBOT_SECRET_KEY", old_key)
    with pytest.raises(ConfigError, match="CARDBOT_SECRET_KEY"):
        open_document_store(load_settings())


def test_cardbot_documents_migrate_moves_documents_into_the_database(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = sql_chat(tmp_path, f"sqlite:///{data_dir / 'cardbot.db'}")
    chat.complete_individual(seeds=(3, 4))
    assert len(document_files(data_dir)) == 2

    assert main(["documents", "migrate", "folder", "database"]) == 0

    assert "moved 2 document(s)" in capsys.readouterr().out
    assert document_files(data_dir) == []
    app = chat.applicant.application
    assert app is not None
    store = open_document_store(load_settings(), kind="database")
    assert store.read(app.documents["id_back"].storage_key) == files.photo(seed=4)
