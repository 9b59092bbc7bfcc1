"""`cardbot run --webhook`: Telegram posts each update to this server, which loses none.

An update is acknowledged (200) only after it is stored in the database inbox, so one Telegram
was told about is never lost: it is handed to the application's update processor (through the
same UpdateDispatcher as long polling) and leaves the inbox once handled; at start, what the
inbox still holds is handled first. A request without the secret token is refused before
anything is read or stored. On SIGTERM the server answers 503 (Telegram delivers again later),
lets the updates in flight finish, and exits.

The same server answers GET /healthz (200 when the database answers, 503 otherwise or while
stopping) and GET /metrics (Prometheus text format). In polling mode, CARDBOT_METRICS_LISTEN
serves those two alone.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import BadRequest

from cardbot.config import ConfigError
from cardbot.db.user_locks import UserLocks
from cardbot.metrics import CONTENT_TYPE, Metrics, database_ok
from cardbot.runtime import Runtime
from cardbot.telegram.polling import (
    ALLOWED_UPDATES,
    SHUTDOWN_GRACE,
    BotApplication,
    UpdateDispatcher,
    serve,
    until_signalled,
)
from cardbot.telegram.retry import retrying

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few kilobytes; Telegram's own limit is far below this
HEALTH_TIMEOUT = 5.0
Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def random_secret_token() -> str:
    """A secret token Telegram accepts (43 characters of A-Z, a-z, 0-9, _ and -)."""
    return secrets.token_urlsafe(32)


class Monitoring:
    """GET /healthz and GET /metrics."""

    def __init__(self, metrics: Metrics, database_check: Callable[[], bool]) -> None:
        self.metrics = metrics
        self.database_check = database_check
        self.stopping = False

    def routes(self) -> list[web.RouteDef]:
        """The two routes, to add to a web application."""
        return [web.get("/healthz", self.health), web.get("/metrics", self.exposition)]

    async def health(self, request: web.Request) -> web.Response:
        """200 while the database answers `SELECT 1`; 503 when it does not, or when stopping."""
        if self.stopping:
            return web.json_response({"status": "stopping"}, status=503)
        try:
            healthy = await asyncio.wait_for(
                asyncio.to_thread(self.database_check), HEALTH_TIMEOUT
            )
        except TimeoutError:
            healthy = False
        if not healthy:
            return web.json_response({"status": "database unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    async def exposition(self, request: web.Request) -> web.Response:
        """The metrics, in the Prometheus text format."""
        body = await asyncio.to_thread(self.metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


class WebhookReceiver:
    """POST handler for Telegram's updates: check the secret, store, acknowledge, dispatch."""

    def __init__(self, dispatcher: UpdateDispatcher, secret_token: str) -> None:
        self.dispatcher = dispatcher
        self._secret = secret_token.encode()
        self.accepting = False
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def receive(self, request: web.Request) -> web.Response:
        """Keep one update (and only then say 200), then start handling it."""
        if not self.accepting:
            return web.Response(status=503, text="stopping", headers={"Retry-After": "5"})
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return web.Response(status=401, text="secret token missing")
        if not hmac.compare_digest(given.encode(), self._secret):
            return web.Response(status=403, text="wrong secret token")
        self._active += 1
        self._idle.clear()
        try:
            return await self._keep_and_dispatch(request)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def _keep_and_dispatch(self, request: web.Request) -> web.Response:
        body = await request.read()  # more than MAX_BODY: 413, from aiohttp
        try:
            text = body.decode("utf-8")
            data = json.loads(text)
        except ValueError:  # UnicodeDecodeError included
            return web.Response(status=400, text="the body is not JSON")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(data, self.dispatcher.application.bot)
        except Exception:  # whatever python-telegram-bot makes of a malformed update
            return web.Response(status=400, text="not an update")
        if update_id in self.dispatcher.dispatched:
            return web.Response()  # in flight or handled already: a repeat changes nothing
        try:
            await self.dispatcher.keep({update_id: text})
        except Exception as exc:  # e.g. the database away: Telegram delivers again later
            log.error("update %s not stored: %s", update_id, exc.__class__.__name__)
            return web.Response(status=500, text="not stored")
        self.dispatcher.dispatch(update)
        return web.Response()

    async def settle(self, timeout: float) -> None:
        """Stop accepting and wait for the requests already being stored."""
        self.accepting = False
        if self._active:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except TimeoutError:
                log.warning("stopped waiting for %s webhook requests", self._active)


