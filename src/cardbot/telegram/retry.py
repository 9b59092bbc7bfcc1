"""Bot API calls that outlast Telegram's bad moments: flood waits, 5xx answers, lost
connections. A refusal (400, 403) is final and raised at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_FOR = 300.0  # seconds: longer than Telegram's usual flood waits and brief outages
MAX_BACKOFF = 8.0


async def retrying(call: Callable[[], Awaitable[T]], *, give_up_after: float = RETRY_FOR) -> T:
    """Make a Bot API call, again after a 429 (waiting as told), a 5xx or a dropped
    connection (backing off), until it succeeds or `give_up_after` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    attempt = 0
    while True:
        try:
            return await call()
        except (BadRequest, Forbidden):
            raise
        except RetryAfter as exc:
            delay = exc.retry_after
            wait = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            problem = "flood wait"
        except NetworkError as exc:
            wait = min(0.5 * 2**attempt, MAX_BACKOFF)
            problem = exc.__class__.__name__
        attempt += 1
        if loop.time() + wait > deadline:
            raise
        log.info("Bot API call failed (%s), retrying in %.1f s", problem, wait)
        await asyncio.sleep(wait)
