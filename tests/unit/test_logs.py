"""The log formatter: a second line of defence that hides personal values and the token."""

from __future__ import annotations

import contextvars
import io
import json
import logging

from cardbot.core.log_context import UPDATE, about_application
from cardbot.logs import (
    LOG_FORMAT,
    JsonFormatter,
    RedactingFormatter,
    TransientBotApiErrors,
    redact,
)
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


NGINX_502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n</body>\r\n</html>"


def logged_through_cardbot(logger: str, level: int, message: str, error: Exception | None) -> str:
    """What cardbot's log handler writes for one library record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    handler.addFilter(TransientBotApiErrors())
    library = logging.getLogger(logger)
    library.addHandler(handler)
    library.propagate = False
    try:
        raise error if error is not None else RuntimeError("unused")
    except Exception:
        library.log(level, message, exc_info=error is not None)
    finally:
        library.removeHandler(handler)
        library.propagate = True
    return stream.getvalue()


def test_a_bad_gateway_from_the_bot_api_is_one_warning_line_without_the_html() -> None:
    from telegram.error import BadRequest, NetworkError

    written = logged_through_cardbot(
        "telegram.ext.Updater",
        logging.ERROR,
        "Exception happened while polling for updates.",
        NetworkError(f"Bad Gateway: {NGINX_502}"),
    )
    assert written.count("\n") == 1 and "WARNING" in written and "ERROR" not in written
    assert "Traceback" not in written and "<html>" not in written
    assert "NetworkError: Bad Gateway: 502 Bad Gateway" in written

    refused = logged_through_cardbot(
        "telegram.ext.Application", logging.ERROR, "No error handlers", BadRequest("wrong")
    )
    assert "ERROR" in refused and "Traceback" in refused  # a refusal is not transient


def test_a_rate_limit_the_library_gave_up_on_is_a_warning_we_retry() -> None:
    written = logged_through_cardbot(
        "telegram.ext.AIORateLimiter",
        logging.ERROR,
        "Rate limit hit after maximum of 5 retries",
        None,
    )
    assert written.count("\n") == 1 and "WARNING" in written and "retried" in written
