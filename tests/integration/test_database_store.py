"""The database document store on SQLite and PostgreSQL, and `cardbot documents migrate`."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cardbot.commands import migrate_documents
from cardbot.config import ConfigError, load_settings
from cardbot.core.ports import UnitOfWork
from cardbot.db.migrate import upgrade
from cardbot.db.models import ApplicationRow, DocumentBlobRow, DocumentRow
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.runtime import open_document_store
from cardbot.storage.database import DatabaseDocumentStore
from cardbot.storage.encrypted import (
    CHUNK_SIZE,
    KEYCHECK_NAME,
    DocumentCorruptError,
    DocumentKeyError,
    EncryptedDocumentStore,
)
from cardbot.storage.keys import generate_key
from tests.support import files
from tests.support.fakes import FixedClock
from tests.support.harness import DIALOGS, Harness

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = b"ID 110101199003071234; "
DOCUMENT = SECRET * (3 * CHUNK_SIZE // len(SECRET) + 1)  # several chunks, the last one partial
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on an up-to-date database of each kind."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def store(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    key: bytes = KEY,
    clock: FixedClock | None = None,
) -> DatabaseDocumentStore:
    clock = clock or FixedClock(NOW)
    return DatabaseDocumentStore(sessions, key, temp_dir=tmp_path / "tmp", clock=clock)


def put_bytes(documents: DatabaseDocumentStore, tmp_path: Path, data: bytes) -> str:
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    return documents.put(source)


def stored_row(sessions: sessionmaker[Session], key: str) -> DocumentBlobRow | None:
    with sessions() as session:
        return session.get(DocumentBlobRow, key)


def blob_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(DocumentBlobRow)
        return int(session.scalar(query.where(DocumentBlobRow.key != KEYCHECK_NAME)) or 0)


# -- the DocumentStore interface ---------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"x", DOCUMENT], ids=["empty", "one-byte", "multi-chunk"])
def test_put_read_local_path_and_delete_round_trip(
    sessions: sessionmaker[Session], tmp_path: Path, data: bytes
) -> None:
    documents = store(sessions, tmp_path)
    key = put_bytes(documents, tmp_path, data)

    assert len(key) == 32
    assert documents.read(key) == data
    with documents.local_path(key) as path:
        assert path.read_bytes() == data
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert documents.keys() == [key]

    documents.delete(key)
    assert stored_row(sessions, key) is None
    with pytest.raises(FileNotFoundError):
        documents.read(key)
    documents.delete(key)  # a missing key is not an error


def test_keys_must_look_like_document_keys(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    documents = store(sessions, tmp_path)
    for bad in ("../secret", KEYCHECK_NAME, "A" * 32, ""):
        with pytest.raises(ValueError, match="not a document key"):
            documents.read(bad)
        with pytest.raises(ValueError, match="not a document key"):
            documents.delete(bad)


def test_the_table_holds_ciphertext_not_the_document(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    documents = store(sessions, tmp_path)
    key = put_bytes(documents, tmp_path, DOCUMENT)
    row = stored_row(sessions, key)

    assert row is not None
    assert SECRET not in row.data and DOCUMENT[:64] not in row.data
    assert row.size == len(DOCUMENT)
    assert row.created_at.tzinfo is not None


# -- wrong key, tampering ----------------------------------------------------------------------


def test_another_key_raises_document_key_error(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    documents = store(sessions, tmp_path)
    documents.check_key()
    key = put_bytes(documents, tmp_path, DOCUMENT)
    other = store(sessions, tmp_path, OTHER_KEY)

    with pytest.raises(DocumentKeyError):
        other.read(key)
    with pytest.raises(DocumentKeyError):
        other.check_key()
    documents.check_key()
    assert documents.keys() == [key]  # the key-check row is not a document


def test_check_key_without_a_check_row_looks_at_the_stored_documents(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    put_bytes(store(sessions, tmp_path), tmp_path, b"scan")
    with pytest.raises(DocumentKeyError):
        store(sessions, tmp_path, OTHER_KEY).check_key()
    assert stored_row(sessions, KEYCHECK_NAME) is None


@pytest.mark.parametrize("offset", [0, 20, 30, 100, -1], ids=lambda o: f"byte-{o}")
def test_a_tampered_row_raises_document_corrupt_error(
    sessions: sessionmaker[Session], tmp_path: Path, offset: int
) -> None:
    documents = store(sessions, tmp_path)
    key = put_bytes(documents, tmp_path, DOCUMENT)
    row = stored_row(sessions, key)
    assert row is not None
    tampered = bytearray(row.data)
    tampered[offset] ^= 0x01
    with sessions.begin() as session:
        session.execute(
            update(DocumentBlobRow).where(DocumentBlobRow.key == key).values(data=bytes(tampered))
        )

    with pytest.raises(DocumentCorruptError):
        documents.read(key)
    with pytest.raises(DocumentCorruptError), documents.local_path(key):
        pass
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_row_moved_under_another_key_raises_document_corrupt_error(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    documents = store(sessions, tmp_path)
    first = put_bytes(documents, tmp_path, b"first")
    second = put_bytes(documents, tmp_path, b"second")
    row = stored_row(sessions, first)
    assert row is not None
    with sessions.begin() as session:
        session.execute(
            update(DocumentBlobRow).where(DocumentBlobRow.key == second).values(data=row.data)
        )
    with pytest.raises(DocumentCorruptError):
        documents.read(second)


# -- transactions and orphans ------------------------------------------------------------------


def test_a_put_inside_a_unit_of_work_is_rolled_back_with_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    documents = store(sessions, tmp_path)
    with SqlUnitOfWork(sessions, FixedClock(NOW)) as uow:
        assert uow.claim_update("update-1")  # the unit of work holds its transaction now
        key = put_bytes(documents, tmp_path, b"uncommitted")
        assert documents.read(key) == b"uncommitted"  # visible inside the transaction
    assert stored_row(sessions, key) is None

    with SqlUnitOfWork(sessions, FixedClock(NOW)) as uow:
        assert uow.claim_update("update-2")
        key = put_bytes(documents, tmp_path, b"committed")
        uow.commit()
    assert documents.read(key) == b"committed"


def test_sweep_removes_old_unreferenced_rows_only(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    documents = store(sessions, tmp_path, clock=clock)
    documents.check_key()
    referenced = put_bytes(documents, tmp_path, b"in an application")
    old_orphan = put_bytes(documents, tmp_path, b"left by a failed transaction")
    new_orphan = put_bytes(documents, tmp_path, b"about to be committed")
    with sessions.begin() as session:
        app = ApplicationRow(user_id=1, category="individual", status="draft", created_at=NOW)
        session.add(app)
        session.flush()
        session.add(
            DocumentRow(
                application_id=app.id,
                kind="id_front",
                storage_key=referenced,
                sha256="0" * 64,
                mime_type="image/jpeg",
                size=17,
                received_at=NOW,
            )
        )
        old = NOW - timedelta(days=2)
        session.execute(
            update(DocumentBlobRow)
            .where(DocumentBlobRow.key.in_([referenced, old_orphan, KEYCHECK_NAME]))
            .values(created_at=old)
        )

    assert documents.sweep_orphans(timedelta(hours=1)) == 1
    assert sorted(documents.keys()) == sorted([referenced, new_orphan])
    assert stored_row(sessions, KEYCHECK_NAME) is not None
    assert documents.sweep_orphans(timedelta(hours=1)) == 0
    clock.current += timedelta(seconds=1)
    assert documents.sweep_orphans(timedelta(0)) == 1
    assert documents.keys() == [referenced]


# -- a whole application -----------------------------------------------------------------------


def test_a_full_application_stores_its_documents_in_the_database(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    documents = store(sessions, tmp_path)
    documents.check_key()

    def units() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    chat = Harness(tmp_path, unit_of_work=units, documents=documents, now=NOW)
    chat.complete_individual(seeds=(5, 6))
    chat.press("nav:submit")

    app = chat.applicant.application
    assert app is not None and app.number is not None
    assert documents.read(app.documents["id_front"].storage_key) == files.photo(seed=5)
    assert documents.read(app.documents["id_back"].storage_key) == files.photo(seed=6)
    assert blob_count(sessions) == 2  # no orphans
    assert documents.sweep_orphans(timedelta(0)) == 0
    assert list((tmp_path / "tmp").iterdir()) == []


# -- settings and `cardbot documents migrate` --------------------------------------------------


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    """Settings pointing at an empty data folder and the test database."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("CARDBOT_TOKEN", "CARDBOT_DOCUMENT_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARDBOT_SECRET_KEY", generate_key())
    monkeypatch.setenv("CARDBOT_DATA_DIR", str(data))
    monkeypatch.setenv("CARDBOT_DIALOGS_DIR", str(DIALOGS))
    monkeypatch.setenv("CARDBOT_DATABASE_URL", database_url)
    return data


