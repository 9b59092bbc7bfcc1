"""Logging set-up: quiet libraries that would print secrets, and redact what slips through.

cardbot's own log lines carry ids and class names only, never what people typed or sent. As a
second line of defence, every formatted line (traceback included) is scrubbed of anything that
looks like a bot token, an ID or passport number, a phone number or a credit code.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

from cardbot.core.log_context import APPLICATION, UPDATE

# Libraries that log request URLs (which hold the bot token) or API parameters (which hold
# what applicants typed) at INFO or DEBUG.
NOISY_LIBRARIES = (
    "httpx",
    "httpcore",
    "telegram",
    "apscheduler",
    "sqlalchemy.engine",
    "transitions",
)
# Libraries that say at INFO what an operator need not read at every start (Alembic: each
# migration step); their warnings still show.
CHATTY_LIBRARIES = ("alembic",)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_NOT_CODE = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z])"
_CODE_CHAR = "[0-9A-HJ-NPQRTUWXY]"
_PATTERNS = (
    (re.compile(r"(?<![0-9])\d{6,12}:[A-Za-z0-9_-]{30,}"), "[token]"),
    (re.compile(_NOT_CODE + r"\d{17}[\dXx]" + _END), "[id]"),
    (re.compile(_NOT_CODE + r"\d{15}" + _END), "[id]"),
    (re.compile(_NOT_CODE + _CODE_CHAR + "{2}" + r"\d{6}" + _CODE_CHAR + "{10}" + _END), "[code]"),
    (re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9])"), "[phone]"),
    (re.compile(_NOT_CODE + r"[EGDSPH][A-Z]?\d{7,8}" + _END), "[passport]"),
)


def redact(text: str) -> str:
    """`text` with tokens, ID, passport and phone numbers and credit codes replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message and traceback) goes through `redact`, with the
    update and application the line is about, when known."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, redacted."""
        about = " ".join(
            f"{name}={value}"
            for name, value in (("update", UPDATE.get()), ("application", APPLICATION.get()))
            if value
        )
        line = super().format(record)
        return redact(f"{line} [{about}]" if about else line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update, application, error."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a redacted JSON line."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if (update := UPDATE.get()) is not None:
            entry["update"] = update
        if (application := APPLICATION.get()) is not None:
            entry["application"] = application
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TransientBotApiErrors(logging.Filter):
    """Turn a library's traceback for a passing Bot API trouble (a 5xx, a timeout, a dropped
    connection, a flood wait) into one WARNING line; cardbot retries those calls itself."""

    MAX_DETAIL = 120

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; shorten it when it is a transient Bot API error."""
        from telegram.error import BadRequest, NetworkError, RetryAfter

        error = record.exc_info[1] if record.exc_info else None
        transient = isinstance(error, NetworkError | RetryAfter) and not isinstance(
            error, BadRequest
        )
        if record.name.startswith("telegram") and "Rate limit hit" in record.getMessage():
            transient, error = True, None
        if not transient or record.levelno < logging.WARNING:
            return True
        detail = " ".join(re.sub(r"<[^>]*>", " ", str(error or record.getMessage())).split())
        what = f"{error.__class__.__name__}: " if error is not None else ""
        record.msg = f"Bot API trouble, retried: {what}{detail[: self.MAX_DETAIL]}"
        record.args = ()
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_libraries() -> None:
    """Keep libraries that would log tokens or message contents, or chatter, at WARNING and
    above."""
    for name in (*NOISY_LIBRARIES, *CHATTY_LIBRARIES):
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(
    stream: TextIO | None = None, level: int = logging.INFO, *, as_json: bool = False
) -> None:
    """Log to `stream` (stderr by default) at `level`, redacted, libraries kept quiet; one
    JSON object per line when `as_json`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else RedactingFormatter(LOG_FORMAT))
    handler.addFilter(TransientBotApiErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # library warnings become log lines (JSON ones too)
    quiet_libraries()
