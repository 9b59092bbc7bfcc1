"""Schema migrations with Alembic: upgrade, downgrade, and where the scripts live."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"
# Workers starting together on one PostgreSQL database take turns to migrate it.
MIGRATION_LOCK = 0x63617264  # "card"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the database at `url`, with no ini file needed."""
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


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (one worker at a time)."""
    with one_migrator(url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision`."""
    command.downgrade(alembic_config(url), revision)
