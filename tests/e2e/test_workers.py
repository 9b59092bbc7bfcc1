"""Two `cardbot run --webhook` workers on one PostgreSQL database, behind a load balancer that
spreads each applicant's updates over both, sends some twice, and loses a worker mid-way: every
application ends exactly as it would with one process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text as sql

from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.runtime import SystemClock
from cardbot.storage.database import DatabaseDocumentStore
from cardbot.storage.keys import decode_key, generate_key
from tests.e2e.conftest import TOKEN
from tests.e2e.test_run_command import start_process
from tests.e2e.test_webhook import SECRET, free_port
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeUser, SentMessage
from tests.support.harness import VALID_ID, VALID_PHONE

NAMES = ("张三", "李四", "王五", "赵六")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Balancer:
    """Sends each webhook post to the workers in turn (skipping one that is down); every
    third post goes to both, as a retrying proxy might."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.sent: dict[int, int] = {port: 0 for port in ports}
        self.duplicated = 0
        self.session: aiohttp.ClientSession | None = None
        self.pinned: int | None = None  # every post to this worker alone, while set

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
            "Content-Type": "application/json",
        }
        if self.pinned is not None:
            status = await self._post(self.pinned, body, headers)
            return web.Response(status=502 if status is None else status)
        self.turn += 1
        order = self.ports[self.turn % 2 :] + self.ports[: self.turn % 2]
        statuses = []
        for port in order:
            status = await self._post(port, body, headers)
            if status is not None:
                statuses.append(status)
                if self.turn % 3 != 0 or len(statuses) == 2:
                    break
                self.duplicated += 1  # and on to the other worker too
        return web.Response(status=min(statuses) if statuses else 502)

    async def _post(self, port: int, body: bytes, headers: dict[str, str]) -> int | None:
        assert self.session is not None
        try:
            async with self.session.post(
                f"http://127.0.0.1:{port}/telegram", data=body, headers=headers
            ) as answer:
                self.sent[port] += 1
                return answer.status
        except aiohttp.ClientError:
            return None  # that worker is down


@pytest.fixture
async def balancer() -> AsyncIterator[tuple[Balancer, int]]:
    """The load balancer, listening on a free port, in front of two worker ports."""
    front = free_port()
    balancer = Balancer([free_port(), free_port()])
    app = web.Application()
    app.router.add_post("/telegram", balancer.forward)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", front).start()
    async with aiohttp.ClientSession() as session:
        balancer.session = session
        yield balancer, front
    await runner.cleanup()


async def start_worker(
    api: BotApiStandIn,
    workdir: Path,
    database_url: str,
    key: str,
    port: int,
    front: int,
    **overrides: str,
) -> asyncio.subprocess.Process:
    """One webhook worker with its own working and data folders, on the shared database."""
    workdir.mkdir(exist_ok=True)
    return await start_process(
        api,
        workdir,
        "--webhook",
        log=workdir / "log",
        CARDBOT_DATABASE_URL=database_url,
        CARDBOT_DOCUMENT_STORE="database",
        CARDBOT_SECRET_KEY=key,
        CARDBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        CARDBOT_PUBLIC_URL=f"http://127.0.0.1:{front}",
        CARDBOT_TELEGRAM_SECRET_TOKEN=SECRET,
        **overrides,
    )


async def until_listening(port: int) -> None:
    for _ in range(200):
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no worker listening on {port}")


