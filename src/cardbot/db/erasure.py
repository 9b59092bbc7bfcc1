"""Making deleted rows unreadable on disk, after the transaction that deleted them committed.

SQLite (with `PRAGMA secure_delete=ON` on every connection, see session.py) overwrites deleted
content with zeros, but the write-ahead log keeps the earlier versions of each changed page
until a checkpoint copies the log into the database and truncates it: that is done here.
PostgreSQL keeps deleted rows as dead row versions until VACUUM removes them; the thorough
run (the hourly retention purge) vacuums the tables that hold personal data.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    AuditEventRow,
    DocumentBlobRow,
    DocumentRow,
    InboxRow,
    SupportTicketRow,
)

log = logging.getLogger(__name__)

# The tables whose deleted rows held personal data (or encrypted documents and updates).
PERSONAL_TABLES = tuple(
    model.__tablename__
    for model in (
        ApplicantRow,
        ApplicationRow,
        AnswerRow,
        DocumentRow,
        DocumentBlobRow,
        SupportTicketRow,
        AuditEventRow,
        InboxRow,
    )
)


def wipe_deleted(engine: Engine, *, thorough: bool = False) -> bool:
    """Overwrite what committed transactions deleted wherever the database still keeps it:
    SQLite's write-ahead log is checkpointed and truncated; with `thorough`, PostgreSQL vacuums
    the personal-data tables. Call it with no transaction of this thread open. Failing here
    undoes nothing that was committed, so it is logged, not raised; returns False then."""
    dialect = engine.dialect.name
    try:
        if dialect == "sqlite":
            return _checkpoint_sqlite(engine)
        if dialect == "postgresql" and thorough:
            _vacuum_postgresql(engine)
    except SQLAlchemyError as exc:
        log.warning("deleted data not yet wiped from the database files: %s", type(exc).__name__)
        return False
    return True


def _checkpoint_sqlite(engine: Engine) -> bool:
    """Copy the write-ahead log into the database and truncate it to zero bytes."""
    # The DB-API connection, in autocommit mode since make_engine's connect hook: the
    # checkpoint must run outside a transaction, and SQLAlchemy's begin hook would open one.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cursor.fetchone()
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error as exc:
        log.warning("deleted data not yet wiped from the write-ahead log: %s", type(exc).__name__)
        return False
    finally:
        connection.close()
    busy = row is not None and row[0] != 0
    if busy:
        # Another connection still reads an older snapshot; the next purge tries again.
        log.warning("deleted data not yet wiped from the write-ahead log: it is in use")
    return not busy


def _vacuum_postgresql(engine: Engine) -> None:
    """Remove the dead row versions of the personal-data tables, and their index entries."""
    quote = engine.dialect.identifier_preparer.quote
    tables = ", ".join(quote(name) for name in PERSONAL_TABLES)
    # VACUUM cannot run inside a transaction block. INDEX_CLEANUP ON: without it, VACUUM may
    # leave a few dead rows' index entries (e.g. an ID number in an answers index) in place.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (INDEX_CLEANUP ON) {tables}")
