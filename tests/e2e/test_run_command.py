"""`cardbot run` as a real process: polling the stand-in, SIGTERM, SIGKILL and restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

from tests.e2e.conftest import TOKEN
from tests.e2e.test_application_flow import Person
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeUser
from tests.support.harness import DIALOGS, VALID_PHONE
from tests.support.log_audit import PERSONAL_VALUES
from tests.support.waiting import until


async def start_process(
    api: BotApiStandIn,
    workdir: Path,
    *args: str,
    log: Path | None = None,
    **overrides: str,
) -> asyncio.subprocess.Process:
    """`cardbot run [args]` against the stand-in, output piped (or the log written to `log`)."""
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("CARDBOT_")}
        | {
            "CARDBOT_TOKEN": TOKEN,
            "CARDBOT_BOT_API_URL": api.base_url,
            "CARDBOT_DATA_DIR": str(workdir / "data"),
            "CARDBOT_DIALOGS_DIR": str(DIALOGS),
            # These tests play the typed flow (reading documents first is test_prefill's).
            "CARDBOT_OCR": "off",
        }
        | overrides
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cardbot",
        "run",
        *args,
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL if log else asyncio.subprocess.PIPE,
        stderr=log.open("wb") if log else asyncio.subprocess.PIPE,
    )


async def test_run_serves_until_sigterm_and_never_logs_the_token(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    process = await start_process(api, tmp_path)
    person = Person(api, FakeUser(601, "P", language_code="zh-hans"))
    try:
        _welcome, consent = await person.say("/start", replies=2)
        assert "个人信息" in consent.plain
        await person.tap("同意")
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    log = stdout.decode() + stderr.decode()
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log


async def test_json_logs_are_one_object_per_line(api: BotApiStandIn, tmp_path: Path) -> None:
    process = await start_process(api, tmp_path, CARDBOT_LOG_FORMAT="json")
    person = Person(api, FakeUser(603, "J", language_code="zh-hans"))
    try:
        await person.say("/start", replies=2)
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["level"] for line in lines)


def settled(workdir: Path) -> bool:
    """True when `cardbot run` in workdir has no update left to handle and no reply to send."""
    with contextlib.closing(sqlite3.connect(workdir / "data" / "cardbot.db")) as db:
        (waiting,) = db.execute(
            "SELECT (SELECT count(*) FROM telegram_inbox) + (SELECT count(*) FROM reply_outbox)"
        ).fetchone()
        return int(waiting) == 0


async def test_killed_mid_application_restarts_with_everything_acknowledged(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    person = Person(api, FakeUser(602, "K", language_code="zh-hans"))
    process = await start_process(api, tmp_path)
    try:
        await person.begin_with_resident_id("个人")
    finally:
        process.kill()
        await process.wait()

    polls_before = sum(1 for method, _ in api.calls if method == "getUpdates")
    process = await start_process(api, tmp_path)
    try:
        await api.wait_until(
            lambda: sum(1 for method, _ in api.calls if method == "getUpdates") > polls_before,
            timeout=30,
            what="the restarted bot polling",
        )
        await until(lambda: settled(tmp_path), "the redelivered update handled and sent")
        # An update not yet confirmed when the process died is delivered again: it is not
        # applied twice, and only its replies still waiting in the outbox are sent (once).
        for repeated in api.messages_to(person.user.id)[
            api.messages_to(person.user.id).index(person.last) + 1 :
        ]:
            assert "联系电话" in repeated.plain
            await person.replies(1)
        _back, question = await person.say("/start", replies=2)
        assert "联系电话" in question.plain
        await person.say(VALID_PHONE)
        await person.album([files.photo(seed=11), files.photo(seed=12)])
        (done,) = await person.tap("确认提交")
        assert "DX-" in done.plain
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    log = stdout.decode() + stderr.decode()
    assert not [value for value in PERSONAL_VALUES if value in log], log


async def run_briefly(api: BotApiStandIn, workdir: Path, **env: str) -> tuple[int, str]:
    process = await start_process(api, workdir, **env)
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_a_rejected_token_stops_start_up_with_one_line_and_no_token(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    other = "654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDxyz"
    code, stderr = await run_briefly(api, tmp_path, CARDBOT_TOKEN=other)
    assert code == 2
    assert stderr.strip().splitlines()[-1].startswith("cardbot: the Bot API server rejected")
    assert "Traceback" not in stderr
    assert other not in stderr and other.split(":")[1] not in stderr


async def test_an_unreachable_bot_api_stops_start_up_with_one_line(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    code, stderr = await run_briefly(api, tmp_path, CARDBOT_BOT_API_URL="http://127.0.0.1:9")
    assert code == 2
    assert "cannot reach the Bot API server" in stderr.strip().splitlines()[-1]
    assert "Traceback" not in stderr
