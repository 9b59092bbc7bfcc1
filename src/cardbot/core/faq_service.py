"""FAQ use cases: the matcher kept current across workers, and each answer's context."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from cardbot.core.clock import local_date
from cardbot.core.faq import FaqEntry, FaqMatcher
from cardbot.core.faq_terms import normalise
from cardbot.core.model import Applicant, Status
from cardbot.core.ports import FaqRepository
from cardbot.core.spec import DialogSpec
from cardbot.core.workdays import WorkingCalendar, decision_window

log = logging.getLogger(__name__)

FILE_NOTE = "faq/"
AnswerCheck = Callable[[str, str, Mapping[str, Any]], str | None]

_ZH_QUESTION = re.compile(
    r"[?？]|[吗呢么][\s。.!！~～]*$|什么|怎么|怎样|如何|多久|多少|几天|几个|几时|为什么|为何|"
    r"能否|可否|是否|能不能|可不可以|有没有|哪里|哪些|哪个|哪儿|啥时候|干啥|咋办"
)
_EN_QUESTION = re.compile(
    r"\?|^(how|what|when|why|where|who|which|can|could|do|does|did|is|are|will|would|should|"
    r"may|shall|have|has)\b"
)


def fingerprint(entry: FaqEntry) -> str:
    """A short digest of an entry's content, to tell whether a faq/ file changed."""
    data = json.dumps(dataclasses.asdict(entry), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def merge_questions(from_file: FaqEntry, edited: FaqEntry) -> FaqEntry:
    """The file's questions, keywords and tags with the edited entry's answers and questions."""
    questions = {
        lang: tuple(
            dict.fromkeys((*from_file.questions.get(lang, ()), *edited.questions.get(lang, ())))
        )
        for lang in {*from_file.questions, *edited.questions}
    }
    return FaqEntry(from_file.id, questions, edited.answers, from_file.keywords, from_file.tags)


def looks_like_question(text: str) -> bool:
    """True when the text reads as a question rather than an answer."""
    clean = normalise(text)
    return bool(_ZH_QUESTION.search(clean) or _EN_QUESTION.search(clean))


class FaqService:
    """Matches questions against the current entries and prepares each answer's variables."""

    def __init__(
        self,
        spec: DialogSpec,
        calendar: WorkingCalendar,
        check_answer: AnswerCheck,
        negatives: Sequence[str] = (),
    ) -> None:
        self.spec = spec
        self.negatives = tuple(negatives)
        self.calendar = calendar
        self.check_answer = check_answer
        self._matcher: FaqMatcher | None = None
        self._version: int | None = None
        self._lock = threading.Lock()

    def matcher(self, repository: FaqRepository) -> FaqMatcher:
        """The matcher over the latest entries; rebuilt when any process changed an entry."""
        version = repository.version()
        with self._lock:
            if self._matcher is None or version != self._version:
                self._matcher = FaqMatcher(repository.current_entries(), negatives=self.negatives)
                self._version = version
            return self._matcher

    def seed(self, repository: FaqRepository, entries: Iterable[FaqEntry]) -> int:
        """Store file entries that are new or changed since they were last read from faq/.

        A file changed after staff edited its entry in the bot keeps the staff's answers and
        added questions, and takes the file's new questions, keywords and tags.
        """
        added = 0
        for entry in entries:
            note = f"{FILE_NOTE} {fingerprint(entry)}"
            history = repository.history(entry.id)
            from_files = [r for r in history if r.note.startswith(FILE_NOTE)]
            if from_files and from_files[-1].note == note:
                continue
            latest = history[-1] if history else None
            if latest is not None and not latest.note.startswith(FILE_NOTE):
                log.warning(
                    "faq/%s changed after staff edits: the staff answers are kept", entry.id
                )
                entry = merge_questions(entry, latest.entry)
            repository.save_entry(entry, None, note)
            added += 1
        return added

    def requirements(self) -> list[dict[str, Any]]:
        """For each category, what it asks for, from dialogs/: the details (label keys), the
        documents as groups of alternatives (the ID card's two sides, or the passport page),
        and the documents it may skip."""
        result = []
        for category in self.spec.categories.values():
            fields: list[str] = []
            required: list[list[list[str]]] = []
            optional: list[list[list[str]]] = []
            branch_on: tuple[str, ...] | None = None
            for step_id in category.steps:
                step = self.spec.steps[step_id]
                if step.kind != "document":
                    fields.append(f"step.{step_id}")
                    continue
                documents = [f"document.{slot}" for slot in step.slots]
                groups = optional if step_id in category.optional else required
                key = tuple(step.when)
                if key and key == branch_on and groups:
                    groups[-1].append(documents)  # another alternative of the same choice
                else:
                    groups.append([documents])
                branch_on = key or None
            result.append(
                {
                    "category": category.id,
                    "fields": fields,
                    "documents": required,
                    "optional_documents": optional,
                }
            )
        return result

    def answer_context(
        self, applicant: Applicant | None, today: date | None = None, *, support: bool = True
    ) -> dict[str, Any]:
        """The variables every answer may use: requirements, the asker's decision window, and
        whether a question can go to the support team (`support`)."""
        context: dict[str, Any] = {
            "requirements": self.requirements(),
            "expected": None,
            "support": support,
        }
        app = applicant.application if applicant else None
        if app is not None and app.status == Status.SUBMITTED and app.submitted_at:
            submitted = local_date(app.submitted_at)
            context["expected"] = self._expected(app.number, submitted, today or submitted)
        return context

    def _expected(self, number: str | None, submitted: date, today: date) -> dict[str, Any]:
        window = decision_window(self.calendar, submitted)
        return {
            "number": number,
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "estimate": window.estimate,
            "overdue": window.end < today,
        }

    def sample_contexts(self) -> list[dict[str, Any]]:
        """Every kind of asker an answer must render for: none yet (with and without a support
        team), and submitted applicants with an ordinary, an estimated and an overdue window."""
        none = self.answer_context(None)
        samples = [none, self.answer_context(None, support=False)]
        for submitted, today in (
            (date(2026, 11, 30), date(2026, 12, 1)),
            (date(2026, 12, 28), date(2026, 12, 29)),
            (date(2026, 11, 2), date(2026, 12, 1)),
        ):
            samples.append(
                {**none, "expected": self._expected("DX-2026-000123", submitted, today)}
            )
        return samples

    def sample_context(self) -> dict[str, Any]:
        """Variables for a preview: a submitted applicant with an ordinary window."""
        return self.sample_contexts()[2]

    def answer_problem(self, source: str, language: str) -> str | None:
        """Why an answer template cannot be published (it must render as a valid Telegram
        message for every kind of asker), or None."""
        for context in self.sample_contexts():
            error = self.check_answer(source, language, context)
            if error:
                return error
        return None
