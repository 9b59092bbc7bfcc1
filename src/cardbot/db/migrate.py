"""Schema migrations with Alembic: upgrade, downgrade, and where the scripts live."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Workers starting together on one PostgreSQL database take turns to migrate it.
MIGRATION_LOCK = 0x63617264  # "card"
# Each script is named after its revision, which follows the one before: 0016_document_phash.py.
SCRIPT_NAME = re.compile(r"^(\d{4})_\w+\.py$")


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at `url`, with no ini file needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def one_migrator(url: str) -> Iterator[None]:
    """Hold PostgreSQL's migration lock (other workers wait); nothing to hold on SQLite,
    which takes one writer at a time anyway."""
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
            yield  # the lock goes with the connection
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision, from the scripts' names (tests check Alembic agrees)."""
    return max(
        found.group(1)
        for path in (MIGRATIONS / "versions").iterdir()
        if (found := SCRIPT_NAME.match(path.name))
    )


def is_current(url: str) -> bool:
    """True when the database at `url` is at the newest revision already."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            versions = connection.execute(text("SELECT version_num FROM alembic_version"))
            return [row[0] for row in versions] == [head_revision()]
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (one worker at a time). A database at
    the newest revision is left alone without loading Alembic (about 11 MB a worker keeps)."""
    if revision == "head" and is_current(url):
        return
    from alembic import command

    with one_migrator(url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision`."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)
