"""Shared fixtures."""

from __future__ import annotations

import os
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.harness import Harness
from tests.support.log_audit import LogAudit

POSTGRES_URL_VARIABLE = "CARDBOT_TEST_POSTGRES_URL"
LOG_AUDIT = LogAudit()

# CPython before 3.11.8 corrupts its AST recursion counter when a RecursionError strikes inside
# ast.parse, which traceback formatting calls to draw carets; pytest's next ast.parse (rewriting a
# late import) then fails with "SystemError: AST constructor recursion depth mismatch". Tests log
# tracebacks from deep asyncio stacks, so carets are switched off for the test process.
if sys.version_info < (3, 11, 8) and hasattr(
    traceback, "_extract_caret_anchors_from_line_segment"
):
    traceback._extract_caret_anchors_from_line_segment = lambda segment: None  # type: ignore[attr-defined]


@pytest.fixture
def chat(tmp_path: Path) -> Harness:
    """An applicant talking to the core with in-memory ports."""
    return Harness(tmp_path)


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if request.node.get_closest_marker("postgres") is None:
        pytest.fail(f"{request.node.nodeid} uses PostgreSQL: mark it @pytest.mark.postgres")
    server = postgres_url()
    if server is None:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    name = f"cardbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_url() -> str | None:
    """The PostgreSQL server to test against, if one is configured."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def pytest_configure(config: pytest.Config) -> None:
    """Watch the whole run's log for personal values (see tests/support/log_audit.py)."""
    LOG_AUDIT.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log record carried a personal value used by the tests."""
    if LOG_AUDIT.leaks:
        report = "\n".join(LOG_AUDIT.leaks)
        sys.stderr.write(f"\nPERSONAL DATA IN THE LOG ({len(LOG_AUDIT.leaks)}):\n{report}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
