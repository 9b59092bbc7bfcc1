"""Databases for integration tests: a SQLite file, and PostgreSQL when configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import DATABASE_KINDS


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind cardbot supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cardbot.db'}"
    url: str = request.getfixturevalue("postgres_database")
    return url
