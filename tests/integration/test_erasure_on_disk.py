"""Deleted means unreadable: after /delete and after the retention purge, no byte of the data
folder (the SQLite database, its write-ahead log, the documents) holds the applicant's name,
ID number or phone; on PostgreSQL no row version of theirs is left in the tables."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from cardbot.__main__ import main
from cardbot.config import load_settings
from cardbot.db.erasure import PERSONAL_TABLES
from cardbot.db.models import ApplicationRow
from cardbot.db.session import make_engine
from tests.integration import test_privacy_records as records
from tests.support import files
from tests.support.harness import VALID_ID, VALID_PHONE, Harness
from tests.support.waiting import PATIENCE

NAME = "欧阳明远"
PERSONAL = (NAME, VALID_ID, VALID_PHONE)
# UTF-8 everywhere; the numbers also as UTF-16-LE, in case anything stored them that way.
NEEDLES = {
    **{value: value.encode("utf-8") for value in PERSONAL},
    **{f"{value} (UTF-16-LE)": value.encode("utf-16-le") for value in (VALID_ID, VALID_PHONE)},
}

data_dir = records.data_dir


@pytest.fixture(autouse=True)
def sqlite_without_secure_delete_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open every SQLite connection as a SQLite built without SQLITE_SECURE_DELETE would (the
    Debian build has it on by default; python.org's and others do not), so these tests show
    that cardbot switches it on itself."""
    real_connect = sqlite3.dbapi2.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)
        connection.execute("PRAGMA secure_delete=OFF")
        return connection

    monkeypatch.setattr(sqlite3.dbapi2, "connect", connect)  # what SQLAlchemy calls
    monkeypatch.setattr(sqlite3, "connect", connect)


