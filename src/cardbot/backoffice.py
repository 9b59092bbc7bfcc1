"""Delivery of queued back-office notifications (the webhook outbox) as signed HTTP POSTs.

Rows are written by `SqlOutbox.add` in the transaction that changes an application, and sent
here at least once: a row is marked delivered only after a 2xx answer, so a crash between the
answer and the mark sends it again. The back office deduplicates by `X-Cardbot-Delivery`.

Several processes may deliver from one database. A round first claims its rows in a short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite) by pushing their
`next_attempt_at` past the time the round may take, so no other process picks them up meanwhile.
Payloads are personal data: they are sent, never logged, and never copied into `last_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cardbot.core.ports import Clock
from cardbot.db.models import WebhookOutboxRow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Cardbot-Signature"
DELIVERY_HEADER = "X-Cardbot-Delivery"
MAX_BACKOFF_SECONDS = 600
# Time per claimed row on top of the HTTP timeout, for recording the outcome.
CLAIM_MARGIN_SECONDS = 5.0
ERROR_LENGTH = 200


def sign(body: bytes, secret: str) -> str:
    """The signature header value of `body`: "sha256=" and the hex HMAC-SHA256 under `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 2**attempts seconds, at most 10 min."""
    # 2**10 already exceeds the cap; bounding the exponent keeps huge counts cheap.
    return timedelta(seconds=min(2 ** min(max(attempts, 0), 10), MAX_BACKOFF_SECONDS))


@dataclass(frozen=True)
class _Claimed:
    """A row claimed for one delivery attempt."""

    id: int
    body: bytes


class OutboxDelivery:
    """Sends due outbox rows to the back office and records each outcome."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        url: str,
        secret: str,
        clock: Clock,
        *,
        timeout: float = 10.0,
        batch: int = 20,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.sessions = sessions
        self.url = url
        self.secret = secret
        self.clock = clock
        self.timeout = timeout
        self.batch = batch

    async def deliver_due(self) -> int:
        """Send every due undelivered row (up to `batch`) once; return how many were delivered."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        delivered = 0
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for row in claimed:
                error = await self._post(client, row)
                if error is None:
                    await asyncio.to_thread(self._mark_delivered, row.id)
                    delivered += 1
                else:
                    log.warning("back-office delivery %d failed: %s", row.id, error)
                    await asyncio.to_thread(self._mark_failed, row.id, error)
        return delivered

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Deliver due rows every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            full = False
            try:
                full = await self.deliver_due() >= self.batch
            except Exception:
                # Payloads are never bound into a statement or request error, so the trace
                # cannot carry one.
                log.exception("back-office delivery round failed")
            if full:
                continue  # more rows may be due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def _post(self, client: httpx.AsyncClient, row: _Claimed) -> str | None:
        """POST one row; None on a 2xx answer, otherwise a short description of the failure."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(row.body, self.secret),
            DELIVERY_HEADER: str(row.id),
        }
        try:
            # httpx times each phase; the outer bound also caps a slowly trickling answer.
            async with asyncio.timeout(self.timeout):
                response = await client.post(self.url, content=row.body, headers=headers)
        except Exception as exc:  # timeouts, refused connections, TLS and protocol errors
            return type(exc).__name__[:ERROR_LENGTH]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def _claim(self) -> list[_Claimed]:
        """Take the due rows for this round, hiding them from other processes meanwhile."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            rows = session.execute(
                select(WebhookOutboxRow.id, WebhookOutboxRow.payload)
                .where(
                    WebhookOutboxRow.delivered_at.is_(None),
                    WebhookOutboxRow.next_attempt_at <= now,
                )
                .order_by(WebhookOutboxRow.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True)  # SQLite ignores it and locks the database
            ).all()
            if not rows:
                return []
            # Rows are sent one after another, so the claim covers the whole round.
            held = timedelta(seconds=(self.timeout + CLAIM_MARGIN_SECONDS) * len(rows))
            session.execute(
                update(WebhookOutboxRow)
                .where(WebhookOutboxRow.id.in_([row.id for row in rows]))
                .values(next_attempt_at=now + held)
                .execution_options(synchronize_session=False)
            )
        return [_Claimed(row.id, row.payload.encode("utf-8")) for row in rows]

    def _mark_delivered(self, row_id: int) -> None:
        """Record a 2xx answer."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            session.execute(
                update(WebhookOutboxRow)
                .where(WebhookOutboxRow.id == row_id, WebhookOutboxRow.delivered_at.is_(None))
                .values(delivered_at=now, last_error=None)
                .execution_options(synchronize_session=False)
            )

    def _mark_failed(self, row_id: int, error: str) -> None:
        """Record a failed attempt and when to try again."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            row = session.get(WebhookOutboxRow, row_id, with_for_update=True)
            if row is None or row.delivered_at is not None:
                return
            row.attempts += 1
            row.last_error = error[:ERROR_LENGTH]
            row.next_attempt_at = now + backoff(row.attempts)