def test_the_document_store_setting_chooses_the_store(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().document_store == "folder"
    upgrade(load_settings().database_url)
    assert isinstance(open_document_store(load_settings()), EncryptedDocumentStore)
    monkeypatch.setenv("CARDBOT_DOCUMENT_STORE", "database")
    assert isinstance(open_document_store(load_settings()), DatabaseDocumentStore)
    monkeypatch.setenv("CARDBOT_DOCUMENT_STORE", "s3")
    with pytest.raises(ConfigError, match="CARDBOT_DOCUMENT_STORE must be folder"):
        load_settings()


def test_migrate_moves_every_document_there_and_back(
    environment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    clock = FixedClock(NOW)

    def units() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    folder = open_document_store(settings, kind="folder")
    chat = Harness(tmp_path, unit_of_work=units, documents=folder, now=NOW)
    chat.complete_individual(seeds=(7, 8))
    chat.press("nav:submit")
    orphan_source = tmp_path / "orphan.bin"
    orphan_source.write_bytes(b"a document no application refers to")
    orphan = folder.put(orphan_source)
    app = chat.applicant.application
    assert app is not None
    expected = {
        app.documents["id_front"].storage_key: files.photo(seed=7),
        app.documents["id_back"].storage_key: files.photo(seed=8),
        orphan: orphan_source.read_bytes(),
    }

    assert migrate_documents(settings, "folder", "database") == 0
    assert "moved 3 document(s) from folder to database" in capsys.readouterr().out
    database = open_document_store(settings, sessions=sessions, kind="database")
    assert folder.keys() == []
    assert sorted(database.keys()) == sorted(expected)
    assert {key: database.read(key) for key in expected} == expected

    assert migrate_documents(settings, "folder", "database") == 0  # again: nothing to do
    assert "moved 0 document(s) from folder to database (2 already there" in (
        capsys.readouterr().out
    )

    assert migrate_documents(settings, "database", "folder") == 0
    assert "moved 3 document(s) from database to folder" in capsys.readouterr().out
    assert database.keys() == []
    assert sorted(folder.keys()) == sorted(expected)
    assert {key: folder.read(key) for key in expected} == expected
    engine.dispose()


def test_migrate_keeps_the_source_when_a_document_cannot_be_moved(
    environment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings()
    folder = open_document_store(settings, kind="folder")
    assert isinstance(folder, EncryptedDocumentStore)
    source = tmp_path / "doc.bin"
    source.write_bytes(DOCUMENT)
    good, bad = folder.put(source), folder.put(source)
    damaged = folder.root / bad[:2] / bad
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0x01
    damaged.write_bytes(bytes(data))

    assert migrate_documents(settings, "folder", "database") == 1
    assert "could not be moved" in capsys.readouterr().err
    assert sorted(folder.keys()) == sorted([good, bad])
    assert migrate_documents(settings, "folder", "folder") == 2
