"""The review team's settings, and the facts every part of the review uses: working days,
the audit trail, the reasons catalogue in the applicant's words, item fingerprints."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cardbot.core.clock import local_date
from cardbot.core.model import Applicant, Application, AuditEvent, Status
from cardbot.core.ports import Clock, UnitOfWork
from cardbot.core.spec import DialogSpec
from cardbot.core.workdays import (
    REVIEW_MAX_DAYS,
    Window,
    WorkingCalendar,
    add_working_days,
    decision_window,
    working_days_after,
)

NUMBER = re.compile(r"DX-\d{4}-\d{6}")  # an application number
RESUBMIT_DAYS = 10  # working days the applicant has to send what a reviewer asked for
# Open applications nobody has claimed may be claimed (one under further checks keeps its
# status when its reviewer lets it go).
CLAIMABLE = frozenset({Status.SUBMITTED, Status.INVESTIGATING})
# Audit events that are records only: they do not change the status the back office follows.
RECORD_ONLY = frozenset(
    {"noted", "notified", "reminded", "revealed", "documents_sent", "documents_read"}
)


@dataclass(frozen=True)
class ReviewTeam:
    """Where the review team works (`chat_id`: the review group, None without one), in which
    language, and what it decides with: the dialogs, the clock and the working calendar."""

    spec: DialogSpec
    clock: Clock
    calendar: WorkingCalendar
    admin_ids: frozenset[int]
    chat_id: int | None
    language: str
    back_office: bool = False

    # -- working days --------------------------------------------------------------------

    def today(self) -> date:
        """Today on the review's clock."""
        return local_date(self.clock.now())

    def due(self, app: Application) -> tuple[date, bool]:
        """The last working day for a decision, and whether the calendar had to estimate."""
        assert app.submitted_at is not None
        return add_working_days(self.calendar, local_date(app.submitted_at), REVIEW_MAX_DAYS)

    def age(self, app: Application, today: date) -> int:
        """Working days since the (re)submission."""
        assert app.submitted_at is not None
        return working_days_after(self.calendar, local_date(app.submitted_at), today)

    def window(self, app: Application) -> Window:
        """The applicant's expected decision window."""
        assert app.submitted_at is not None
        return decision_window(self.calendar, local_date(app.submitted_at))

    # -- records -------------------------------------------------------------------------

    def record(
        self, uow: UnitOfWork, app: Application, event: str, actor: int | None, **data: Any
    ) -> None:
        """Append to the audit trail; a status change also goes to the back office."""
        assert app.number is not None
        now = self.clock.now()
        uow.audit.append(AuditEvent(app.number, event, actor, now, data))
        if self.back_office and event not in RECORD_ONLY:
            uow.outbox.add(
                {
                    "event": event,
                    "number": app.number,
                    "status": app.status.value,
                    "round": app.review.round,
                    "reasons": list(app.review.reasons) if event == "decided" else [],
                    "at": now.isoformat(),
                }
            )

    def status_history(self, uow: UnitOfWork, app: Application) -> list[dict[str, str]]:
        """What the applicant may see of the application's history: status changes by date."""
        if app.number is None:
            return []
        shown = []
        for event in uow.audit.history(app.number):
            status = {
                "submitted": "submitted",
                "claimed": "in_review",
                "investigating": "investigating",
                "resubmitted": "resubmitted",
                "withdrawn": "withdrawn",
                "decided": str(event.data.get("outcome", "")),
            }.get(event.event)
            if status:
                shown.append({"status": status, "date": local_date(event.at).isoformat()})
        return shown

    # -- reasons -------------------------------------------------------------------------

    def notice_context(self, app: Application) -> dict[str, Any]:
        """What decision notices need besides the decision: the category (an individual is
        not told about company records) and the date to resubmit by."""
        resubmit_by, estimate = add_working_days(self.calendar, self.today(), RESUBMIT_DAYS)
        return {
            "category": app.category,
            "resubmit_by": resubmit_by.isoformat(),
            "resubmit_by_estimate": estimate,
        }

    def reason_texts(self, reason_ids: Iterable[str], language: str) -> list[dict[str, str]]:
        """Each reason in the applicant's words and language (unknown ids left out)."""
        shown = []
        for reason_id in reason_ids:
            reason = self.spec.reasons.get(reason_id)
            if reason is None:
                continue
            text = reason.texts.get(language) or reason.texts["zh"]
            shown.append(
                {"title": text.title, "explanation": text.explanation, "improve": text.improve}
            )
        return shown

    def reason_title(self, reason_id: str, language: str) -> str:
        """A reason's title, or its id when the catalogue no longer has it."""
        reason = self.spec.reasons.get(reason_id)
        return reason.texts[language].title if reason else reason_id

    def reasons_for_applicant(self, app: Application, language: str) -> list[dict[str, str]]:
        """Each reason of the decision, in the applicant's words and language."""
        return self.reason_texts(app.review.reasons, language)

    def is_final(self, app: Application) -> bool:
        """True when a rejection cannot be put right by applying again."""
        return any(
            reason.final
            for reason_id in app.review.reasons
            if (reason := self.spec.reasons.get(reason_id)) is not None
        )

    # -- items ---------------------------------------------------------------------------

    def slots(self) -> dict[str, tuple[str, ...]]:
        """Document slots of each document step."""
        return {s.id: s.slots for s in self.spec.steps.values() if s.kind == "document"}

    def applicable(self, app: Application) -> list[str]:
        """The application's steps, in flow order."""
        return [s.id for s in self.spec.applicable_steps(app.category, app.answers)]


def item_digest(
    app: Application, step_ids: Iterable[str], slots: dict[str, tuple[str, ...]]
) -> dict[str, str]:
    """A fingerprint of each item (answer or documents), to tell later what changed."""
    digest = {}
    for step_id in step_ids:
        if step_id in slots:
            documents = app.documents
            parts = [documents[s].sha256 if s in documents else "-" for s in slots[step_id]]
        else:
            parts = [app.answers.get(step_id, "-")]
        digest[step_id] = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
    return digest


def as_current(uow: UnitOfWork, app: Application) -> tuple[Application, Applicant] | None:
    """The application as its applicant holds it, with the applicant, while it is still their
    current one (None for one they have moved on from, or erased)."""
    applicant = uow.load_applicant(app.user_id) if app.user_id is not None else None
    if applicant is None or applicant.application is None:
        return None
    if applicant.application.id != app.id:
        return None
    return applicant.application, applicant