class Applicant:
    """A person who goes on when the bot's answer shows the next question, and sends /start
    (as people do) when an answer seems lost."""

    def __init__(self, api: BotApiStandIn, user: FakeUser) -> None:
        self.api = api
        self.user = user

    def _messages(self) -> list[SentMessage]:
        return self.api.messages_to(self.user.id)

    async def step(self, act: Callable[[], object], expect: str) -> SentMessage:
        seen = len(self._messages())
        act()
        for attempt in range(4):
            with contextlib.suppress(AssertionError, TimeoutError):
                await self.api.wait_until(
                    lambda: (
                        any(expect in m.plain for m in self._messages()[seen:])
                        or any(
                            expect in label
                            for m in self._messages()[seen:]
                            for row in m.buttons
                            for label, _ in row
                        )
                    ),
                    # A killed worker's claim on the chat's messages runs out, then a round
                    # of the survivor sends them: up to CLAIM_LEASE and OUTBOX_INTERVAL.
                    timeout=16,
                    what=f"{expect!r} for {self.user.id}",
                )
                return self._messages()[-1]
            if attempt < 3:
                self.api.send_text(self.user, "/start")  # "hello?": the current question again
        raise AssertionError(
            f"{self.user.id} never saw {expect!r}: {[m.plain for m in self._messages()[seen:]]}"
        )

    def tap(self, label: str) -> Callable[[], object]:
        def press() -> None:
            for message in reversed(self._messages()):
                for row in message.buttons:
                    for text, data in row:
                        if label in text and data:
                            self.api.press_button(self.user, message, data)
                            return
            raise AssertionError(f"no button {label!r}")

        return press

    def say(self, text: str) -> Callable[[], object]:
        return lambda: self.api.send_text(self.user, text)

    async def apply(self, name: str, seeds: tuple[int, int], halfway: asyncio.Event) -> None:
        await self.step(self.say("/start"), "同意")
        await self.step(self.tap("同意"), "申请人类型")
        await self.step(self.tap("个人"), "真实姓名")
        await self.step(self.say(name), "居民身份证")
        halfway.set()
        await self.step(self.tap("居民身份证"), "居民身份证号")
        await self.step(self.say(VALID_ID), "联系电话")
        await self.step(self.say(VALID_PHONE), "身份证照片")
        photos = [files.photo(seed=seeds[0]), files.photo(seed=seeds[1])]
        await self.step(lambda: self.api.send_album(self.user, photos), "确认提交")
        await self.step(self.tap("确认提交"), "DX-")


@pytest.mark.postgres
async def test_two_webhook_workers_end_every_application_as_one_worker_would(
    api: BotApiStandIn,
    tmp_path: Path,
    postgres_database: str,
    balancer: tuple[Balancer, int],
) -> None:
    lb, front = balancer
    key = generate_key()
    workers = [
        await start_worker(api, tmp_path / f"w{i}", postgres_database, key, port, front)
        for i, port in enumerate(lb.ports)
    ]
    try:
        for port in lb.ports:
            await until_listening(port)
        people = [
            Applicant(api, FakeUser(950 + i, f"P{i}", language_code="zh-hans")) for i in range(4)
        ]
        halfway = asyncio.Event()
        runs = [
            asyncio.create_task(person.apply(NAMES[i], (20 + 2 * i, 21 + 2 * i), halfway))
            for i, person in enumerate(people)
        ]
        await asyncio.wait_for(halfway.wait(), 60)
        workers[1].send_signal(signal.SIGKILL)  # one worker dies mid-way
        await workers[1].wait()
        await asyncio.wait_for(asyncio.gather(*runs), 180)
        await api.wait_idle(quiet=1.0, timeout=30)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                await asyncio.wait_for(worker.wait(), 60)

    assert all(count > 0 for count in lb.sent.values()) and lb.duplicated > 0
    # Out of order, a button would be stale or a text would land on a button step.
    out_of_order = ("按钮已经失效", "请点击下面的按钮", "而不是文字")
    for person in people:
        said = [m.plain for m in api.messages_to(person.user.id)]
        assert not [text for text in said if any(sign in text for sign in out_of_order)], said
    engine = make_engine(postgres_database)
    sessions = make_session_factory(engine)
    store = DatabaseDocumentStore(sessions, decode_key(key, "key"))
    numbers = set()
    with SqlUnitOfWork(sessions, SystemClock()) as uow:
        for i, person in enumerate(people):
            applicant = uow.load_applicant(person.user.id)
            assert applicant is not None and applicant.application is not None
            app = applicant.application
            assert app.status.value == "submitted" and app.number
            numbers.add(app.number)
            assert app.answers == {
                "full_name": NAMES[i],
                "id_type": "resident_id",
                "id_number": VALID_ID,
                "phone": "+86" + VALID_PHONE,
            }
            assert store.read(app.documents["id_front"].storage_key) == files.photo(
                seed=20 + 2 * i
            )
            assert store.read(app.documents["id_back"].storage_key) == files.photo(seed=21 + 2 * i)
            history = [e.event for e in uow.audit.history(app.number)]
            assert history.count("submitted") == 1
    engine.dispose()
    assert len(numbers) == len(people)
    # A duplicate that reaches a worker after its update was handled is answered as a button
    # press already answered; nothing else is refused (the sending limits are shared).
    refused = {(method, status) for method, status, _ in api.errors}
    allowed = {("answerCallbackQuery", 400)}
    assert refused <= allowed, api.errors


