"""Which databases the database fixtures run each test on."""

from __future__ import annotations

import pytest

# A SQLite file, and PostgreSQL marked `postgres` so that `pytest -m postgres` picks it.
DATABASE_KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
