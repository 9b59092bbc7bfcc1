"""Watches every log record of a test run for the personal values the tests use."""

from __future__ import annotations

import logging
import traceback

from cardbot.logs import quiet_libraries
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC

# What tests type as applicants: names, ID and passport numbers, phones, codes, the bot token.
PERSONAL_VALUES = (
    VALID_ID,
    VALID_PHONE,
    VALID_USCC,
    "E12345678",
    "张三",
    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
)
MAX_REPORTED = 20


class LogAudit(logging.Handler):
    """A root handler that notes each record (message and traceback) holding a personal value.

    It reads records as they are emitted, before any redaction, so it proves that the code does
    not log these values, not merely that the formatter hides them.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.leaks: list[str] = []
        self.records = 0

    def install(self) -> None:
        """Log at INFO with libraries quiet, as `cardbot run` does, and watch everything."""
        root = logging.getLogger()
        root.setLevel(logging.INFO)
        quiet_libraries()
        root.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        """Check one record."""
        self.records += 1
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: check its raw parts
            text = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(record.exc_info[1]))
        found = [value for value in PERSONAL_VALUES if value in text]
        if found and len(self.leaks) < MAX_REPORTED:
            self.leaks.append(f"{record.name} {record.levelname}: {found} in {text[:300]!r}")