def found_on_disk(folder: Path) -> list[str]:
    """Which personal values occur in which file under `folder` (every byte of every file)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found += [
            f"{what} in {path.name}" for what, needle in NEEDLES.items() if needle in content
        ]
    return found


def with_table(data_dir: Path, table: str) -> int:
    """How many rows the table of the SQLite database in the data folder holds."""
    with contextlib.closing(sqlite3.connect(data_dir / "cardbot.db")) as db:
        (rows,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(rows)


def apply_and_submit(chat: Harness) -> None:
    """Consent, answer as an individual (with a name of our own), send the ID card, submit."""
    chat.start_as("individual")
    chat.text(NAME)
    chat.press("pick:id_type:resident_id")
    chat.text(VALID_ID)
    chat.text(VALID_PHONE)
    chat.upload(files.photo(seed=11), group="album")
    chat.upload(files.photo(seed=12), group="album")
    assert chat.applicant.application is not None
    assert chat.applicant.application.answers["full_name"] == NAME
    chat.press("nav:submit")


def test_the_search_sees_a_deleted_row_that_sqlite_leaves_in_its_free_space(
    tmp_path: Path,
) -> None:
    """Control: the byte search finds what SQLite leaves behind without secure_delete."""
    with sqlite3.connect(tmp_path / "plain.db", isolation_level=None) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (value TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (VALID_ID,))
        db.execute("DELETE FROM t")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()

    assert found_on_disk(tmp_path) == ["11010519491231002X in plain.db"]


def test_every_connection_overwrites_deleted_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cardbot.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (value TEXT)")
        connection.exec_driver_sql("INSERT INTO t VALUES (?)", (VALID_ID,))
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM t")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    raw = engine.raw_connection()
    raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    engine.dispose()

    assert found_on_disk(tmp_path) == []


@pytest.mark.parametrize("store", ["folder", "database"])
def test_after_delete_no_file_of_the_data_folder_holds_the_applicants_data(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    monkeypatch.setenv("CARDBOT_DOCUMENT_STORE", store)
    chat = records.sql_chat(tmp_path, f"sqlite:///{data_dir / 'cardbot.db'}")
    apply_and_submit(chat)
    with chat.unit_of_work() as uow:
        uow.support.open_ticket(1001, 1001, f"{NAME}：我的号码 {VALID_PHONE} 能用吗", "zh")
        uow.commit()
    chat.in_group(records.REVIEWER_ID, records.GROUP, "R")
    chat.press("rv:1:claim")
    chat.press("rv:1:reveal")
    chat.as_user(1001)
    assert {NAME, VALID_ID, VALID_PHONE} <= {f.split(" in ")[0] for f in found_on_disk(data_dir)}

    chat.command("delete")
    chat.press("del:yes")

    assert found_on_disk(data_dir) == []
    # The write-ahead log was emptied by the erase; what came after is the confirmation, written
    # to the outbox and deleted once sent, and (database store) the rows of deleted documents.
    assert with_table(data_dir, "reply_outbox") == 0


def test_after_cardbot_purge_no_file_of_the_data_folder_holds_the_applicants_data(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{data_dir / 'cardbot.db'}"
    chat = records.sql_chat(tmp_path, url)
    apply_and_submit(chat)
    chat.in_group(records.REVIEWER_ID, records.GROUP, "R")
    for op in ("claim", "approve", "approve_ok"):
        chat.press(f"rv:1:{op}")
    retention = timedelta(days=load_settings().retention_days)
    engine = make_engine(url)
    with engine.begin() as connection:  # closed past retention by the clock `purge` reads
        closed = datetime.now(UTC) - retention - timedelta(days=1)
        connection.execute(update(ApplicationRow).values(closed_at=closed))
    engine.dispose()
    assert found_on_disk(data_dir) != []

    assert main(["purge"]) == 0

    assert "purged 1 application(s)" in capsys.readouterr().out
    assert found_on_disk(data_dir) == []
    assert (data_dir / "cardbot.db-wal").stat().st_size == 0


ROW_VERSIONS_HOLDING = text(
    "SELECT count(*)"
    " FROM generate_series(0, pg_relation_size(CAST(:table AS regclass)) / 8192 - 1) AS page,"
    " heap_page_items(get_raw_page(CAST(:table AS text), CAST(page AS int))) AS item"
    " WHERE position(CAST(:needle AS bytea) IN item.t_data) > 0"
)


def row_versions_holding(url: str, table: str, needle: bytes) -> int:
    """How many row versions (live or dead) in `table`'s pages contain `needle`."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            params = {"table": table, "needle": needle}
            return int(connection.execute(ROW_VERSIONS_HOLDING, params).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def inspectable_postgres(postgres_database: str) -> Iterator[str]:
    """The fresh PostgreSQL database with pageinspect, to look at row versions in the pages."""
    engine = make_engine(postgres_database)
    try:
        with engine.begin() as connection:
            available = connection.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'pageinspect'")
            ).first()
            if available is None:
                pytest.skip("the PostgreSQL server has no pageinspect extension")
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    finally:
        engine.dispose()
    yield postgres_database


@pytest.mark.postgres
def test_on_postgresql_the_purge_vacuums_the_rows_delete_left_behind(
    data_dir: Path, tmp_path: Path, inspectable_postgres: str
) -> None:
    url = inspectable_postgres
    chat = records.sql_chat(tmp_path, url)
    apply_and_submit(chat)
    needle = VALID_ID.encode()
    assert row_versions_holding(url, "application_answers", needle) == 1

    chat.command("delete")
    chat.press("del:yes")
    assert row_versions_holding(url, "application_answers", needle) == 1  # dead, not gone

    chat.service.privacy.purge()

    for value in PERSONAL:
        assert row_versions_holding(url, "application_answers", value.encode()) == 0
    vacuumed = vacuum_counts(url)
    assert all(vacuumed[table] >= 1 for table in PERSONAL_TABLES), vacuumed


def vacuum_counts(url: str) -> dict[str, int]:
    """How often each table was vacuumed by hand; the statistics may lag, so this waits (up to
    PATIENCE) until each personal-data table shows one."""
    engine = make_engine(url)
    query = text("SELECT relname, vacuum_count FROM pg_stat_user_tables")
    deadline = time.monotonic() + PATIENCE
    try:
        while True:
            with engine.connect() as connection:
                counts = {name: int(n) for name, n in connection.execute(query).all()}
            if all(counts.get(t, 0) for t in PERSONAL_TABLES) or time.monotonic() > deadline:
                return counts
            time.sleep(0.05)
    finally:
        engine.dispose()
