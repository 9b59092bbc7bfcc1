"""The staff desk in a private chat: FAQ edits with preview and history, unanswered questions,
and the admin's role commands. Every action checks the caller's role here, on the server."""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cardbot.core import admin_roles
from cardbot.core import staff_unanswered as unanswered
from cardbot.core.clock import local_time
from cardbot.core.faq import ENTRY_ID, FAQ_LANGUAGES, MAX_LISTED, FaqEntry
from cardbot.core.replies import Button
from cardbot.core.report_desk import REPORT_COMMANDS, request_report
from cardbot.core.roles import ADMIN, STAFF, roles_of

if TYPE_CHECKING:
    from cardbot.core.faq_service import FaqService
    from cardbot.core.turn import Turn

log = logging.getLogger(__name__)

STAFF_COMMANDS = ("faqadmin", "unanswered", *REPORT_COMMANDS)
ADMIN_COMMANDS = ("grant", "revoke", "roles")
MAX_ANSWER = 3000
MAX_QUESTION = 300
NEW_ENTRY_STEPS = ("question:zh", "question:en", "answer:zh", "answer:en")


class StaffDesk:
    """Staff and admin actions for the person of one Turn."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.applicant = turn.applicant
        self.uow = turn.uow

    # -- roles ---------------------------------------------------------------------------

    def roles(self) -> set[str]:
        """The caller's roles, checked against the database and the configuration now."""
        return roles_of(self.applicant.user_id, self.uow.roles, self.turn.service.admin_ids)

    def allowed(self, role: str, action: str) -> bool:
        """True when the caller holds `role`; otherwise refuse politely and log it."""
        if role in self.roles():
            return True
        log.warning("refused %s for user %s: not %s", action, self.applicant.user_id, role)
        self.turn.say("not_allowed")
        self.turn.prompt()
        return False

    @property
    def faq(self) -> FaqService:
        """The FAQ service (staff commands exist only where there is an FAQ)."""
        assert self.turn.service.faq is not None
        return self.turn.service.faq

    # -- commands ------------------------------------------------------------------------

    def on_command(self, name: str, args: str) -> None:
        """A staff or admin command."""
        if name in ADMIN_COMMANDS:
            if self.allowed(ADMIN, name):
                admin_roles.on_admin(self.turn, name, args.split())
            return
        if name in REPORT_COMMANDS:
            if self.allowed(STAFF, name):
                request_report(self.turn, self.turn.service.reports)
            return
        if not self.allowed(STAFF, name) or self.turn.service.faq is None:
            return
        if name == "faqadmin":
            self.list_entries()
        else:
            unanswered.list_unanswered(self.turn)

    # -- buttons -------------------------------------------------------------------------

    def on_button(self, scope: str, value: str) -> bool:
        """fa:… (FAQ editing) and ua:… (unanswered questions); False when not understood."""
        if not self.allowed(STAFF, f"{scope}:{value}"):
            return True
        if self.turn.service.faq is None:
            return False
        parts = value.split(":")
        handlers: dict[tuple[str, str], Callable[[], bool | None]] = {
            ("fa", "list"): lambda: self.list_entries(),
            ("fa", "e"): lambda: self.show_entry(parts[1]),
            ("fa", "a"): lambda: self.start_edit("answer", parts[1], parts[2]),
            ("fa", "q"): lambda: self.start_edit("question", parts[1], parts[2]),
            ("fa", "h"): lambda: self.show_history(parts[1]),
            ("fa", "r"): lambda: self.roll_back(parts[1], parts[2]),
            ("fa", "new"): lambda: self.start_new(),
            ("fa", "pub"): lambda: self.publish(),
            ("fa", "drop"): lambda: self.discard(),
            ("ua", "a"): lambda: unanswered.choose_entry_for(self.turn, parts[1]),
            ("ua", "t"): lambda: unanswered.attach(self.turn, parts[1], parts[2]),
            ("ua", "d"): lambda: unanswered.dismiss(self.turn, parts[1]),
        }
        handler = handlers.get((scope, parts[0]))
        if handler is None:
            return False
        try:
            result = handler()
        except IndexError:
            return False
        return result is not False

    # -- FAQ entries ---------------------------------------------------------------------

    def entries(self) -> dict[str, FaqEntry]:
        """The current entries, as every process sees them."""
        return self.turn.faq_matcher().entries

    def list_entries(self) -> None:
        """Every entry with its first question (in the staff member's language when it has
        one), as a list and as buttons, and a button to add an entry."""
        language = self.applicant.language
        listed = [
            {"id": entry_id, "question": first_question(entry, language)}
            for entry_id, entry in list(self.entries().items())[:MAX_LISTED]
        ]
        rows = [
            (Button("", f"fa:e:{e['id']}", text=button_text(e["id"], e["question"])),)
            for e in listed
        ]
        rows.append((Button("staff.new_entry", "fa:new"),))
        self.turn.say("staff/entries", tuple(rows))

    def show_entry(self, entry_id: str) -> bool:
        """One entry's questions and answers, with what can be done to it."""
        entry = self.entries().get(entry_id)
        if entry is None:
            return False
        rows: list[tuple[Button, ...]] = [
            tuple(
                Button(f"staff.edit_answer_{lang}", f"fa:a:{entry_id}:{lang}")
                for lang in FAQ_LANGUAGES
            ),
            tuple(
                Button(f"staff.add_question_{lang}", f"fa:q:{entry_id}:{lang}")
                for lang in FAQ_LANGUAGES
            ),
            (Button("staff.history", f"fa:h:{entry_id}"), Button("staff.all_entries", "fa:list")),
        ]
        self.turn.say(
            "staff/entry",
            tuple(rows),
            entry=entry.id,
            questions={lang: list(entry.questions.get(lang, ())) for lang in FAQ_LANGUAGES},
            answers={lang: entry.answers.get(lang, "") for lang in FAQ_LANGUAGES},
        )
        return True

    def start_edit(self, kind: str, entry_id: str, language: str) -> bool:
        """Wait for the staff member's new answer or question variant."""
        if entry_id not in self.entries() or language not in FAQ_LANGUAGES:
            return False
        self.set_draft(kind, {"entry": entry_id, "lang": language})
        self.turn.say(
            f"staff/ask_{kind}",
            ((Button("staff.discard", "fa:drop"),),),
            entry=entry_id,
            language=language,
        )
        return True

    def start_new(self) -> None:
        """Begin a new entry: its id first."""
        self.set_draft("new:id", {})
        self.turn.say("staff/ask_new_id", ((Button("staff.discard", "fa:drop"),),))

    def show_history(self, entry_id: str) -> bool:
        """Every revision of an entry, each with a button to roll back to it."""
        history = self.uow.faq.history(entry_id)
        if not history:
            return False
        revisions = [
            {
                "revision": r.revision,
                "author": r.author_id,
                "note": r.note,
                "at": local_time(r.created_at).strftime("%Y-%m-%d %H:%M"),
            }
            for r in history
        ]
        rows = tuple(
            (Button("staff.roll_back", f"fa:r:{entry_id}:{r.revision}", text=f" r{r.revision}"),)
            for r in history[:-1][-8:]
        )
        self.turn.say(
            "staff/history",
            (*rows, (Button("staff.all_entries", "fa:list"),)),
            entry=entry_id,
            revisions=revisions[-10:],
        )
        return True

    def roll_back(self, entry_id: str, revision: str) -> bool:
        """Make an earlier revision current again (as a new revision, so nothing is lost)."""
        found = [r for r in self.uow.faq.history(entry_id) if str(r.revision) == revision]
        if not found:
            return False
        number = self.uow.faq.save_entry(
            found[0].entry, self.applicant.user_id, f"rollback to r{revision}"
        )
        self.turn.say("staff/rolled_back", entry=entry_id, revision=revision, new=number)
        return True

    # -- typed input ---------------------------------------------------------------------

    def set_draft(self, action: str, draft: dict[str, Any]) -> None:
        """Remember what the staff member is doing, across messages and restarts."""
        self.applicant.staff_action = action
        self.applicant.staff_draft = json.dumps(draft, ensure_ascii=False)

    def draft(self) -> dict[str, Any]:
        """What the staff member has typed so far."""
        try:
            data = json.loads(self.applicant.staff_draft or "{}")
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    def clear(self) -> None:
        """Forget the staff action in progress."""
        self.applicant.staff_action = None
        self.applicant.staff_draft = None

    def on_text(self, text: str) -> None:
        """Text typed while an edit is in progress."""
        if STAFF not in self.roles():
            self.clear()
            self.turn.on_text(text)
            return
        action = self.applicant.staff_action or ""
        draft = self.draft()
        text = text.strip()
        if action == "answer":
            self.preview(draft["entry"], {draft["lang"]: text}, draft)
        elif action == "question":
            self.add_question(draft["entry"], draft["lang"], text)
        elif action.startswith("new:"):
            self.new_entry_step(action[4:], draft, text)
        else:
            self.clear()
            self.turn.on_text(text)

    def preview(self, entry_id: str, answers: dict[str, str], draft: dict[str, Any]) -> None:
        """Render the new answer(s) as applicants would see them, and ask to publish."""
        for language, source in answers.items():
            problem = (
                "too long"
                if len(source) > MAX_ANSWER
                else self.faq.answer_problem(source, language)
            )
            if problem:
                self.turn.say("staff/template_error", language=language, error=problem)
                return
        self.set_draft("publish", {**draft, "entry": entry_id, "answers": answers})
        for language, source in answers.items():
            self.turn.say("staff/preview", language=language)
            self.turn.replies.append(
                self.turn.reply_from_source(source, self.faq.sample_context(), language)
            )
        self.turn.say(
            "staff/confirm_publish",
            ((Button("staff.publish", "fa:pub"), Button("staff.discard", "fa:drop")),),
            entry=entry_id,
        )

    def publish(self) -> bool:
        """Store the previewed answer(s) (or new entry) as a new revision."""
        if self.applicant.staff_action != "publish":
            return False
        draft = self.draft()
        entry_id = draft["entry"]
        entry = self.entries().get(entry_id)
        if draft.get("new"):
            entry = FaqEntry(
                entry_id,
                {lang: (draft["questions"][lang],) for lang in FAQ_LANGUAGES},
                dict(draft["answers"]),
            )
            note = "new entry"
        elif entry is not None:
            for language, source in draft["answers"].items():
                entry = entry.with_answer(language, source)
            note = f"answer {','.join(draft['answers'])}"
        else:
            return False
        revision = self.uow.faq.save_entry(entry, self.applicant.user_id, note)
        self.clear()
        log.info("faq %s r%s published by %s", entry_id, revision, self.applicant.user_id)
        self.turn.say(
            "staff/published",
            ((Button("staff.all_entries", "fa:list"),),),
            entry=entry_id,
            revision=revision,
        )
        self.back_to_application()
        return True

    def back_to_application(self) -> None:
        """A staff member who is also filling in an application gets their question back."""
        if self.turn.in_flow():
            self.turn.prompt()

    def discard(self) -> bool:
        """Drop the edit in progress; nothing changes."""
        self.clear()
        self.turn.say("staff/discarded")
        self.back_to_application()
        return True

    def add_question(self, entry_id: str, language: str, question: str) -> None:
        """Add a question variant, so the entry matches it from now on."""
        entry = self.entries().get(entry_id)
        if entry is None or not question or len(question) > MAX_QUESTION:
            self.turn.say("staff/invalid_question", limit=MAX_QUESTION)
            return
        self.uow.faq.save_entry(
            entry.with_question(language, question),
            self.applicant.user_id,
            f"question {language}",
        )
        self.clear()
        self.turn.say(
            "staff/question_added",
            ((Button("", f"fa:e:{entry_id}", text=entry_id),),),
            entry=entry_id,
            question=question,
        )
        self.back_to_application()

    def new_entry_step(self, step: str, draft: dict[str, Any], text: str) -> None:
        """One step of a new entry: id, then a question and an answer in each language."""
        if step == "id":
            if not ENTRY_ID.match(text) or text in self.entries():
                self.turn.say("staff/invalid_id")
                return
            draft = {"new": True, "entry": text, "questions": {}, "answers": {}}
        else:
            kind, language = step.split(":")
            limit = MAX_QUESTION if kind == "question" else MAX_ANSWER
            if not text or len(text) > limit:
                self.turn.say("staff/invalid_question", limit=limit)
                return
            draft[f"{kind}s"][language] = text
        following = [
            s
            for s in NEW_ENTRY_STEPS
            if s.split(":")[1] not in draft.get(f"{s.split(':')[0]}s", {})
        ]
        if following:
            self.set_draft(f"new:{following[0]}", draft)
            kind, language = following[0].split(":")
            self.turn.say(
                f"staff/ask_{kind}",
                ((Button("staff.discard", "fa:drop"),),),
                entry=draft["entry"],
                language=language,
            )
            return
        self.preview(draft["entry"], dict(draft["answers"]), draft)


# A button shows this much of an entry's first question (in columns: a Chinese character
# takes two), so that a phone shows the button on one or two lines.
BUTTON_QUESTION_COLUMNS = 44


def first_question(entry: FaqEntry, language: str) -> str:
    """The entry's first question in `language`, else in the first language that has one."""
    for lang in (language, *FAQ_LANGUAGES, *entry.questions):
        if entry.questions.get(lang):
            return entry.questions[lang][0]
    return ""


def button_text(entry_id: str, question: str) -> str:
    """An entry's button: its id and its first question (its start, when long)."""
    if not question:
        return entry_id
    shown, columns = [], 0
    for char in question:
        columns += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if columns > BUTTON_QUESTION_COLUMNS - 1:
            shown.append("…")
            break
        shown.append(char)
    return f"{entry_id} · {''.join(shown)}"
