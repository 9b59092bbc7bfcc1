"""The applicant's rights over their data: see it (/mydata), erase it (/delete); retention."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cardbot.core.asking import prompt
from cardbot.core.clock import local_date
from cardbot.core.dependencies import Dependencies
from cardbot.core.model import OPEN_STATUSES, Application
from cardbot.core.replies import Attachment, Button, Reply
from cardbot.core.review.submissions import on_erased
from cardbot.core.spec import DialogSpec
from cardbot.core.turn import Turn

log = logging.getLogger(__name__)

RETENTION_DAYS = 180
PURGE_BATCH = 200
# What an application's audit trail keeps once its data is erased or purged: no free text.
AUDIT_KEEP = frozenset({"outcome", "reasons", "round", "field", "erased"})
PRIVACY_COMMANDS = ("mydata", "delete")


@dataclass(frozen=True)
class PurgeReport:
    """What a retention run removed."""

    numbers: list[str]
    files: int


# -- /mydata ---------------------------------------------------------------------------


def my_data(turn: Turn) -> None:
    """Send the applicant everything stored about them, documents included."""
    applicant = turn.applicant
    applications = _applications(turn)
    attachments = tuple(
        Attachment(doc.storage_key, doc.mime_type, f"document.{slot}")
        for app in applications
        for slot, doc in sorted(app.documents.items())
    )
    questions = (
        turn.uow.support.count_recent(applicant.user_id, datetime(2000, 1, 1, tzinfo=UTC))
        if applications or applicant.consent_at
        else 0
    )
    retention_days = turn.service.retention_days
    context: dict[str, Any] = {
        "user_id": applicant.user_id,
        "language_code": applicant.language,
        "consent_at": _day(applicant.consent_at),
        "applications": [_describe(turn.spec, app, retention_days) for app in applications],
        "questions": questions,
        "retention_days": retention_days,
    }
    turn.replies.append(
        Reply(
            "mydata",
            applicant.chat_id,
            applicant.language,
            context,
            buttons=((Button("button.delete_data", "del:ask"),),),
            attachments=attachments,
        )
    )
    if turn.in_flow():
        prompt(turn)


def _applications(turn: Turn) -> list[Application]:
    """The user's stored applications, with the current one as this turn sees it."""
    current = turn.applicant.application
    stored = [
        app
        for app in turn.uow.applications_of(turn.applicant.user_id)
        if current is None or app.id != current.id
    ]
    if current is not None:
        stored.append(current)
    return stored


def _describe(spec: DialogSpec, app: Application, retention_days: int) -> dict[str, Any]:
    steps = spec.step_order
    return {
        "number": app.number,
        "category": app.category,
        "status": app.status.value,
        "created_at": _day(app.created_at),
        "submitted_at": _day(app.submitted_at),
        "closed_at": _day(app.closed_at),
        "purged_at": _day(app.purged_at),
        "delete_after": _day(app.closed_at + timedelta(days=retention_days))
        if app.closed_at and not app.purged_at
        else None,
        "answers": [
            {
                "step": step,
                "value": app.answers[step],
                "choice": step in spec.steps and bool(spec.steps[step].choices),
            }
            for step in sorted(app.answers, key=lambda s: steps.index(s) if s in steps else 99)
        ],
        "proposed": [  # read from a photo, not yet confirmed (or typed instead)
            {"step": step, "value": app.proposed[step]} for step in steps if app.proposed.get(step)
        ],
        "documents": [
            {
                "slot": slot,
                "mime_type": doc.mime_type,
                "size_kb": max(1, doc.size // 1024),
                "received_at": _day(doc.received_at),
            }
            for slot, doc in sorted(app.documents.items())
        ],
    }


# -- /delete ---------------------------------------------------------------------------


def ask_delete(turn: Turn) -> None:
    """Ask to confirm erasing everything (an application under review is withdrawn)."""
    app = turn.applicant.application
    under_review = app is not None and app.status in OPEN_STATUSES
    turn.say(
        "delete_confirm",
        (
            (
                Button("button.delete_yes", "del:yes"),
                Button("button.delete_no", "del:no"),
            ),
        ),
        under_review=under_review,
        number=app.number if app is not None and under_review else None,
    )
    turn.applicant.pending_action = "delete"


def on_button(turn: Turn, value: str) -> bool:
    """The buttons of /mydata and of the erase confirmation; False when stale."""
    if value == "ask":
        ask_delete(turn)
    elif value == "yes" and turn.pending_action == "delete":
        erase(turn)
    elif value == "no" and turn.pending_action == "delete":
        turn.say("delete_kept")
        prompt(turn)
    else:
        return False
    return True


def erase(turn: Turn) -> None:
    """Withdraw what is under review, then delete the applicant's rows (overwritten on disk
    once committed) and files."""
    uow, user_id = turn.uow, turn.applicant.user_id
    current = turn.applicant.application
    team = turn.service.review.team
    if current is not None and current.status in OPEN_STATUSES:
        turn.replies += on_erased(team, uow, current, user_id)
    for app in _applications(turn):
        if app.number is not None:
            team.record(uow, app, "erased", user_id, erased=True)
            uow.audit.scrub(app.number, AUDIT_KEEP)
    keys = uow.erase_user(user_id)
    uow.wipe_deleted_on_commit()
    if current is not None:
        keys += [d.storage_key for d in current.documents.values()]
    turn.obsolete_keys.extend(dict.fromkeys(keys))
    turn.applicant.application = None
    turn.forget = True
    turn.say("deleted", ((Button("button.start", "nav:start"),),))


# -- retention -------------------------------------------------------------------------


class Retention:
    """Deletes personal data once the retention period after a final decision has passed."""

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        self.retention_days = deps.retention_days

    def purge(self, now: datetime | None = None) -> PurgeReport:
        """Delete answers and documents of applications closed longer than the retention
        period; the application number, status and audit trail (without free text) stay.
        Then overwrite what was deleted (by this run or since the last) where the database
        keeps old copies."""
        deps = self.deps
        now = now or deps.clock.now()
        cutoff = now - timedelta(days=self.retention_days)
        numbers: list[str] = []
        files = 0
        while True:
            with deps.unit_of_work() as uow:
                batch = uow.closed_before(cutoff, PURGE_BATCH)
                keys: list[str] = []
                for app in batch:
                    assert app.id is not None
                    keys += uow.purge_application(app.id)
                    if app.number is not None:
                        deps.review.team.record(uow, app, "purged", None)
                        uow.audit.scrub(app.number, AUDIT_KEEP)
                        numbers.append(app.number)
                uow.commit()
            deps.delete_quietly(keys)
            files += len(keys)
            if len(batch) < PURGE_BATCH:
                break
        # Every hour, also for what /delete erased and documents deleted after their commit.
        with deps.unit_of_work() as uow:
            uow.wipe_deleted_on_commit(thorough=True)
            uow.commit()
        if numbers:
            log.info("retention: purged %d applications, %d files", len(numbers), files)
        return PurgeReport(numbers, files)


def _day(moment: datetime | None) -> str | None:
    return local_date(moment).isoformat() if moment else None
