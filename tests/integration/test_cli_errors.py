"""The command line on bad input: one line on stderr, a non-zero status, nothing written,
never a traceback; a reader that goes away ends a command quietly."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from cardbot.__main__ import EXIT_BROKEN_PIPE, build_parser
from tests.integration.test_cli import CARDBOT, cardbot_environment, run_cardbot
from tests.support.botapi_standin import BotApiStandIn
from tests.support.harness import DIALOGS
from tests.support.waiting import PATIENCE

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def disk(root: Path) -> dict[str, bytes | None]:
    """Every folder (None) and file (its bytes) under `root`, by relative path."""
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `cardbot: …` line a failed command printed, checked to be the only one."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cardbot: "), result.stderr
    return lines[0]


def unwritable_folder(tmp_path: Path) -> Path:
    """An existing folder this user cannot write to (root ignores modes: then /proc/1)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    if not os.access(folder, os.W_OK):
        return folder
    folder.chmod(0o700)
    if Path("/proc/1").is_dir() and not os.access("/proc/1", os.W_OK):
        return Path("/proc/1")
    pytest.skip("no folder here that this user cannot write to")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dialogs", "diagram", "-o", "missing/x.mmd"], "cannot write missing/x.mmd"),
        (["dialogs", "diagram", "-o", "a-file/x.mmd"], "a-file is not a folder"),
        (["dialogs", "diagram", "-o", "."], "it is a folder"),
        (["faq", "export", "a-file"], "a-file: it exists and is not a folder"),
        (["faq", "export", "a-file/faq"], "a-file is not a folder"),
        (["export", "DX-2026-000001", "a-file"], "a-file: it exists and is not a folder"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    before = disk(tmp_path)
    result = run_cardbot(args, tmp_path)
    assert result.returncode == 2
    assert expected in assert_one_line_error(result)
    assert disk(tmp_path) == before


def test_audit_and_export_without_a_database_say_so_and_create_none(tmp_path: Path) -> None:
    for args in (["audit", "DX-2026-000001"], ["export", "DX-2026-000001", "out"]):
        result = run_cardbot(args, tmp_path)
        assert result.returncode == 2
        assert "no database at" in assert_one_line_error(result)
    assert disk(tmp_path) == {}


def test_a_database_without_tables_asks_for_db_upgrade(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cardbot.db").write_bytes(b"")
    result = run_cardbot(["audit", "DX-2026-000001"], tmp_path)
    assert "run `cardbot db upgrade`" in assert_one_line_error(result)


def test_a_file_that_is_not_a_database_is_named_with_sqlites_reason(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cardbot.db").write_bytes(b"x" * 4096)
    result = run_cardbot(["audit", "DX-2026-000001"], tmp_path)
    line = assert_one_line_error(result)
    assert "cardbot.db" in line
    assert "file is not a database" in line


def test_a_broken_content_file_is_one_line_per_problem(tmp_path: Path) -> None:
    dialogs = tmp_path / "dialogs"
    shutil.copytree(DIALOGS, dialogs)
    (dialogs / "flow.yaml").write_text("categories: [\n", encoding="utf-8")
    check = run_cardbot(["dialogs", "check"], tmp_path, CARDBOT_DIALOGS_DIR=str(dialogs))
    assert check.returncode == 1
    assert check.stderr.count("\n") == 1, check.stderr
    assert check.stderr.startswith(f"{dialogs / 'flow.yaml'}: cannot be read")
    chat = run_cardbot(["chat"], tmp_path, CARDBOT_DIALOGS_DIR=str(dialogs))
    assert chat.returncode == 2
    assert "flow.yaml: cannot be read" in assert_one_line_error(chat)
    assert not (tmp_path / "data").exists()


def test_faq_ask_skips_a_line_that_is_not_utf8_and_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CARDBOT, "faq", "ask", "--json"],
        input=b"\xff\xfe?\nhow long does the review take\n",
        capture_output=True,
        cwd=tmp_path,
        env=cardbot_environment(tmp_path),
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == ["cardbot: line 1 is not UTF-8 text: skipped"]
    assert len(result.stdout.decode().splitlines()) == 1  # the second line was answered


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["chat"], "/start\n/help\n/status\n"), (["dialogs", "diagram"], "")],
    ids=["chat", "dialogs-diagram"],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(
    tmp_path: Path, args: list[str], stdin: str
) -> None:
    process = subprocess.Popen(
        [*CARDBOT, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=cardbot_environment(tmp_path),
    )
    assert process.stdout is not None
    process.stdout.close()  # as `| head -1` does once it has its line: every write now fails
    _stdout, stderr = process.communicate(stdin.encode(), timeout=120)
    assert stderr.decode() == ""
    assert process.returncode == EXIT_BROKEN_PIPE == 128 + signal.SIGPIPE


def test_a_malformed_token_stops_run_with_its_rule_before_anything_is_written(
    tmp_path: Path,
) -> None:
    for token in ("not-a-token", "123456789:AAH-too-short", "123456789 AAHdqTcvCH1vGWJxfSeofS"):
        result = run_cardbot(["run"], tmp_path, CARDBOT_TOKEN=token)
        assert result.returncode == 2
        line = assert_one_line_error(result)
        assert line.startswith("cardbot: CARDBOT_TOKEN does not look like a bot token")
        assert "3 to 20 digits, a colon, then 20 or more letters, digits, _ or -" in line
        assert token not in line
        assert disk(tmp_path) == {}


def test_a_malformed_secret_key_stops_run_before_anything_is_written(tmp_path: Path) -> None:
    result = run_cardbot(["run"], tmp_path, CARDBOT_TOKEN=TOKEN, CARDBOT_SECRET_KEY="not-a-key")
    assert result.returncode == 2
    assert "CARDBOT_SECRET_KEY must be 32 random bytes" in assert_one_line_error(result)
    assert disk(tmp_path) == {}


def test_a_data_folder_that_exists_but_cannot_be_written_is_not_called_uncreatable(
    tmp_path: Path,
) -> None:
    folder = unwritable_folder(tmp_path)
    result = run_cardbot(["chat"], tmp_path, CARDBOT_DATA_DIR=str(folder))
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert f"CARDBOT_DATA_DIR: cannot write to {folder}" in line
    assert "cannot create" not in line


def test_a_data_folder_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    result = run_cardbot(["chat"], tmp_path)
    assert "CARDBOT_DATA_DIR: " in assert_one_line_error(result)
    assert "is not a folder" in result.stderr


async def start_run(workdir: Path, **env: str) -> asyncio.subprocess.Process:
    """`cardbot run` as a process, its output piped."""
    return await asyncio.create_subprocess_exec(
        *CARDBOT,
        "run",
        cwd=workdir,
        env=cardbot_environment(workdir, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_token_the_server_refuses_stops_run_before_anything_is_written(
    tmp_path: Path,
) -> None:
    async with BotApiStandIn(TOKEN) as api:
        refused = "654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDxyz"
        process = await start_run(
            tmp_path, CARDBOT_TOKEN=refused, CARDBOT_BOT_API_URL=api.base_url
        )
        _stdout, stderr = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode == 2
    assert stderr.decode().strip().splitlines() == [
        "cardbot: the Bot API server rejected CARDBOT_TOKEN: copy the token again from @BotFather"
    ]
    assert disk(tmp_path) == {}


async def test_a_normal_start_prints_no_migration_lines(tmp_path: Path) -> None:
    async with BotApiStandIn(TOKEN) as api:
        process = await start_run(tmp_path, CARDBOT_TOKEN=TOKEN, CARDBOT_BOT_API_URL=api.base_url)
        try:
            await api.wait_until(
                lambda: any(method == "getUpdates" for method, _ in api.calls),
                timeout=PATIENCE,
                what="cardbot polling",
            )
        finally:
            process.send_signal(signal.SIGTERM)
            _stdout, stderr = await asyncio.wait_for(process.communicate(), PATIENCE)
    assert process.returncode == 0, stderr.decode()
    assert (tmp_path / "data" / "cardbot.db").is_file()  # the migrations did run
    assert "alembic" not in stderr.decode()


def test_alembic_warnings_still_show_once_logging_is_configured(tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "from cardbot.logs import configure_logging\n"
        "configure_logging()\n"
        "logging.getLogger('alembic.runtime.migration').info('step')\n"
        "logging.getLogger('alembic.runtime.migration').warning('kept')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("WARNING alembic.runtime.migration kept")


def subcommand_parsers(
    parser: argparse.ArgumentParser, prefix: str = "cardbot"
) -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser by its full name, e.g. "cardbot faq ask"."""
    found = {prefix: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= subcommand_parsers(sub, f"{prefix} {name}")
    return found


def test_every_subcommand_has_a_description() -> None:
    parsers = subcommand_parsers(build_parser())
    assert {"cardbot run", "cardbot chat", "cardbot faq ask", "cardbot db upgrade"} <= set(parsers)
    assert [name for name, parser in parsers.items() if not parser.description] == []


def test_run_help_names_the_token_and_prescreen_help_gives_its_exit_codes() -> None:
    parsers = subcommand_parsers(build_parser())
    assert "CARDBOT_TOKEN" in parsers["cardbot run"].format_help()
    prescreen = " ".join(parsers["cardbot prescreen"].format_help().split())
    assert "0 the package is complete" in prescreen
    assert "1 problems were found" in prescreen
    assert "2 the folder cannot be read" in prescreen


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    result = run_cardbot(["--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"cardbot {metadata.version('cardbot')}\n"