class HttpServer:
    """One aiohttp site; a failure to listen is a ConfigError naming the setting."""

    def __init__(self, app: web.Application, listen: tuple[str, int], setting: str) -> None:
        self.app = app
        self.listen = listen
        self.setting = setting
        self._runner: web.AppRunner | None = None

    async def open(self) -> None:
        """Start listening."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        host, port = self.listen
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"{self.setting}: cannot listen on {host}:{port} "
                f"({exc.strerror or exc.__class__.__name__}); choose a free address"
            ) from None
        self._runner = runner

    async def close(self) -> None:
        """Stop listening and close the connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def monitoring_app(monitoring: Monitoring) -> web.Application:
    """A web application with /healthz and /metrics only."""
    app = web.Application(client_max_size=MAX_BODY)
    app.add_routes(monitoring.routes())
    return app


def monitoring_for(runtime: Runtime) -> Monitoring:
    """/healthz and /metrics of this runtime."""
    return Monitoring(runtime.metrics, lambda: database_ok(runtime.engine))


async def serve_webhook(
    application: BotApplication,
    runtime: Runtime,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    background: Sequence[Job] = (),
) -> None:
    """Start the application, resume the inbox, listen, point Telegram at this server, and
    receive updates until `stop`; then refuse new ones, finish those in flight, shut down."""
    settings = runtime.settings
    url = settings.require_public_url()
    secret = settings.telegram_secret_token or random_secret_token()
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        # Several workers may share the database: one user's updates go one at a time, in order.
        user_locks = UserLocks(settings.database_url)
        dispatcher = UpdateDispatcher(application, runtime.inbox, runtime.metrics, user_locks)
        receiver = WebhookReceiver(dispatcher, secret)
        monitoring = monitoring_for(runtime)
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(settings.telegram_webhook_path, receiver.receive)
        app.add_routes(monitoring.routes())
        servers = [HttpServer(app, settings.webhook_listen, "CARDBOT_WEBHOOK_LISTEN")]
        extra = settings.metrics_listen
        if extra is not None and extra != settings.webhook_listen:
            servers.append(HttpServer(monitoring_app(monitoring), extra, "CARDBOT_METRICS_LISTEN"))
        jobs: list[asyncio.Task[None]] = []
        cancelled = False
        try:
            await dispatcher.resume()  # before anything new, so each user's order is kept
            for server in servers:
                await server.open()
            receiver.accepting = True
            await set_webhook(application, url, secret)
            jobs = [asyncio.create_task(job(stop)) for job in background]
            jobs.append(asyncio.create_task(dispatcher.adopt_orphans(stop)))
            if ready is not None:
                ready.set()
            await stop.wait()
        except asyncio.CancelledError:
            cancelled = True  # abrupt: what is in flight stays in the inbox for the next start
            raise
        finally:
            stop.set()
            monitoring.stopping = True
            receiver.accepting = False
            if not cancelled:
                await receiver.settle(SHUTDOWN_GRACE)
                await dispatcher.finish(SHUTDOWN_GRACE)
            for server in servers:
                await server.close()
            if jobs:
                await asyncio.wait(jobs, timeout=SHUTDOWN_GRACE)
            await application.stop()
            user_locks.close()


async def set_webhook(application: BotApplication, url: str, secret: str) -> None:
    """Tell Telegram where to post updates (keeping those it holds for us)."""
    try:
        await retrying(
            lambda: application.bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        )
    except BadRequest as exc:
        raise ConfigError(
            f"the Bot API server refused the webhook {url} (CARDBOT_PUBLIC_URL and "
            f"CARDBOT_TELEGRAM_WEBHOOK_PATH): {exc.message}"
        ) from None
    log.info("receiving updates at %s", url)


async def serve_polling_with_monitoring(
    application: BotApplication,
    runtime: Runtime,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    background: Sequence[Job] = (),
) -> None:
    """Long polling (see polling.serve), with /healthz and /metrics on CARDBOT_METRICS_LISTEN."""
    listen = runtime.settings.metrics_listen
    if listen is None:
        raise ConfigError("CARDBOT_METRICS_LISTEN is not set")
    monitoring = monitoring_for(runtime)
    server = HttpServer(monitoring_app(monitoring), listen, "CARDBOT_METRICS_LISTEN")
    await server.open()
    try:
        await serve(
            application, stop, runtime.inbox, ready, background=background, metrics=runtime.metrics
        )
    finally:
        monitoring.stopping = True
        await server.close()


def run_until_signalled(
    application: BotApplication, runtime: Runtime, background: Sequence[Job], *, webhook: bool
) -> None:
    """Serve by webhook, or by long polling with /healthz and /metrics, until SIGINT or
    SIGTERM: stop taking updates, finish those in flight, exit."""

    serving = serve_webhook if webhook else serve_polling_with_monitoring
    until_signalled(lambda stop: serving(application, runtime, stop, background=background))
