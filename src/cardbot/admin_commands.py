"""The FAQ and role commands: `cardbot faq ask|export|check` and `cardbot roles ...`."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from cardbot.config import ConfigError, Settings
from cardbot.console import UsageError, is_text, one_line
from cardbot.console.chat import html_to_plain
from cardbot.content.faq_files import check_faq, write_faq
from cardbot.content.render import Renderer
from cardbot.core.roles import ASSIGNABLE_ROLES
from cardbot.runtime import Runtime, build_runtime


def faq_ask(settings: Settings, question: str | None, *, language: str, as_json: bool) -> int:
    """Answer one question, or one per line of stdin, with the current FAQ; 2 when a line
    was skipped for not being UTF-8 text."""
    if question is not None and not is_text(question):
        raise UsageError("the question is not UTF-8 text")
    runtime = build_runtime(settings)
    skipped = 0
    try:
        questions: Iterable[str] = [question] if question is not None else sys.stdin
        for number, line in enumerate(questions, start=1):
            text = line.strip()
            if not text and question is None:
                continue
            if not is_text(text):
                print(f"cardbot: line {number} is not UTF-8 text: skipped", file=sys.stderr)
                skipped += 1
                continue
            entry_id, score, answer = _answer(runtime, text, language)
            if as_json:
                print(
                    json.dumps(
                        {"id": entry_id, "score": round(score, 4), "answer": answer},
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
            elif answer is None:
                print(f"(no answer, score {score:.2f})", flush=True)
            else:
                print(" ".join(answer.split("\n")), flush=True)
    finally:
        runtime.close()
    return 2 if skipped else 0


def _answer(
    runtime: Runtime, question: str, language: str
) -> tuple[str | None, float, str | None]:
    faq = runtime.service.faq
    assert faq is not None
    with runtime.service.unit_of_work() as uow:
        matcher = faq.matcher(uow.faq)
        match = matcher.match(question)
        if match.entry_id is None:
            return None, match.score, None
        entry = matcher.entries[match.entry_id]
    source = entry.answers.get(language) or entry.answers["zh"]
    text = runtime.renderer.render_source(source, language, faq.answer_context(None))
    return match.entry_id, match.score, html_to_plain(text)


def faq_export(settings: Settings, folder: Path) -> int:
    """Write the current entries, staff edits included, in the faq/ format."""
    runtime = build_runtime(settings)
    try:
        with runtime.service.unit_of_work() as uow:
            entries = uow.faq.current_entries()
    finally:
        runtime.close()
    for path in write_faq(folder, entries):
        print(path)
    if settings.faq_dir is not None and (settings.faq_dir / "negative").is_dir():
        # the out-of-scope examples live only in files: carry them along
        shutil.copytree(settings.faq_dir / "negative", folder / "negative", dirs_exist_ok=True)
        print(folder / "negative")
    return 0


def faq_check(settings: Settings, folder: Path | None) -> int:
    """Validate a faq/ folder: unique ids, both languages, every answer renders."""
    from cardbot.calendar_cn import ChinaWorkingCalendar
    from cardbot.content.loader import load_spec
    from cardbot.core.faq_service import FaqService

    folder = folder or settings.faq_dir
    if folder is None:
        raise ConfigError("no faq/ folder: give one, or set CARDBOT_FAQ_DIR")
    renderer = Renderer(settings.dialogs_dir)
    service = FaqService(
        load_spec(settings.dialogs_dir), ChinaWorkingCalendar(), renderer.source_problem
    )
    problems = check_faq(
        folder, lambda entry, lang: service.answer_problem(entry.answers[lang], lang)
    )
    for problem in problems:
        print(one_line(problem), file=sys.stderr)
    if problems:
        return 1
    print(f"{folder}: ok")
    return 0


def roles_command(settings: Settings, action: str, user_id: int | None, role: str | None) -> int:
    """Grant, revoke or list roles from the command line."""
    if action in ("grant", "revoke") and (user_id is None or role not in ASSIGNABLE_ROLES):
        raise ConfigError(f"usage: cardbot roles {action} USER_ID {'|'.join(ASSIGNABLE_ROLES)}")
    runtime = build_runtime(settings)
    try:
        with runtime.service.unit_of_work() as uow:
            if action == "list":
                for admin in sorted(settings.admin_ids):
                    print(f"{admin}\tadmin (CARDBOT_ADMIN_IDS)")
                for uid, granted in uow.roles.all_roles():
                    print(f"{uid}\t{granted}")
                return 0
            assert user_id is not None and role is not None
            if action == "grant":
                changed = uow.roles.grant(user_id, role, None)
            else:
                changed = uow.roles.revoke(user_id, role)
            uow.commit()
    finally:
        runtime.close()
    verb = "granted" if action == "grant" else "revoked"
    print(f"{role} {verb} for {user_id}" if changed else f"nothing to do: {user_id} {role}")
    return 0
