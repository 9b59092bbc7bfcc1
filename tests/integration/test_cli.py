"""The command line: chat scripted on stdin across a restart, dialogs check, config errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import files
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE

CARDBOT = [sys.executable, "-m", "cardbot"]


def run_cardbot(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = (
        {k: v for k, v in os.environ.items() if not k.startswith("CARDBOT_")}
        | {"CARDBOT_DATA_DIR": str(tmp_path / "data"), "CARDBOT_DIALOGS_DIR": str(DIALOGS)}
        | env
    )
    return subprocess.run(
        [*CARDBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def test_chat_continues_after_a_restart_and_submits(tmp_path: Path) -> None:
    front, back = tmp_path / "front.jpg", tmp_path / "back side.jpg"
    front.write_bytes(files.photo(seed=1))
    back.write_bytes(files.photo(seed=2))
    first = run_cardbot(["chat"], tmp_path, "/start\n#1\n#3\n张三\n#1\n" + VALID_ID + "\n")
    assert first.returncode == 0, first.stderr
    assert "联系电话" in first.stdout
    second = run_cardbot(
        ["chat"], tmp_path, f"/start\n{VALID_PHONE}\n{front} '{back}'\n#1\n/status\n"
    )
    assert second.returncode == 0, second.stderr
    assert "欢迎回来" in second.stdout
    assert "DX-" in second.stdout
    assert "已提交" in second.stdout
    assert (tmp_path / "data" / "cardbot.db").is_file()
    assert (tmp_path / "data" / "cardbot.db").stat().st_mode & 0o077 == 0  # personal data
    stored = list((tmp_path / "data" / "documents").rglob("*"))
    assert len([p for p in stored if p.is_file() and not p.name.startswith(".")]) == 2


def test_chat_speaks_english_when_asked(tmp_path: Path) -> None:
    result = run_cardbot(["chat", "--lang", "en"], tmp_path, "/start\n#2\n")
    assert "Understood" in result.stdout


def test_chat_numbers_are_answers_and_hash_numbers_press_buttons(tmp_path: Path) -> None:
    script = "/start\n#1\n#1\n张三\n#1\n" + VALID_ID + f"\n{VALID_PHONE}\nAcme Ltd\n"
    script += "91350100M000100Y43\n2\n/summary\n"
    result = run_cardbot(["chat"], tmp_path, script)
    assert "预计每日外呼量：2" in result.stdout


def test_dialogs_check_passes_on_the_shipped_content(tmp_path: Path) -> None:
    result = run_cardbot(["dialogs", "check"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": ok")


def test_dialogs_diagram_writes_mermaid(tmp_path: Path) -> None:
    out = tmp_path / "flow.mmd"
    result = run_cardbot(["dialogs", "diagram", "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("stateDiagram-v2")
    assert "summary --> submitted : submit" in text
    assert "individual__full_name --> individual__id_type" in text


def test_run_without_a_token_says_what_to_set(tmp_path: Path) -> None:
    result = run_cardbot(["run"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line, no traceback"
    assert "CARDBOT_TOKEN" in result.stderr


def test_malformed_settings_stop_start_up_with_one_clear_line(tmp_path: Path) -> None:
    for variable, value in [
        ("CARDBOT_TOKEN", "not-a-token"),
        ("CARDBOT_BOT_API_URL", "ftp://example"),
        ("CARDBOT_DATABASE_URL", "nonsense"),
        ("CARDBOT_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none"),
        ("CARDBOT_DATABASE_URL", "postgres://user@host/db"),
        ("CARDBOT_DATABASE_URL", "mysql://user@host/db"),
        ("CARDBOT_DATABASE_URL", "foo://bar"),
        ("CARDBOT_DATA_DIR", "/proc/cardbot"),
    ]:
        command = ["db", "upgrade"] if "127.0.0.1:1" in value else ["chat"]
        result = run_cardbot(command, tmp_path, **{variable: value})
        assert result.returncode == 2, variable
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert variable in result.stderr
        assert "Traceback" not in result.stderr
        if variable == "CARDBOT_TOKEN":
            assert value not in result.stderr
