"""The command line: chat scripted on stdin across a restart, dialogs check, config errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from cardbot.__main__ import build_parser
from cardbot.console.chat import ChatCore, ConsoleChat
from cardbot.core.events import ButtonPress, Command, Event, FileUpload, Incoming, Text, UserRef
from cardbot.core.replies import Reply
from tests.support import files
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE, Harness

CARDBOT = [sys.executable, "-m", "cardbot"]


def cardbot_environment(tmp_path: Path, **env: str) -> dict[str, str]:
    """This process's environment without CARDBOT_* settings, data in `tmp_path`/data, and
    documents not read (the typed flow) unless `env` says otherwise."""
    return (
        {k: v for k, v in os.environ.items() if not k.startswith("CARDBOT_")}
        | {
            "CARDBOT_DATA_DIR": str(tmp_path / "data"),
            "CARDBOT_DIALOGS_DIR": str(DIALOGS),
            "CARDBOT_OCR": "off",
        }
        | env
    )


def run_cardbot(
    args: list[str], tmp_path: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """`cardbot ARGS` run to completion in `tmp_path`, its output captured."""
    return subprocess.run(
        [*CARDBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=cardbot_environment(tmp_path, **env),
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


def test_chat_user_plays_a_second_applicant_with_an_application_of_their_own(
    tmp_path: Path,
) -> None:
    first = run_cardbot(["chat"], tmp_path, "/start\n#1\n#1\n张三\n")
    assert first.returncode == 0, first.stderr
    second = run_cardbot(["chat", "--user", "1002"], tmp_path, "/start\n")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("cardbot chat as user 1002 ")
    assert "欢迎回来" not in second.stdout
    assert "个人信息说明" in second.stdout  # asked for consent: a new applicant
    again = run_cardbot(["chat"], tmp_path, "/start\n")
    assert "欢迎回来" in again.stdout


@pytest.mark.parametrize("user", ["0", "-5", "abc", "1.5"])
def test_chat_user_must_be_a_positive_whole_number(tmp_path: Path, user: str) -> None:
    result = run_cardbot(["chat", "--user", user], tmp_path)
    assert result.returncode == 2
    assert "is not a user id: give a positive whole number" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


class RecordingCore:
    """The conversation service, noting every event the chat hands it."""

    def __init__(self, inner: ChatCore) -> None:
        self.inner = inner
        self.events: list[Event] = []

    def handle(self, incoming: Incoming) -> Sequence[Reply]:
        """Note the event, then apply it."""
        self.events.append(incoming.event)
        return self.inner.handle(incoming)

    def language_of(self, user: UserRef) -> str:
        """Ask the service."""
        return self.inner.language_of(user)


def console(
    tmp_path: Path, *, user_id: int = 1, lang: str | None = None, harness: Harness | None = None
) -> tuple[ConsoleChat, RecordingCore, io.StringIO]:
    """A terminal chat over the in-memory core, its output in a StringIO."""
    harness = harness or Harness(tmp_path)
    core = RecordingCore(harness.service)
    out = io.StringIO()
    return ConsoleChat(core, harness.renderer, out, user_id=user_id, language_code=lang), core, out


def test_chat_answers_a_path_that_names_no_file_in_the_terminal_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    chat, core, out = console(tmp_path)
    missing = f"{tmp_path}/nothere.jpg"
    chat.run([missing, "./id.png", "scan.PDF", "'back side.jpg'", "~/nothere/x", "./docs/"])
    assert core.events == []
    assert out.getvalue().splitlines()[1:] == [
        f"file not found: {missing}",
        "file not found: ./id.png",
        "file not found: scan.PDF",
        "file not found: back side.jpg",
        "file not found: ~/nothere/x",
        "not a file: ./docs/",
    ]


def test_chat_album_with_one_missing_file_sends_none_of_them(tmp_path: Path) -> None:
    front = tmp_path / "front.jpg"
    front.write_bytes(files.photo(seed=1))
    chat, core, out = console(tmp_path)
    chat.send_line(f"{front} {tmp_path}/back.jpg")
    assert core.events == []
    assert out.getvalue() == f"file not found: {tmp_path}/back.jpg\n"
    chat.send_line(f"/file {front}")
    assert [type(event) for event in core.events] == [FileUpload]


def test_chat_commands_answers_and_buttons_are_not_taken_for_paths(tmp_path: Path) -> None:
    chat, core, _out = console(tmp_path)
    for line in ("/start", "/lang en", "/show DX-2026-000123", "/tmp", "N/A", "my id.jpg"):
        chat.send_line(line)
    first_button = chat.buttons[0][1]
    chat.send_line("#1")
    assert core.events == [
        Command("start"),
        Command("lang", "en"),
        Command("show", "DX-2026-000123"),
        Command("tmp"),
        Text("N/A"),
        Text("my id.jpg"),
        ButtonPress(first_button),
    ]


def test_chat_lang_is_the_starting_language_and_a_kept_other_choice_is_announced(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path)
    chat, _core, out = console(tmp_path, user_id=7, lang="en", harness=harness)
    chat.run(["/start"])
    assert "note:" not in out.getvalue()
    assert harness.service.language_of(chat.user) == "en"
    chat.send_line("/lang")
    chat.send_line(f"#{[data for _label, data in chat.buttons].index('lang:zh') + 1}")
    assert harness.service.language_of(chat.user) == "zh"

    restarted, _core, out = console(tmp_path, user_id=7, lang="en", harness=harness)
    restarted.run(["/status"])
    assert out.getvalue().splitlines()[1] == (
        "note: user 7 already talks with cardbot in zh (set when they first wrote, or with "
        "/lang) and keeps it: --lang en only sets the language a new applicant starts in; "
        "type /lang to change it"
    )
    newcomer, _core, out = console(tmp_path, user_id=8, lang="en", harness=harness)
    newcomer.run([])
    assert "note:" not in out.getvalue()


def test_chat_help_explains_lang_user_and_what_counts_as_a_path() -> None:
    chat = next(
        parser
        for action in build_parser()._actions
        if hasattr(action, "choices") and isinstance(action.choices, dict)
        for name, parser in action.choices.items()
        if name == "chat"
    )
    text = " ".join(chat.format_help().split())
    assert "the language a new applicant starts in" in text
    assert "--user ID" in text
    assert 'the terminal answers "file not found: PATH"' in text


def test_chat_ignores_a_line_that_is_not_utf8_text(tmp_path: Path) -> None:
    chat, core, out = console(tmp_path)
    chat.send_line("\udcff\udcfe bad bytes")  # how Python reads bytes that are not UTF-8
    assert core.events == []
    assert out.getvalue() == "not UTF-8 text: line ignored\n"


def test_chat_takes_words_no_file_system_can_hold_as_text_or_missing_files(
    tmp_path: Path,
) -> None:
    chat, core, out = console(tmp_path)
    long_word = "a" * 300  # too long for a file name: asking the file system raises
    chat.send_line(long_word)
    chat.send_line("~nosuchuser-cardbot/id.jpg")
    chat.send_line(f"/tmp/{long_word}.jpg")
    assert core.events == [Text(long_word)]
    assert out.getvalue().splitlines()[-2:] == [
        "file not found: ~nosuchuser-cardbot/id.jpg",
        f"file not found: /tmp/{long_word}.jpg",
    ]
