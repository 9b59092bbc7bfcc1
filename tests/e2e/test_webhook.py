"""`cardbot run --webhook`: updates posted by the Bot API stand-in, health and metrics,
refused requests, and stops (SIGTERM, SIGKILL) that lose no acknowledged update."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot
from telegram.error import Conflict

from cardbot.__main__ import main
from cardbot.config import DEFAULT_WEBHOOK_LISTEN, ConfigError, Settings, load_settings
from cardbot.runtime import Runtime, build_runtime
from cardbot.telegram.bot import build_application
from cardbot.telegram.jobs import background_jobs
from cardbot.telegram.webhook import (
    SECRET_HEADER,
    HttpServer,
    serve_polling_with_monitoring,
    serve_webhook,
)
from tests.e2e.conftest import TOKEN, RunningBot
from tests.e2e.test_application_flow import Person
from tests.e2e.test_run_command import start_process as start_run
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeUser
from tests.support.harness import DIALOGS, FAQ, VALID_PHONE
from tests.support.log_audit import PERSONAL_VALUES

SECRET = "s3cret-Token_for-tests"
BOT_ID = 123456  # the stand-in's bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def text_update(update_id: int, user: FakeUser, text: str) -> dict[str, Any]:
    """A private text message update, as Telegram posts it."""
    message: dict[str, Any] = {
        "message_id": update_id % 100_000,
        "date": int(time.time()),
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": user.to_json(),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


def inbox_rows(data_dir: Path) -> int:
    with contextlib.closing(sqlite3.connect(data_dir / "cardbot.db")) as db:
        (count,) = db.execute("SELECT count(*) FROM telegram_inbox").fetchone()
        return int(count)


Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def metric_values(exposition: str) -> Metrics:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def scrape_until(
    base_url: str, condition: Callable[[Metrics], bool], timeout: float = 30
) -> Metrics:
    """Scrape /metrics (plain-text exposition) until `condition` holds; fail after `timeout`."""

    async def poll() -> Metrics:
        async with httpx.AsyncClient() as client:
            while True:
                scraped = await client.get(f"{base_url}/metrics")
                assert scraped.status_code == 200
                assert scraped.headers["content-type"].startswith("text/plain")
                values = metric_values(scraped.text)
                if condition(values):
                    return values
                await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


async def stopping(base_url: str) -> None:
    """Wait until the server reports that it is stopping (/healthz answers 503)."""

    async def poll() -> None:
        async with httpx.AsyncClient() as client:
            while (await client.get(f"{base_url}/healthz")).status_code != 503:
                await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), 30)


# --------------------------------------------------------------------------- in this process


class WebhookBot:
    """cardbot served by webhook in this event loop (see serve_webhook)."""

    def __init__(self, api: BotApiStandIn, workdir: Path, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.settings = Settings(
            data_dir=self.data_dir,
            database_url=f"sqlite:///{self.data_dir / 'cardbot.db'}",
            dialogs_dir=DIALOGS,
            bot_api_url=api.base_url,
            token=TOKEN,
            faq_dir=FAQ,
            webhook_listen=("127.0.0.1", self.port),
            public_url=self.url,
            telegram_secret_token=SECRET,
            **settings,
        )
        self.runtime: Runtime | None = None
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.runtime = await asyncio.to_thread(build_runtime, self.settings)
        application = build_application(self.runtime)
        ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(
            serve_webhook(
                application,
                self.runtime,
                self.stopping,
                ready,
                background_jobs(self.runtime, application),
            )
        )
        waiting = asyncio.ensure_future(ready.wait())
        await asyncio.wait({waiting, self.task}, return_when=asyncio.FIRST_COMPLETED, timeout=20)
        waiting.cancel()
        if self.task.done():
            self.task.result()  # raises what stopped it
        assert ready.is_set(), "the webhook server did not start"

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None and not self.task.done():
            await asyncio.wait_for(self.task, 30)
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None


@pytest.fixture
async def hooked(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[WebhookBot]:
    running = WebhookBot(api, tmp_path)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_the_bot_points_telegram_at_itself_and_answers_through_it(
    api: BotApiStandIn, hooked: WebhookBot
) -> None:
    assert api.webhook is not None
    assert (api.webhook.url, api.webhook.secret_token) == (f"{hooked.url}/telegram", SECRET)
    _method, params = next(call for call in api.calls if call[0] == "setWebhook")
    assert params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert params.get("drop_pending_updates") in (None, False)
    person = Person(api, FakeUser(901, "W", language_code="zh-hans"))
    _welcome, consent = await person.say("/start", replies=2)
    assert "个人信息" in consent.plain
    (category,) = await person.tap("同意")
    assert "申请人类型" in category.plain
    assert all(delivery.ok for delivery in api.webhook_deliveries)
    assert not [call for call in api.calls if call[0] == "getUpdates"]


async def test_requests_without_the_secret_token_are_refused_and_change_nothing(
    api: BotApiStandIn, hooked: WebhookBot
) -> None:
    stranger = FakeUser(902, "Mallory", language_code="zh-hans")
    forged = text_update(55_555, stranger, "/start")
    endpoint = f"{hooked.url}/telegram"
    async with httpx.AsyncClient() as client:
        missing = await client.post(endpoint, json=forged)
        wrong = await client.post(endpoint, json=forged, headers={SECRET_HEADER: "guess"})
        longer = await client.post(endpoint, json=forged, headers={SECRET_HEADER: SECRET + "x"})
    assert (missing.status_code, wrong.status_code, longer.status_code) == (401, 403, 403)
    await api.wait_idle(quiet=0.5)
    assert api.messages_to(stranger.id) == []
    assert inbox_rows(hooked.data_dir) == 0
    assert hooked.runtime is not None
    exposition = hooked.runtime.metrics.exposition().decode()
    assert (
        metric_values(exposition)[("cardbot_updates_handled_total", (("kind", "message"),))] == 0
    )


async def test_malformed_and_oversized_bodies_are_refused(
    api: BotApiStandIn, hooked: WebhookBot
) -> None:
    endpoint = f"{hooked.url}/telegram"
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    user = FakeUser(903, "B")
    async with httpx.AsyncClient() as client:
        statuses = [
            (await client.post(endpoint, content=body, headers=headers)).status_code
            for body in (
                b"{not json",
                b"\xff\xfe",
                b"[1, 2]",
                b'{"update_id": "7"}',
                b'{"update_id": true}',
                json.dumps({"update_id": 7, "message": "not an object"}).encode(),
            )
        ]
        big = text_update(56_000, user, "/start")
        big["message"]["padding"] = "x" * (2 * 1024 * 1024)
        too_big = await client.post(endpoint, json=big, headers=headers)
    assert statuses == [400] * 6
    assert too_big.status_code == 413
    assert inbox_rows(hooked.data_dir) == 0
    assert api.messages_to(user.id) == []


async def test_an_update_delivered_twice_is_applied_once(
    api: BotApiStandIn, hooked: WebhookBot
) -> None:
    person = Person(api, FakeUser(904, "D", language_code="zh-hans"))
    api.send_text(person.user, "/start")
    await person.replies(2)
    first = api.webhook_deliveries[-1].update_id
    api.redeliver(first)  # Telegram did not get the 200 in time and posts it again
    await api.wait_until(
        lambda: sum(d.update_id == first and d.ok for d in api.webhook_deliveries) == 2,
        what="the second delivery",
    )
    async with httpx.AsyncClient() as client:
        again = await client.post(
            f"{hooked.url}/telegram",
            json=text_update(first, person.user, "/start"),
            headers={SECRET_HEADER: SECRET},
        )
    assert again.status_code == 200
    await person.no_more_messages()
    await person.tap("同意")


async def test_health_and_metrics_on_the_webhook_server(
    api: BotApiStandIn, hooked: WebhookBot
) -> None:
    person = Person(api, FakeUser(905, "H", language_code="zh-hans"))
    await person.begin("个人")
    await person.say("办理需要多久？")  # a question in the middle of the application
    handled = ("cardbot_updates_handled_total", (("kind", "message"),))
    pressed = ("cardbot_updates_handled_total", (("kind", "callback_query"),))

    def counted(values: Metrics) -> bool:
        """An update is counted after its replies went out: wait for the last one too."""
        return values.get(handled, 0) >= 2 and values.get(pressed, 0) >= 2

    values = await scrape_until(hooked.url, counted)
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{hooked.url}/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert values[("cardbot_replies_sent_total", ())] >= 5
    assert values[("cardbot_applications", (("status", "draft"),))] == 1
    assert values[("cardbot_applications", (("status", "submitted"),))] == 0
    faq = sum(v for (name, _), v in values.items() if name == "cardbot_faq_questions_total")
    assert faq >= 1


async def test_a_stop_finishes_updates_in_flight_and_refuses_new_ones(
    api: BotApiStandIn, hooked: WebhookBot
) -> None:
    person = await at_the_photo_step(api, FakeUser(906, "S", language_code="zh-hans"))
    hooked.stopping.set()  # as on SIGTERM, while the photo is being handled
    endpoint = f"{hooked.url}/telegram"
    await stopping(hooked.url)
    async with httpx.AsyncClient() as client:
        late = await client.post(
            endpoint,
            json=text_update(57_000, person.user, "/help"),
            headers={SECRET_HEADER: SECRET},
        )
    assert late.status_code == 503
    api.release_downloads()
    (after_photo,) = await person.replies(1)
    assert "国徽面" in after_photo.plain
    assert hooked.task is not None
    await asyncio.wait_for(hooked.task, 30)
    assert inbox_rows(hooked.data_dir) == 0


async def test_updates_kept_in_the_inbox_are_handled_at_start(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    user = FakeUser(907, "R", language_code="zh-hans")
    api.add_chat(user)
    running = WebhookBot(api, tmp_path)
    seeding = await asyncio.to_thread(build_runtime, running.settings)
    # acknowledged to Telegram and kept, but not handled, when the process died
    seeding.inbox.store(BOT_ID, {58_000: json.dumps(text_update(58_000, user, "/start"))})
    seeding.close()
    await running.start()
    try:
        person = Person(api, user)
        _welcome, consent = await person.replies(2)
        assert "个人信息" in consent.plain
        await api.wait_until(lambda: inbox_rows(running.data_dir) == 0, what="an empty inbox")
    finally:
        await running.stop()


async def test_long_polling_serves_health_and_metrics_on_their_own_address(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    port = free_port()
    polling = RunningBot(api, tmp_path, None, metrics_listen=("127.0.0.1", port))
    runtime = await asyncio.to_thread(build_runtime, polling.settings)
    application = build_application(runtime)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve_polling_with_monitoring(application, runtime, stop, ready))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        person = Person(api, FakeUser(908, "M", language_code="zh-hans"))
        await person.say("/start", replies=2)
        handled = ("cardbot_updates_handled_total", (("kind", "message"),))
        values = await scrape_until(
            f"http://127.0.0.1:{port}", lambda values: values.get(handled, 0) >= 1
        )
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            webhook = await client.post(f"http://127.0.0.1:{port}/telegram", json={})
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert values[handled] == 1
        assert values[("cardbot_replies_sent_total", ())] == 2
        assert webhook.status_code in (404, 405)  # no webhook in polling mode
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        runtime.close()


async def test_an_address_in_use_is_a_config_error_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer(web.Application(), ("127.0.0.1", port), "CARDBOT_WEBHOOK_LISTEN")
        with pytest.raises(
            ConfigError, match=f"^CARDBOT_WEBHOOK_LISTEN: cannot listen on .*{port}"
        ):
            await server.open()


# --------------------------------------------------------------------------- the stand-in


class Receiver:
    """A webhook endpoint for the stand-in: records requests, answers 503 to the first
    `refusals[update_id]` deliveries of an update, 200 otherwise."""

    def __init__(self) -> None:
        self.refusals: dict[int, int] = {}
        self.requests: list[tuple[int, str | None]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        update_id = (await request.json())["update_id"]
        self.requests.append((update_id, request.headers.get(SECRET_HEADER)))
        if self.refusals.get(update_id, 0) > 0:
            self.refusals[update_id] -= 1
            return web.Response(status=503)
        return web.Response()

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_the_stand_in_posts_updates_to_a_webhook_like_telegram(api: BotApiStandIn) -> None:
    alice, bob = FakeUser(911, "Alice"), FakeUser(912, "Bob")
    async with Receiver() as receiver, Bot(TOKEN, base_url=f"{api.base_url}/bot") as bot:
        first, second = api.send_text(alice, "one"), api.send_text(alice, "two")
        third = api.send_text(bob, "three")
        receiver.refusals = {first: 1, third: 2}
        assert await bot.set_webhook(receiver.url, secret_token="tok_1", max_connections=2)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert (info.url, info.max_connections) == (receiver.url, 2)
        await api.wait_until(
            lambda: sum(d.ok for d in api.webhook_deliveries) == 3, what="every update delivered"
        )
        # refused updates come again, one user's in order; each is acknowledged once
        ids = [update_id for update_id, _ in receiver.requests]
        assert [i for i in ids if i != third] == [first, first, second]
        assert ids.count(third) == 3
        assert {secret for _, secret in receiver.requests} == {"tok_1"}
        delivered = sorted(d.update_id for d in api.webhook_deliveries if d.ok)
        assert delivered == [first, second, third]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message is not None and "503" in info.last_error_message

        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        fourth = api.send_text(bob, "four")
        assert [u.update_id for u in await bot.get_updates()] == [fourth]
    assert fourth not in [update_id for update_id, _ in receiver.requests]


async def test_the_stand_in_refuses_a_bad_secret_token(api: BotApiStandIn) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{api.base_url}/bot{TOKEN}/setWebhook",
            json={"url": "http://127.0.0.1:9/hook", "secret_token": "no spaces allowed"},
        )
    assert response.status_code == 400
    assert api.webhook is None


# --------------------------------------------------------------------------- settings


def env(**values: str) -> dict[str, str]:
    return {"CARDBOT_DIALOGS_DIR": str(DIALOGS), "CARDBOT_DATA_DIR": "/tmp/cardbot-x"} | values


def test_webhook_settings_default_to_a_local_listener() -> None:
    settings = load_settings(env())
    assert settings.webhook_listen == DEFAULT_WEBHOOK_LISTEN == ("127.0.0.1", 8080)
    assert settings.telegram_webhook_path == "/telegram"
    assert settings.public_url is None and settings.telegram_secret_token is None
    assert settings.metrics_listen is None


def test_webhook_settings_are_read() -> None:
    settings = load_settings(
        env(
            CARDBOT_WEBHOOK_LISTEN="[::1]:8443",
            CARDBOT_METRICS_LISTEN="0.0.0.0:9100",
            CARDBOT_TELEGRAM_WEBHOOK_PATH="/tg/hook-7Xq",
            CARDBOT_PUBLIC_URL="https://bot.example.com/cardbot/",
            CARDBOT_TELEGRAM_SECRET_TOKEN="A" * 256,
        )
    )
    assert settings.webhook_listen == ("::1", 8443)
    assert settings.metrics_listen == ("0.0.0.0", 9100)
    assert settings.require_public_url() == "https://bot.example.com/cardbot/tg/hook-7Xq"
    assert "AAAA" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CARDBOT_WEBHOOK_LISTEN", "8080", "HOST:PORT"),
        ("CARDBOT_WEBHOOK_LISTEN", "127.0.0.1:0", "HOST:PORT"),
        ("CARDBOT_WEBHOOK_LISTEN", "127.0.0.1:70000", "HOST:PORT"),
        ("CARDBOT_METRICS_LISTEN", "host name:80", "HOST:PORT"),
        ("CARDBOT_PUBLIC_URL", "bot.example.com", "http(s) URL"),
        ("CARDBOT_PUBLIC_URL", "http://bot.example.com", "HTTPS only"),
        ("CARDBOT_PUBLIC_URL", "https://bot.example.com:8080", "ports 443, 80, 88 and 8443"),
        ("CARDBOT_PUBLIC_URL", "https://bot.example.com/?a=1", "query"),
        ("CARDBOT_PUBLIC_URL", "https://bot.example.com:x", "not a URL"),
        ("CARDBOT_TELEGRAM_SECRET_TOKEN", "has space", "1 to 256 characters"),
        ("CARDBOT_TELEGRAM_SECRET_TOKEN", "a" * 257, "1 to 256 characters"),
        ("CARDBOT_TELEGRAM_WEBHOOK_PATH", "telegram", "URL path"),
        ("CARDBOT_TELEGRAM_WEBHOOK_PATH", "/metrics", "URL path"),
    ],
)
def test_bad_webhook_settings_are_named(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env(**{name: value}))
    assert str(raised.value).startswith(name)
    assert says in str(raised.value)


def test_a_self_hosted_bot_api_server_may_call_an_http_webhook() -> None:
    settings = load_settings(
        env(CARDBOT_BOT_API_URL="http://127.0.0.1:8081", CARDBOT_PUBLIC_URL="http://10.0.0.5:9000")
    )
    assert settings.require_public_url() == "http://10.0.0.5:9000/telegram"


def test_run_webhook_without_a_public_url_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("CARDBOT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CARDBOT_TOKEN", TOKEN)
    monkeypatch.setenv("CARDBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CARDBOT_DIALOGS_DIR", str(DIALOGS))
    assert main(["run", "--webhook"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("cardbot: CARDBOT_PUBLIC_URL is not set")
    assert "\n" not in error


# --------------------------------------------------------------------------- a real process


async def start_process(
    api: BotApiStandIn, workdir: Path, port: int, **overrides: str
) -> asyncio.subprocess.Process:
    calls_before = sum(1 for method, _ in api.calls if method == "setWebhook")
    listen = {
        "CARDBOT_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "CARDBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = await start_run(api, workdir, "--webhook", **(listen | overrides))
    try:
        await api.wait_until(
            lambda: (
                sum(1 for method, _ in api.calls if method == "setWebhook") > calls_before
                or process.returncode is not None
            ),
            timeout=60,
            what="the bot setting its webhook",
        )
    except TimeoutError:
        process.kill()
        raise
    assert process.returncode is None, "the bot stopped at start"
    return process


async def stop_process(process: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> str:
    process.send_signal(sig)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return stdout.decode() + stderr.decode()


async def test_webhook_run_serves_an_applicant_with_health_and_metrics(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    port = free_port()
    process = await start_process(api, tmp_path, port, CARDBOT_TELEGRAM_SECRET_TOKEN=SECRET)
    base = f"http://127.0.0.1:{port}"
    person = Person(api, FakeUser(921, "P", language_code="zh-hans"))
    try:
        await person.begin_with_resident_id("个人")
        await person.say(VALID_PHONE)
        await person.album([files.photo(seed=41), files.photo(seed=42)])
        (done,) = await person.tap("确认提交")
        assert "DX-" in done.plain
        stranger = FakeUser(922, "Mallory")
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                f"{base}/telegram",
                json=text_update(59_000, stranger, "/start"),
                headers={SECRET_HEADER: "not-the-secret"},
            )
            health = await client.get(f"{base}/healthz")
            scraped = await client.get(f"{base}/metrics")
        assert refused.status_code == 403
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        values = metric_values(scraped.text)
        assert values[("cardbot_updates_handled_total", (("kind", "message"),))] >= 5
        assert values[("cardbot_updates_handled_total", (("kind", "callback_query"),))] >= 3
        assert values[("cardbot_applications", (("status", "submitted"),))] == 1
        assert values[("cardbot_applications", (("status", "draft"),))] == 0
        await api.wait_idle(quiet=0.5)
        assert api.messages_to(stranger.id) == []
        assert inbox_rows(tmp_path / "data") == 0
    finally:
        log = await stop_process(process)
    assert process.returncode == 0, log
    assert TOKEN.split(":")[1] not in log and SECRET not in log
    assert not [value for value in PERSONAL_VALUES if value in log], log
    assert not [call for call in api.calls if call[0] == "getUpdates"]


async def at_the_photo_step(api: BotApiStandIn, user: FakeUser) -> Person:
    """An applicant whose ID photo is being downloaded, the download held by the stand-in."""
    person = Person(api, user)
    await person.begin_with_resident_id("个人")
    await person.say(VALID_PHONE)
    photo = files.photo(seed=user.id)
    api.hold_download(photo)
    api.send_photo(person.user, photo)
    await api.wait_until(lambda: bool(api.held_downloads), 15, "the download to start")
    return person


async def test_sigterm_during_a_burst_loses_no_update(api: BotApiStandIn, tmp_path: Path) -> None:
    port = free_port()
    users = [FakeUser(930 + i, f"U{i}", language_code="zh-hans") for i in range(12)]
    process = await start_process(api, tmp_path, port)
    try:
        slow = await at_the_photo_step(api, FakeUser(929, "Slow"))
        sent = {api.send_text(user, "/start"): user for user in users[:6]}
        process.send_signal(signal.SIGTERM)  # while those are in flight
        await stopping(f"http://127.0.0.1:{port}")
        sent |= {api.send_text(user, "/start"): user for user in users[6:]}
        await api.wait_until(
            lambda: any(d.status == 503 for d in api.webhook_deliveries),
            what="the stopping bot refusing an update",
        )
        api.release_downloads()  # the photo in flight can now be finished
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    # Whatever the stopping bot acknowledged, it answered before it exited.
    (after_photo,) = await slow.replies(1)
    assert "国徽面" in after_photo.plain
    acknowledged = {d.update_id for d in api.webhook_deliveries if d.ok}
    for update_id, user in sent.items():
        if update_id in acknowledged:
            assert len(api.messages_to(user.id)) == 2, update_id
    assert not set(sent) <= acknowledged  # some were refused, to be delivered again

    process = await start_process(api, tmp_path, port)  # the rest come to the new process
    try:
        await api.wait_until(
            lambda: all(len(api.messages_to(user.id)) >= 2 for user in users),
            timeout=60,
            what="every user answered",
        )
        await api.wait_idle(quiet=0.5)
    finally:
        log = await stop_process(process)
    assert process.returncode == 0, log
    for user in users:
        _welcome, consent = api.messages_to(user.id)  # each update applied exactly once
        assert "个人信息" in consent.plain
    assert inbox_rows(tmp_path / "data") == 0


async def test_sigkill_loses_no_acknowledged_update(api: BotApiStandIn, tmp_path: Path) -> None:
    port = free_port()
    users = [FakeUser(950 + i, f"K{i}", language_code="zh-hans") for i in range(8)]
    process = await start_process(api, tmp_path, port)
    try:
        slow = await at_the_photo_step(api, FakeUser(949, "Slow"))
        for user in users:
            api.send_text(user, "/start")
        await api.wait_until(lambda: not api.pending_updates, what="every update acknowledged")
    finally:
        process.kill()  # the photo, acknowledged, is still being handled
        await process.wait()
    assert inbox_rows(tmp_path / "data") >= 1
    api.release_downloads()

    process = await start_process(api, tmp_path, port)
    try:
        (after_photo,) = await slow.replies(1)
        assert "国徽面" in after_photo.plain
        # An update applied but not yet answered when the process died is not applied again:
        # its replies (here: the consent question) wait in the outbox and are sent once.
        await api.wait_until(
            lambda: all(
                any("个人信息" in m.plain for m in api.messages_to(user.id)) for user in users
            ),
            timeout=60,
            what="every user asked for consent",
        )
        await api.wait_idle(quiet=0.5)
        await api.wait_until(lambda: inbox_rows(tmp_path / "data") == 0, what="an empty inbox")
    finally:
        log = await stop_process(process)
    assert process.returncode == 0, log
    assert all(len(api.messages_to(user.id)) <= 3 for user in users)
