"""Engines and sessions: SQLite file by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, secure deletion and write-locking
    transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a database error message must not carry what applicants typed.
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN, so it can be BEGIN IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros, not left in free space: erased personal data
        # cannot be read back from the file (the default of some SQLite builds, not of all).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL loses nothing when the process dies, only on power loss.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock at the start: concurrent handlers queue instead of failing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


UPSERT_DIALECTS = ("sqlite", "postgresql")


def dialect_insert(dialect: str, model: Any) -> Any:
    """An INSERT into `model` that knows ON CONFLICT, for `dialect` (PostgreSQL, else SQLite):
    each dialect's module is imported only when used (PostgreSQL's holds about 2 MB that a
    worker on SQLite does not need)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def insert_ignoring_duplicates(session: Session, model: Any, values: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the session's database (SQLite or PostgreSQL)."""
    return ignoring_duplicates(session.get_bind().dialect.name, model).values(values)


@functools.cache
def ignoring_duplicates(dialect: str, model: Any) -> Any:
    """A reusable INSERT … ON CONFLICT DO NOTHING into `model` for `dialect`, its values given
    when executed: built once, so executing it skips SQLAlchemy's statement construction."""
    return dialect_insert(dialect, model).on_conflict_do_nothing()
