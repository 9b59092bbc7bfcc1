"""The log formatter: a second line of defence that hides personal values and the token."""

from __future__ import annotations

import contextvars
import io
import json
import logging

from cardbot.core.log_context import UPDATE, about_application
from cardbot.logs import JsonFormatter, RedactingFormatter, redact
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_ids_phones_codes_passports_and_tokens_are_replaced() -> None:
    line = (
        f"id {VALID_ID} old id 110105491231002 phone {VALID_PHONE} +86 138-0013-8000 "
        f"code {VALID_USCC} passport E12345678 url /bot{TOKEN}/sendMessage"
    )
    assert redact(line) == (
        "id [id] old id [id] phone [phone] [phone] code [code] passport [passport] "
        "url /bot[token]/sendMessage"
    )


def test_ids_the_log_needs_are_kept() -> None:
    line = "update 123456789 user 5012345678 chat -1009876543210 DX-2026-000001 at 2026-11-29"
    assert redact(line) == line


def test_a_traceback_is_redacted_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logger = logging.getLogger("cardbot.test_logs")
    logger.propagate = False  # keep this deliberate leak out of the run-wide log audit
    logger.addHandler(handler)
    try:
        raise ValueError(f"bad value {VALID_ID}")
    except ValueError:
        logger.exception("failed for %s", VALID_PHONE)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert VALID_ID not in text and VALID_PHONE not in text
    assert "ValueError: bad value [id]" in text


def test_json_lines_carry_the_update_and_application_but_no_personal_values() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cardbot.test_json")
    logger.propagate = False
    logger.addHandler(handler)
    context = contextvars.copy_context()

    def work() -> None:
        UPDATE.set("tg:1:42")
        about_application("DX-2026-000007")
        logger.info("checked %s", VALID_PHONE)
        try:
            raise RuntimeError(VALID_ID)
        except RuntimeError:
            logger.exception("failed")

    try:
        context.run(work)
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["update"] == "tg:1:42" and first["application"] == "DX-2026-000007"
    assert first["message"] == "checked [phone]" and first["level"] == "INFO"
    assert "RuntimeError: [id]" in second["error"] and VALID_ID not in stream.getvalue()
