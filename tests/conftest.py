"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.harness import Harness

POSTGRES_URL_VARIABLE = "CARDBOT_TEST_POSTGRES_URL"


@pytest.fixture
def chat(tmp_path: Path) -> Harness:
    """An applicant talking to the core with in-memory ports."""
    return Harness(tmp_path)


def postgres_url() -> str | None:
    """The PostgreSQL server to test against, if one is configured."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None
