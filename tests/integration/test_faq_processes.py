"""The FAQ across processes and from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cardbot.config import load_settings
from cardbot.core.events import ButtonPress, Command, Incoming, Text, UserRef
from cardbot.runtime import build_runtime
from tests.support.harness import DIALOGS, FAQ

STAFF = 77
APPLICANT = 88


def runtime_on(database_url: str, tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    settings = load_settings(
        {
            "CARDBOT_DATABASE_URL": database_url,
            "CARDBOT_DATA_DIR": str(tmp_path / name),
            "CARDBOT_DIALOGS_DIR": str(DIALOGS),
            "CARDBOT_FAQ_DIR": str(FAQ),
            "CARDBOT_ADMIN_IDS": str(STAFF),
        }
    )
    return build_runtime(settings)


def send(runtime, user_id: int, event, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    incoming = Incoming(key, UserRef(user_id, user_id, "zh-hans"), event)
    return [runtime.renderer.render(r).text for r in runtime.service.handle(incoming)]


def test_an_edit_made_through_one_process_is_answered_by_another(
    database_url: str, tmp_path: Path
) -> None:
    first = runtime_on(database_url, tmp_path, "one")
    second = runtime_on(database_url, tmp_path, "two")
    try:
        question = "电销卡怎么判断是不是正规的"
        before = send(second, APPLICANT, Text(question), "b:1")
        assert "运营商" in before[0]
        send(first, STAFF, Command("faqadmin"), "a:1")
        send(first, STAFF, ButtonPress("fa:a:legality:zh"), "a:2")
        send(first, STAFF, Text("请只通过<b>正规营业厅</b>购买。"), "a:3")
        send(first, STAFF, ButtonPress("fa:pub"), "a:4")
        after = send(second, APPLICANT, Text(question), "b:2")
        assert after[0] == "请只通过<b>正规营业厅</b>购买。"
        # a restart seeds faq/ again, but keeps the staff edit (the file did not change)
        third = runtime_on(database_url, tmp_path, "three")
        assert send(third, APPLICANT, Text(question), "c:1")[0] == after[0]
        third.close()
    finally:
        first.close()
        second.close()


def cardbot(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "CARDBOT_DATA_DIR": str(tmp_path / "data"),
        "CARDBOT_DIALOGS_DIR": str(DIALOGS),
        "CARDBOT_FAQ_DIR": str(FAQ),
    }
    return subprocess.run(
        [sys.executable, "-m", "cardbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_faq_ask_answers_one_question_or_one_per_line_as_json(tmp_path: Path) -> None:
    one = cardbot(tmp_path, "faq", "ask", "--json", "审批要多久？")
    assert one.returncode == 0, one.stderr
    answer = json.loads(one.stdout)
    assert answer["id"] == "approval-time" and "3–10" in answer["answer"]
    many = cardbot(
        tmp_path,
        "faq",
        "ask",
        "--json",
        "--lang",
        "en",
        stdin="How long is the review?\norder a pizza\n你好\n",
    )
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["approval-time", None, None]
    assert lines[0]["answer"].startswith("⏱ As a rule") and lines[1]["answer"] is None
    assert all(isinstance(line["score"], float) for line in lines)


def test_faq_export_writes_the_current_entries_back_in_the_faq_format(tmp_path: Path) -> None:
    result = cardbot(tmp_path, "faq", "export", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    exported = sorted(p.name for p in (tmp_path / "out").glob("*.yaml"))
    assert exported == sorted(p.name for p in FAQ.glob("*.yaml"))
    assert (tmp_path / "out" / "negative" / "out-of-scope.yaml").is_file()
    check = cardbot(tmp_path, "faq", "check", str(tmp_path / "out"))
    assert check.returncode == 0, check.stderr


def test_faq_check_names_what_is_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "aa.yaml").write_text(
        "id: aa\nquestions: {zh: [问], en: [q]}\nanswer: {zh: '{{ nope }}', en: ok}\n", "utf-8"
    )
    (broken / "bb.yaml").write_text("id: bb\nquestions: {zh: [问]}\nanswer: {zh: x}\n", "utf-8")
    result = cardbot(tmp_path, "faq", "check", str(broken))
    assert result.returncode == 1
    assert f"{broken / 'bb.yaml'}: questions.en: missing" in result.stderr
    (broken / "bb.yaml").unlink()
    result = cardbot(tmp_path, "faq", "check", str(broken))
    assert f"{broken / 'aa'}.yaml: answer.zh: UndefinedError" in result.stderr
    (broken / "x:y.yaml").write_text(
        "id: 'x:y'\nquestions: {zh: [问], en: [q]}\nanswer: {zh: a, en: a}\n", "utf-8"
    )
    result = cardbot(tmp_path, "faq", "check", str(broken))
    assert f"{broken / 'x:y.yaml'}: id: use 2–40 lower-case letters" in result.stderr


def test_roles_are_granted_listed_and_revoked_from_the_command_line(tmp_path: Path) -> None:
    assert (
        cardbot(tmp_path, "roles", "grant", "42", "staff").stdout.strip() == "staff granted for 42"
    )
    assert "42\tstaff" in cardbot(tmp_path, "roles", "list").stdout
    assert cardbot(tmp_path, "roles", "revoke", "42", "staff").returncode == 0
    assert "42" not in cardbot(tmp_path, "roles", "list").stdout
    assert cardbot(tmp_path, "roles", "grant", "42", "emperor").returncode == 2
