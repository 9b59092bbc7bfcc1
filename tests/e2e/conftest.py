"""Run the real cardbot Telegram stack against a local Bot API stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cardbot.config import Settings
from cardbot.runtime import Runtime, build_runtime
from cardbot.telegram.bot import build_application
from cardbot.telegram.jobs import background_jobs
from cardbot.telegram.polling import serve
from tests.support.botapi_standin import BotApiStandIn
from tests.support.databases import DATABASE_KINDS
from tests.support.harness import DIALOGS, FAQ

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    """A Bot API stand-in on a free local port."""
    async with BotApiStandIn(TOKEN) as standin:
        yield standin


class RunningBot:
    """cardbot's Telegram application, polling the stand-in, in this event loop."""

    def __init__(
        self,
        api: BotApiStandIn,
        workdir: Path,
        database_url: str | None,
        *,
        admin_ids: frozenset[int] = frozenset(),
        support_chat_id: int | None = None,
        review_chat_id: int | None = None,
        reminder_interval: float = 600.0,
        reading_interval: float = 600.0,
        **settings: Any,
    ) -> None:
        data_dir = workdir / "data"
        self.settings = Settings(
            data_dir=data_dir,
            database_url=database_url or f"sqlite:///{data_dir / 'cardbot.db'}",
            dialogs_dir=DIALOGS,
            bot_api_url=api.base_url,
            token=TOKEN,
            faq_dir=FAQ,
            admin_ids=admin_ids,
            support_chat_id=support_chat_id,
            review_chat_id=review_chat_id,
            **settings,
        )
        self.reminder_interval = reminder_interval
        self.reading_interval = reading_interval
        self.runtime: Runtime | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Build everything from the settings and start polling."""
        self.runtime = await asyncio.to_thread(build_runtime, self.settings)
        application = build_application(self.runtime)
        self.application = application
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        jobs = background_jobs(
            self.runtime,
            application,
            reminder_interval=self.reminder_interval,
            reading_interval=self.reading_interval,
        )
        self._task = asyncio.create_task(
            serve(application, self._stop, self.runtime.inbox, ready, background=jobs)
        )
        await asyncio.wait_for(ready.wait(), 15)

    def settled(self) -> bool:
        """True when every update received is handled and every message said was sent (a
        chat's messages may go out a second apart, so a quiet moment proves nothing)."""
        assert self.runtime is not None
        bot_id = int(self.settings.require_token().split(":")[0])
        return not self.runtime.inbox.pending(bot_id) and self.runtime.replies.count() == 0

    async def stop(self) -> None:
        """Stop as on SIGTERM: finish in-flight updates, confirm them, shut down."""
        self._stop.set()
        if self._task is not None and not self._task.done():
            await asyncio.wait_for(self._task, 15)
        if self.runtime is not None:
            self.runtime.close()

    def serving(self) -> bool:
        """True while the bot polls and sends (a crash or a stop ends it)."""
        return self._task is not None and not self._task.done()

    async def crash(self) -> None:
        """Stop abruptly, confirming nothing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.runtime is not None:
            self.runtime.close()


@pytest.fixture(params=DATABASE_KINDS)
async def bot(
    api: BotApiStandIn, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    """cardbot running against the stand-in, on a SQLite file and on PostgreSQL."""
    url = request.getfixturevalue("postgres_database") if request.param == "postgresql" else None
    running = RunningBot(api, tmp_path, url)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
