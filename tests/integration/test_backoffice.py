"""The back-office outbox against a real HTTP server: signed, sent once, retried till delivered."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cardbot.backoffice import OutboxDelivery, sign
from cardbot.db.migrate import upgrade
from cardbot.db.models import WebhookOutboxRow
from cardbot.db.review_repositories import SqlOutbox
from cardbot.db.session import make_engine, make_session_factory

SECRET = "back-office-shared-secret-0123"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PAYLOAD = {"number": "SZ-2025-000123", "status": "approved", "applicant": "张三 Zhang San"}


@dataclass
class Clock:
    """A clock the test moves by hand."""

    current: datetime

    def now(self) -> datetime:
        return self.current


@dataclass(frozen=True)
class Received:
    """One request as the back office saw it."""

    body: bytes
    headers: dict[str, str]
    signature_valid: bool


class BackOffice:
    """A real aiohttp server on 127.0.0.1 that checks signatures and answers with `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[Received] = []
        self.arrived = asyncio.Event()
        self.port = 0  # a free port on first start, the same one on restarts
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cardbot/notifications"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cardbot/notifications", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        claimed = request.headers.get("X-Cardbot-Signature", "")
        valid = hmac.compare_digest(sign(body, SECRET), claimed)
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.received.append(Received(body, headers, valid))
        self.arrived.set()
        return web.Response(status=self.status if valid else 401)


@pytest.fixture
async def back_office() -> AsyncIterator[BackOffice]:
    server = BackOffice()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@contextmanager
def database(url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(url)
    engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with database(f"sqlite:///{tmp_path / 'cardbot.db'}") as factory:
        yield factory


def queue(sessions: sessionmaker[Session], clock: Clock, payload: dict[str, Any]) -> int:
    """Queue a notification the way the application does; return its row id."""
    with sessions() as session:
        SqlOutbox(session, clock).add(payload)
        session.commit()
        return max(session.execute(select(WebhookOutboxRow.id)).scalars())


def stored(sessions: sessionmaker[Session], row_id: int) -> WebhookOutboxRow:
    with sessions() as session:
        row = session.get(WebhookOutboxRow, row_id)
        assert row is not None
        return row


def test_signature_is_sha256_hmac_of_the_body_in_hex() -> None:
    # The well-known HMAC-SHA256 test vector, so the back office can verify with any library.
    assert sign(b"The quick brown fox jumps over the lazy dog", "key") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


async def test_a_queued_notification_is_posted_once_signed_and_marked_delivered(
    database_url: str, back_office: BackOffice, clock: Clock
) -> None:
    with database(database_url) as sessions:
        row_id = queue(sessions, clock, PAYLOAD)
        delivery = OutboxDelivery(sessions, back_office.url, SECRET, clock)

        assert await delivery.deliver_due() == 1

        [request] = back_office.received
        assert request.signature_valid
        assert request.body == stored(sessions, row_id).payload.encode("utf-8")
        assert json.loads(request.body) == PAYLOAD
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-cardbot-delivery"] == str(row_id)
        row = stored(sessions, row_id)
        assert row.delivered_at == START
        assert (row.attempts, row.last_error) == (0, None)

        clock.current += timedelta(hours=1)
        assert await delivery.deliver_due() == 0
        assert len(back_office.received) == 1


async def test_a_failed_notification_is_retried_with_backoff_until_delivered(
    sessions: sessionmaker[Session],
    back_office: BackOffice,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    row_id = queue(sessions, clock, PAYLOAD)
    delivery = OutboxDelivery(sessions, back_office.url, SECRET, clock, timeout=2.0)

    back_office.status = 500
    assert await delivery.deliver_due() == 0
    row = stored(sessions, row_id)
    assert (row.delivered_at, row.attempts, row.last_error) == (None, 1, "HTTP 500")
    assert row.next_attempt_at == START + timedelta(seconds=2)

    assert await delivery.deliver_due() == 0  # backing off: not due yet
    assert len(back_office.received) == 1

    clock.current += timedelta(seconds=2)
    await back_office.stop()
    assert await delivery.deliver_due() == 0
    row = stored(sessions, row_id)
    assert (row.delivered_at, row.attempts, row.last_error) == (None, 2, "ConnectError")
    assert row.next_attempt_at == clock.current + timedelta(seconds=4)

    clock.current += timedelta(seconds=4)
    await back_office.start()
    back_office.status = 200
    assert await delivery.deliver_due() == 1
    row = stored(sessions, row_id)
    assert (row.delivered_at, row.attempts) == (clock.current, 2)

    assert [r.headers["x-cardbot-delivery"] for r in back_office.received] == [str(row_id)] * 2
    assert all(r.signature_valid for r in back_office.received)
    assert PAYLOAD["applicant"] not in caplog.text
    assert PAYLOAD["number"] not in caplog.text


async def test_a_notification_not_yet_due_is_not_sent(
    sessions: sessionmaker[Session], back_office: BackOffice, clock: Clock
) -> None:
    row_id = queue(sessions, clock, PAYLOAD)
    due = START + timedelta(minutes=1)
    with sessions.begin() as session:
        session.execute(
            update(WebhookOutboxRow)
            .where(WebhookOutboxRow.id == row_id)
            .values(next_attempt_at=due)
        )
    delivery = OutboxDelivery(sessions, back_office.url, SECRET, clock)

    assert await delivery.deliver_due() == 0
    assert back_office.received == []
    row = stored(sessions, row_id)
    assert (row.delivered_at, row.attempts, row.next_attempt_at) == (None, 0, due)

    clock.current = due
    assert await delivery.deliver_due() == 1


async def test_run_delivers_in_the_background_until_stopped(
    sessions: sessionmaker[Session], back_office: BackOffice, clock: Clock
) -> None:
    row_id = queue(sessions, clock, PAYLOAD)
    stop = asyncio.Event()
    delivery = OutboxDelivery(sessions, back_office.url, SECRET, clock)
    task = asyncio.create_task(delivery.run(stop, interval=0.05))

    await asyncio.wait_for(back_office.arrived.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=10)

    assert stored(sessions, row_id).delivered_at == START
