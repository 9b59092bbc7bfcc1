"""The report page opens in a real headless browser (Debian's chromium) with every chart drawn
and no console error. Skipped only where chromium is not installed (.ci/run installs it).

With CARDBOT_REPORT_SCREENSHOT=1 the test also saves the page as docs/report.png.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.orm import Session

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.content.loader import load_spec
from cardbot.db.migrate import upgrade
from cardbot.db.session import make_engine
from cardbot.report.build import write_report
from tests.integration.test_report import PERIOD, write_history
from tests.support.harness import DIALOGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "report.png"
CHARTS = 8
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


class Page:
    """One browser tab driven over the DevTools protocol; console errors are collected."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.ids = iter(range(1, 10_000))
        self.errors: list[str] = []
        self.events: list[str] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer, noting the events on the way."""
        number = next(self.ids)
        await self.socket.send_json({"id": number, "method": method, "params": params})
        while True:
            message = json.loads((await self.socket.receive(timeout=30)).data)
            if message.get("id") == number:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.note(message)

    def note(self, message: dict[str, Any]) -> None:
        """Keep console errors, exceptions and failed loads."""
        method, params = message.get("method"), message.get("params", {})
        self.events.append(str(method))
        if method == "Runtime.exceptionThrown":
            self.errors.append(str(params["exceptionDetails"].get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(str(params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(str(params["entry"].get("text")))

    async def wait_for(self, event: str) -> None:
        """Read events until `event` arrives."""
        while event not in self.events:
            self.note(json.loads((await self.socket.receive(timeout=30)).data))


@asynccontextmanager
async def browser(profile: Path) -> AsyncIterator[Page]:
    """A headless chromium with one blank tab, offline (no proxy, no network access)."""
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9",  # anything fetched from the network fails
            "--window-size=1200,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        address = ""
        for line in process.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                address = found.group(1)
                break
        assert address, "chromium did not start its DevTools server"
        port = re.search(r":(\d+)/", address)
        assert port is not None
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port.group(1)}/json/list") as answer:
                tabs = await answer.json()
            tab = next(t for t in tabs if t.get("type") == "page")
            async with client.ws_connect(tab["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                yield Page(socket)
    finally:
        process.kill()
        process.wait()


async def test_the_report_opens_offline_with_every_chart_and_no_console_error(
    database_url: str, tmp_path: Path
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with Session(engine) as session:
        write_history(session)
        session.commit()
    written = write_report(
        engine, load_spec(DIALOGS), ChinaWorkingCalendar(), PERIOD, tmp_path / "report"
    )
    engine.dispose()
    async with browser(tmp_path / "profile") as page:
        for domain in ("Page", "Runtime", "Log"):
            await page.call(f"{domain}.enable")
        await page.call("Page.navigate", url=written.html.as_uri())
        await asyncio.wait_for(page.wait_for("Page.loadEventFired"), 30)
        drawn = await page.call(
            "Runtime.evaluate",
            expression="[...document.querySelectorAll('figure.chart svg')].filter(s => {"
            " const r = s.getBoundingClientRect(); return r.width > 100 && r.height > 100;"
            " }).length",
            returnByValue=True,
        )
        if os.environ.get("CARDBOT_REPORT_SCREENSHOT") == "1":
            shot = await page.call("Page.captureScreenshot", format="png")
            SCREENSHOT.write_bytes(base64.b64decode(shot["data"]))
    assert page.errors == []
    assert drawn["result"]["value"] == CHARTS