@pytest.mark.postgres
async def test_an_update_left_by_a_worker_killed_after_acknowledging_it_is_answered_in_seconds(
    api: BotApiStandIn,
    tmp_path: Path,
    postgres_database: str,
    balancer: tuple[Balancer, int],
) -> None:
    lb, front = balancer
    key = generate_key()
    workers = [
        await start_worker(api, tmp_path / f"w{i}", postgres_database, key, port, front)
        for i, port in enumerate(lb.ports)
    ]
    person = FakeUser(990, "Q", language_code="zh-hans")
    # The user's lock held as by a worker busy with their previous update: the first worker
    # keeps and acknowledges the update, then waits for the lock, and dies there.
    engine = make_engine(postgres_database)
    lock = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        for port in lb.ports:
            await until_listening(port)
        lock.execute(sql("SELECT pg_advisory_lock(:key)"), {"key": person.id})
        lb.pinned = lb.ports[0]
        update_id = api.send_text(person, "/start")
        await api.wait_until(
            lambda: any(d.update_id == update_id and d.ok for d in api.webhook_deliveries),
            timeout=20,
            what="the first worker acknowledging the update",
        )
        workers[0].send_signal(signal.SIGKILL)
        await workers[0].wait()
        lb.pinned = None
        lock.execute(sql("SELECT pg_advisory_unlock(:key)"), {"key": person.id})
        # Nobody writes again: the survivor finds the update itself.
        await api.wait_until(
            lambda: any(
                "同意" in label
                for m in api.messages_to(person.id)
                for row in m.buttons
                for label, _ in row
            ),
            timeout=20,
            what="the consent question, sent by the surviving worker",
        )
        await api.wait_idle(quiet=1.0, timeout=30)
    finally:
        lock.close()
        engine.dispose()
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                await asyncio.wait_for(worker.wait(), 60)
    assert api.pending_updates == []
    said = [m.plain for m in api.messages_to(person.id)]
    assert len(said) == 2, said  # the welcome and the consent question, once each
    log = (tmp_path / "w1" / "log").read_text()
    assert "taking over update" in log


@pytest.mark.postgres
async def test_two_workers_together_keep_to_the_bots_and_each_chats_limits(
    tmp_path: Path, postgres_database: str, balancer: tuple[Balancer, int]
) -> None:
    lb, front = balancer
    key = generate_key()
    limits = {"CARDBOT_MESSAGES_PER_SECOND": "8", "CARDBOT_PRIVATE_CHAT_BURST": "3"}
    people = [FakeUser(1200 + i, f"R{i}", language_code="zh-hans") for i in range(12)]
    async with BotApiStandIn(TOKEN, global_rate=8, private_chat_burst=3) as api:
        workers = [
            await start_worker(
                api, tmp_path / f"w{i}", postgres_database, key, port, front, **limits
            )
            for i, port in enumerate(lb.ports)
        ]
        try:
            for port in lb.ports:
                await until_listening(port)
            for person in people:  # everyone at once: two messages each, to be paced
                api.send_text(person, "/start")
            await api.wait_until(
                lambda: all(len(api.messages_to(p.id)) >= 2 for p in people),
                timeout=60,
                what="the welcome and the consent question for everyone",
            )
            chatty = people[0]  # and one person who types faster than one a second
            for said in ("你好", "在吗", "有人吗", "hello", "?"):
                api.send_text(chatty, said)
            await api.wait_until(
                lambda: len(api.messages_to(chatty.id)) >= 2 + 2 * 5,
                timeout=60,
                what="an answer to each of the chatty person's messages",
            )
            await api.wait_idle(quiet=1.5, timeout=60)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(worker.wait(), 60)
        assert all(count > 0 for count in lb.sent.values())
        assert not [e for e in api.errors if e[1] == 429], api.errors
        counts = [len(api.messages_to(p.id)) for p in people]
        # Each of the chatty person's texts gets an answer and the consent question again.
        assert counts == [2 + 2 * 5] + [2] * (len(people) - 1), counts
