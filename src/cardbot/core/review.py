"""The review desk: complete packages to the review group, reviewers' taps, decisions back.

Every button on a review card carries only the application id and an operation; what the
operation may do is decided here, from the database, for the person who pressed it: their
role, who has claimed the application, its status and the decision being prepared.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cardbot.core.clock import local_date, local_time
from cardbot.core.events import ButtonPress, Command, Event, GroupReply, Incoming, UserRef
from cardbot.core.log_context import about_application
from cardbot.core.model import (
    DECIDED_STATUSES,
    WITH_REVIEWERS,
    Applicant,
    Application,
    AuditEvent,
    Status,
)
from cardbot.core.ports import UnitOfWork, post
from cardbot.core.replies import Attachment, Button, Reply
from cardbot.core.roles import REVIEWER, roles_of
from cardbot.core.text import mask_id_number
from cardbot.core.workdays import (
    REVIEW_MAX_DAYS,
    Window,
    add_working_days,
    decision_window,
    working_days_after,
)

if TYPE_CHECKING:
    from cardbot.core.conversation import ConversationService, Turn

log = logging.getLogger(__name__)

REVIEW_COMMANDS = ("queue", "show")
REMIND_ON_DAY = 8
MAX_COMMENT = 1000
MAX_NOTE = 1000
NOTES_ON_CARD = 3
MAX_QUEUE = 40
MAX_NAME = 64
NUMBER = re.compile(r"DX-\d{4}-\d{6}")
MASKED_STEPS = frozenset({"id_number"})


def card_tag(application_id: int) -> str:
    """The name under which an application's latest review card is remembered."""
    return f"card:{application_id}"


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


class ReviewDesk:
    """Reviewers' actions in the review group, and the application's side of the review."""

    def __init__(
        self,
        service: ConversationService,
        chat_id: int | None,
        language: str,
        *,
        back_office: bool = False,
    ) -> None:
        self.service = service
        self.chat_id = chat_id
        self.language = language
        self.back_office = back_office
        self.spec = service.spec
        self.calendar = service.calendar

    # -- working days --------------------------------------------------------------------

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
        now = self.service.clock.now()
        uow.audit.append(AuditEvent(app.number, event, actor, now, data))
        if self.back_office and event not in ("noted", "notified", "reminded", "revealed"):
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

    # -- the card ------------------------------------------------------------------------

    def slots(self) -> dict[str, tuple[str, ...]]:
        """Document slots of each document step."""
        return {s.id: s.slots for s in self.spec.steps.values() if s.kind == "document"}

    def card_context(self, app: Application, today: date) -> dict[str, Any]:
        """Everything the card template shows."""
        steps = self.spec.applicable_steps(app.category, app.answers)
        changed = set(app.review.changed)
        answers = [
            {
                "step": s.id,
                "kind": s.kind,
                "value": mask_id_number(app.answers.get(s.id, ""))
                if s.id in MASKED_STEPS
                else app.answers.get(s.id, ""),
                "changed": s.id in changed,
            }
            for s in steps
            if s.kind != "document"
        ]
        documents = [
            {"slot": slot, "changed": s.id in changed, "present": slot in app.documents}
            for s in steps
            if s.kind == "document"
            for slot in s.slots
            if slot in app.documents or s.id not in app.skipped
        ]
        due, estimate = self.due(app)
        review = app.review
        draft = review.draft or {}
        return {
            "number": app.number,
            "category": app.category,
            "status": app.status.value,
            "round": review.round,
            "answers": answers,
            "documents": documents,
            "flags": [
                {"code": f.code, "applications": list(f.applications), "field": f.field}
                for f in app.flags
            ],
            "submitted_at": local_time(app.submitted_at).strftime("%Y-%m-%d %H:%M")
            if app.submitted_at
            else None,
            "due": due.isoformat(),
            "due_estimate": estimate,
            "age": self.age(app, today),
            "limit": REVIEW_MAX_DAYS,
            "reviewer": review.reviewer_name,
            "reviewer_id": review.reviewer_id,
            "decided_at": local_time(review.decided_at).strftime("%Y-%m-%d %H:%M")
            if review.decided_at
            else None,
            "reasons": [self.reason_title(r, self.language) for r in review.reasons],
            "comment": review.comment,
            "requested": list(review.requested),
            "changed": [s for s in app.review.changed],
            "notes": review.notes[-NOTES_ON_CARD:],
            "note_count": len(review.notes),
            "draft": draft.get("action"),
            "stage": draft.get("stage"),
        }

    def reason_title(self, reason_id: str, language: str) -> str:
        """A reason's title, or its id when the catalogue no longer has it."""
        reason = self.spec.reasons.get(reason_id)
        return reason.texts[language].title if reason else reason_id

    def card_buttons(self, app: Application) -> tuple[tuple[Button, ...], ...]:
        """The buttons a card shows in the application's current status and draft."""
        assert app.id is not None
        prefix = f"rv:{app.id}:"

        def button(label: str, op: str) -> Button:
            return Button(f"review.{label}", prefix + op)

        status, draft = app.status, app.review.draft
        if status in DECIDED_STATUSES:
            return ()
        last_row: tuple[Button, ...] = (button("note", "note"),)
        if any(app.answers.get(step) for step in MASKED_STEPS):
            last_row = (*last_row, button("reveal", "reveal"))
        if status == Status.SUBMITTED:
            return ((button("claim", "claim"),), last_row)
        if status == Status.RESUBMISSION_REQUESTED:
            return (last_row,)
        if draft is None:
            second = [button("resubmit", "resubmit")]
            if status == Status.IN_REVIEW:
                second.append(button("investigate", "investigate"))
            return (
                (button("approve", "approve"), button("reject", "reject")),
                tuple(second),
                last_row,
            )
        action = draft["action"]
        send_row = (button("send", "send"), button("comment", "comment"))
        back_row = (button("back", "back"),)
        if action == "approve":
            return ((button("confirm_approve", "approve_ok"),), back_row)
        if action == "resubmit" and draft.get("stage") == "items":
            items = [s.id for s in self.spec.applicable_steps(app.category, app.answers)]
            chosen = draft.get("items", [])
            rows = [
                (Button(f"step.{item}", f"{prefix}i:{item}", selected=item in chosen),)
                for item in items
            ]
            return (*rows, send_row, back_row)
        decision = "reject" if action == "reject" else "resubmit"
        rows = [
            (
                Button(
                    "",
                    f"{prefix}r:{reason.id}",
                    text=reason.texts[self.language].title,
                    selected=reason.id in draft.get("reasons", []),
                ),
            )
            for reason in self.spec.reasons.values()
            if decision in reason.decisions
        ]
        if action == "resubmit":
            return (*rows, (button("next", "next"),), back_row)
        return (*rows, send_row, back_row)

    def card(
        self, app: Application, today: date, *, edit: bool, attachments: bool = False
    ) -> Reply | None:
        """The review card, posted anew (with the documents) or edited in place."""
        if self.chat_id is None or app.id is None:
            return None
        documents: tuple[Attachment, ...] = ()
        if attachments:
            changed = set(app.review.changed)
            resubmitted = app.review.round > 1 and bool(changed)
            documents = tuple(
                Attachment(
                    app.documents[slot].storage_key,
                    app.documents[slot].mime_type,
                    f"document.{slot}",
                )
                for step in self.spec.applicable_steps(app.category, app.answers)
                if step.kind == "document" and (not resubmitted or step.id in changed)
                for slot in step.slots
                if slot in app.documents
            )
        return Reply(
            "review/card",
            self.chat_id,
            self.language,
            self.card_context(app, today),
            self.card_buttons(app),
            attachments=documents,
            tag=card_tag(app.id),
            edit=edit,
        )

    # -- the applicant's side ------------------------------------------------------------

    def on_submitted(self, turn: Turn) -> None:
        """A package passed screening: record it and post it to the reviewers."""
        app = turn.app
        if app.review.requested:
            app.review.changed = sorted(
                step
                for step, value in item_digest(
                    app,
                    [s.id for s in turn.model.applicable_steps()],
                    self.slots(),
                ).items()
                if app.review.digest.get(step) != value
            )
            app.review.round += 1
            app.review.requested = []
            app.review.digest = {}
            app.redo = set()
            app.status = Status.IN_REVIEW if app.review.reviewer_id else Status.SUBMITTED
            self.record(
                turn.uow, app, "resubmitted", turn.applicant.user_id, changed=app.review.changed
            )
        else:
            self.record(turn.uow, app, "submitted", turn.applicant.user_id)
        card = self.card(app, turn.today(), edit=False, attachments=True)
        if card is not None:
            turn.replies.append(card)

    def on_withdrawn(self, turn: Turn) -> None:
        """The applicant withdrew an application under review: record it, update the card."""
        app = turn.app
        app.status = Status.WITHDRAWN
        app.review.decided_at = self.service.clock.now()
        app.review.draft = None
        app.redo = set()
        self.record(turn.uow, app, "withdrawn", turn.applicant.user_id)
        card = self.card(app, turn.today(), edit=True)
        if card is not None:
            turn.replies.append(card)

    def on_erased(self, turn: Turn) -> None:
        """The applicant erased their data while under review: withdraw the application and
        replace its card with a notice that keeps no personal data."""
        app = turn.app
        app.status = Status.WITHDRAWN
        app.review.decided_at = self.service.clock.now()
        app.review.draft = None
        self.record(turn.uow, app, "withdrawn", turn.applicant.user_id, erased=True)
        if self.chat_id is None or app.id is None:
            return
        notice = {"number": app.number}
        turn.replies.append(
            Reply(
                "review/erased",
                self.chat_id,
                self.language,
                notice,
                tag=f"card:{app.id}",
                edit=True,
            )
        )
        turn.replies.append(Reply("review/erased", self.chat_id, self.language, notice))

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

    def reasons_for_applicant(self, app: Application, language: str) -> list[dict[str, str]]:
        """Each reason of the decision, in the applicant's words and language."""
        shown = []
        for reason_id in app.review.reasons:
            reason = self.spec.reasons.get(reason_id)
            if reason is None:
                continue
            text = reason.texts.get(language) or reason.texts["zh"]
            shown.append(
                {"title": text.title, "explanation": text.explanation, "improve": text.improve}
            )
        return shown

    def is_final(self, app: Application) -> bool:
        """True when a rejection cannot be put right by applying again."""
        return any(
            reason.final
            for reason_id in app.review.reasons
            if (reason := self.spec.reasons.get(reason_id)) is not None
        )

    # -- the group -----------------------------------------------------------------------

    def handle(self, incoming: Incoming) -> list[Reply]:
        """One reviewer event from the review group, in one transaction, once per delivery."""
        with self.service.unit_of_work() as uow:
            if not uow.claim_update(incoming.key):
                return uow.messages.pending_for(incoming.key)
            action = GroupAction(self, uow, incoming.user)
            action.run(incoming.event)
            replies = post(uow, action.replies, incoming.key)
            uow.commit()
        self.service.delete_quietly(action.obsolete_keys)
        return replies

    def reminders(self) -> list[Reply]:
        """Remind the group of applications on their 8th working day without a decision
        (written to the outbox with the change that records them)."""
        if self.chat_id is None:
            return []
        replies: list[Reply] = []
        with self.service.unit_of_work() as uow:
            now = self.service.clock.now()
            today = local_date(now)
            # N working days ago is more than N - 1 calendar days ago, in any time zone: only
            # those are read (not every open application, however many there are).
            old_enough = now - timedelta(days=REMIND_ON_DAY - 1)
            for app in uow.open_applications(submitted_before=old_enough):
                reminded = app.review.reminded_round >= app.review.round
                if app.status not in WITH_REVIEWERS or reminded:
                    continue
                if self.age(app, today) < REMIND_ON_DAY or app.user_id is None:
                    continue
                applicant = uow.load_applicant(app.user_id)
                if applicant is None or applicant.application is None:
                    continue
                current = applicant.application
                if current.id != app.id:
                    continue
                current.review.reminded_round = current.review.round
                uow.save_applicant(applicant)
                self.record(uow, current, "reminded", None)
                due, estimate = self.due(current)
                replies.append(
                    Reply(
                        "review/reminder",
                        self.chat_id,
                        self.language,
                        {
                            "number": current.number,
                            "age": self.age(current, today),
                            "due": due.isoformat(),
                            "due_estimate": estimate,
                            "reviewer": current.review.reviewer_name,
                            "reviewer_id": current.review.reviewer_id,
                        },
                    )
                )
            post(uow, replies, None)
            uow.commit()
        return replies


class GroupAction:
    """The handling of one event from the review group, for the reviewer who sent it."""

    def __init__(self, desk: ReviewDesk, uow: UnitOfWork, user: UserRef) -> None:
        self.desk = desk
        self.uow = uow
        self.user = user
        self.replies: list[Reply] = []
        self.obsolete_keys: list[str] = []
        self.applicant: Applicant | None = None
        self.today = local_date(desk.service.clock.now())

    def say(self, template: str, **context: Any) -> None:
        """Post a message to the group."""
        assert self.desk.chat_id is not None
        self.replies.append(Reply(template, self.desk.chat_id, self.desk.language, context))

    def toast(self, template: str, **context: Any) -> None:
        """A brief notice for the person who pressed a button."""
        assert self.desk.chat_id is not None
        self.replies.append(
            Reply(
                f"review/toast/{template}",
                self.desk.chat_id,
                self.desk.language,
                context,
                toast=True,
            )
        )

    def is_reviewer(self, what: str) -> bool:
        """True when the sender holds the reviewer role now; otherwise refuse and log it."""
        if REVIEWER in roles_of(self.user.user_id, self.uow.roles, self.desk.service.admin_ids):
            return True
        log.warning("review action %s refused: user %s is not a reviewer", what, self.user.user_id)
        return False

    def run(self, event: Event) -> None:
        """Dispatch one event."""
        match event:
            case Command(name=name, args=args) if name in REVIEW_COMMANDS:
                if not self.is_reviewer(name):
                    self.say("review/not_reviewer")
                elif name == "queue":
                    self.queue()
                else:
                    self.show(args.strip())
            case Command(name="help" | "start"):
                roles = roles_of(self.user.user_id, self.uow.roles, self.desk.service.admin_ids)
                self.say("review/help", is_reviewer=REVIEWER in roles)
            case ButtonPress(data=data) if data.startswith("rv:"):
                self.on_button(data)
            case ButtonPress():
                self.toast("stale")
            case GroupReply(replied_to=replied_to, text=text):
                self.on_reply(replied_to, text)
            case _:
                pass

    # -- commands ------------------------------------------------------------------------

    def queue(self) -> None:
        """Open applications, oldest first, with their age in working days."""
        rows = []
        for app in self.uow.open_applications(limit=MAX_QUEUE):
            due, estimate = self.desk.due(app)
            age = self.desk.age(app, self.today)
            rows.append(
                {
                    "number": app.number,
                    "status": app.status.value,
                    "category": app.category,
                    "age": age,
                    "due": due.isoformat(),
                    "due_estimate": estimate,
                    "near": REMIND_ON_DAY <= age <= REVIEW_MAX_DAYS,
                    "overdue": age > REVIEW_MAX_DAYS,
                    "waiting_for_applicant": app.status == Status.RESUBMISSION_REQUESTED,
                    "reviewer": app.review.reviewer_name,
                }
            )
        self.say("review/queue", rows=rows, limit=REVIEW_MAX_DAYS, shown=MAX_QUEUE)

    def show(self, args: str) -> None:
        """Post one application's card and documents again."""
        found = NUMBER.search(args.upper())
        app = self.uow.load_application(found.group(0)) if found else None
        if app is None or app.number is None:
            self.say("review/show_usage", given=args[:40])
            return
        card = self.desk.card(app, self.today, edit=False, attachments=True)
        if card is not None:
            self.replies.append(card)

    # -- buttons -------------------------------------------------------------------------

    def on_button(self, data: str) -> None:
        """A tap on a card button; checked against the caller's role and the application."""
        parts = data.split(":")
        if not self.is_reviewer(data):
            self.toast("not_reviewer")
            return
        if len(parts) < 3 or not parts[1].isdigit():
            log.warning("review button refused: malformed data from user %s", self.user.user_id)
            self.toast("stale")
            return
        loaded = self.load(int(parts[1]))
        if loaded is None:
            self.toast("stale")
            return
        app, applicant = loaded
        self.applicant = applicant
        op, arg = parts[2], ":".join(parts[3:])
        if op == "reveal":
            self.reveal(app)
            return
        handled = self.apply(app, op, arg)
        if not handled:
            log.info("review button %s on %s not applicable now", op, app.number)
            return
        self.uow.save_applicant(applicant)

    def load(self, application_id: int) -> tuple[Application, Applicant] | None:
        """The application and its applicant, when it is the applicant's current one."""
        app = self.uow.load_application_by_id(application_id)
        if app is None or app.number is None or app.user_id is None:
            return None
        applicant = self.uow.load_applicant(app.user_id)
        if applicant is None or applicant.application is None:
            return None
        if applicant.application.id != app.id:
            return None
        about_application(app.number)
        return applicant.application, applicant

    def owned(self, app: Application) -> bool:
        """True when the caller may decide: they claimed it (or nobody has, and they do now)."""
        review = app.review
        if app.status == Status.SUBMITTED:
            self.claim(app)
            return True
        if review.reviewer_id == self.user.user_id:
            return True
        self.toast("claimed_by_other", reviewer=review.reviewer_name)
        return False

    def claim(self, app: Application) -> None:
        """Make the caller the application's reviewer and tell the applicant it is in review."""
        app.status = Status.IN_REVIEW
        app.review.reviewer_id = self.user.user_id
        app.review.reviewer_name = (self.user.name or str(self.user.user_id))[:MAX_NAME]
        self.desk.record(self.uow, app, "claimed", self.user.user_id)
        self.notify_applicant(app, "in_review")

    def apply(self, app: Application, op: str, arg: str) -> bool:
        """Carry out one operation; False (after saying why) when it does not apply now."""
        status, draft = app.status, app.review.draft
        if op == "note":
            if self.user.user_id not in app.review.note_waiting:
                app.review.note_waiting.append(self.user.user_id)
            self.ask_text(app, "note")
            return True
        if status in DECIDED_STATUSES or status == Status.RESUBMISSION_REQUESTED:
            self.toast("already_decided", status=status.value)
            return False
        if op == "claim":
            if status != Status.SUBMITTED:
                self.toast("claimed_by_other", reviewer=app.review.reviewer_name)
                return False
            self.claim(app)
            self.toast("claimed")
        elif op in ("approve", "reject", "resubmit") and draft is None:
            if not self.owned(app):
                return False
            app.review.draft = {"action": op, "by": self.user.user_id, "reasons": [], "items": []}
            if op == "resubmit":
                app.review.draft["stage"] = "reasons"
        elif op == "investigate" and draft is None and status != Status.INVESTIGATING:
            if not self.owned(app):
                return False
            app.status = Status.INVESTIGATING
            self.desk.record(self.uow, app, "investigating", self.user.user_id)
            self.notify_applicant(app, "investigating")
        elif draft is not None and draft.get("by") == self.user.user_id:
            if not self.on_draft(app, op, arg):
                return False
        else:
            self.toast(
                "stale" if draft is None else "claimed_by_other", reviewer=app.review.reviewer_name
            )
            return False
        if op != "comment":  # asking for the comment leaves the card as it is
            self.edit_card(app)
        return True

    def reveal(self, app: Application) -> None:
        """Show the full ID number to the reviewer who asked, only to them, and audit it."""
        step = next((s for s in sorted(MASKED_STEPS) if app.answers.get(s)), None)
        if step is None or app.status in DECIDED_STATUSES:
            self.toast("stale")
            return
        self.desk.record(self.uow, app, "revealed", self.user.user_id, field=step)
        assert self.desk.chat_id is not None
        self.replies.append(
            Reply(
                "review/toast/revealed",
                self.desk.chat_id,
                self.desk.language,
                {"number": app.number, "value": app.answers[step]},
                toast=True,
                alert=True,
            )
        )

    def on_draft(self, app: Application, op: str, arg: str) -> bool:
        """Buttons of a decision being prepared: reasons, items, next, send, comment, back."""
        draft = app.review.draft
        assert draft is not None
        action = draft["action"]
        if op == "back":
            app.review.draft = None
        elif op == "approve_ok" and action == "approve":
            self.decide(app, comment=None)
        elif op == "r" and action in ("reject", "resubmit") and draft.get("stage") != "items":
            reason = self.desk.spec.reasons.get(arg)
            if reason is None or action not in reason.decisions:
                self.toast("stale")
                return False
            chosen = draft["reasons"]
            draft["reasons"] = [r for r in chosen if r != arg] if arg in chosen else [*chosen, arg]
        elif op == "next" and action == "resubmit" and draft.get("stage") == "reasons":
            if not draft["reasons"]:
                self.toast("pick_reason")
                return False
            applicable = [s.id for s in self.desk.spec.applicable_steps(app.category, app.answers)]
            suggested = {i for r in draft["reasons"] for i in self.desk.spec.reasons[r].items}
            draft["items"] = [s for s in applicable if s in suggested]
            draft["stage"] = "items"
        elif op == "i" and action == "resubmit" and draft.get("stage") == "items":
            applicable = [s.id for s in self.desk.spec.applicable_steps(app.category, app.answers)]
            if arg not in applicable:
                self.toast("stale")
                return False
            chosen = draft["items"]
            draft["items"] = [s for s in applicable if (s in chosen) != (s == arg)]
        elif op in ("send", "comment") and action in ("reject", "resubmit"):
            if not self.ready(draft):
                return False
            if op == "send":
                self.decide(app, comment=None)
            else:
                draft["awaiting"] = "comment"
                self.ask_text(app, "comment")
        else:
            self.toast("stale")
            return False
        return True

    def ready(self, draft: dict[str, Any]) -> bool:
        """True when a rejection has reasons and a resubmission has reasons and items."""
        if not draft["reasons"]:
            self.toast("pick_reason")
            return False
        if draft["action"] == "resubmit" and (draft.get("stage") != "items" or not draft["items"]):
            self.toast("pick_item")
            return False
        return True

    def ask_text(self, app: Application, kind: str) -> None:
        """Ask the reviewer, with a reply box, for a comment or note about the application."""
        assert self.desk.chat_id is not None
        self.replies.append(
            Reply(
                f"review/ask_{kind}",
                self.desk.chat_id,
                self.desk.language,
                {
                    "number": app.number,
                    "reviewer_id": self.user.user_id,
                    "reviewer": self.user.name or str(self.user.user_id),
                    "limit": MAX_COMMENT,
                },
                force_reply=True,
            )
        )

    def edit_card(self, app: Application) -> None:
        """Update the application's card in place."""
        card = self.desk.card(app, self.today, edit=True)
        if card is not None:
            self.replies.append(card)

    # -- typed replies -------------------------------------------------------------------

    def on_reply(self, replied_to: str, text: str) -> None:
        """A reviewer's reply to one of the bot's messages: a comment or a note, if asked for."""
        found = NUMBER.search(replied_to)
        if found is None:
            return
        if not self.is_reviewer("reply"):
            self.say("review/not_reviewer")
            return
        app = self.uow.load_application(found.group(0))
        loaded = self.load(app.id) if app is not None and app.id is not None else None
        if loaded is None:
            self.say("review/reply_ignored", number=found.group(0))
            return
        app, applicant = loaded
        self.applicant = applicant
        draft = app.review.draft
        text = text.strip()
        awaiting_comment = (
            draft is not None
            and draft.get("by") == self.user.user_id
            and draft.get("awaiting") == "comment"
        )
        if not awaiting_comment and self.user.user_id not in app.review.note_waiting:
            self.say("review/reply_ignored", number=app.number)
            return
        if not text or len(text) > MAX_COMMENT:
            self.say("review/text_too_long", number=app.number, limit=MAX_COMMENT)
            return
        if awaiting_comment:
            self.decide(app, comment=text)
        else:
            app.review.note_waiting.remove(self.user.user_id)
            app.review.notes.append(
                {
                    "by": (self.user.name or str(self.user.user_id))[:MAX_NAME],
                    "text": text[:MAX_NOTE],
                    "at": local_time(self.desk.service.clock.now()).strftime("%m-%d %H:%M"),
                }
            )
            self.desk.record(self.uow, app, "noted", self.user.user_id, note=text[:MAX_NOTE])
        self.edit_card(app)
        self.uow.save_applicant(applicant)

    # -- decisions -----------------------------------------------------------------------

    def decide(self, app: Application, comment: str | None) -> None:
        """Apply the prepared decision and tell the applicant at once."""
        draft = app.review.draft
        assert draft is not None
        action = draft["action"]
        review = app.review
        review.draft = None
        review.comment = comment
        review.reasons = list(draft.get("reasons", [])) if action != "approve" else []
        now = self.desk.service.clock.now()
        if action == "resubmit":
            applicable = [s.id for s in self.desk.spec.applicable_steps(app.category, app.answers)]
            items = [s for s in applicable if s in draft["items"]]
            review.requested = items
            review.changed = []
            review.digest = item_digest(app, applicable, self.desk.slots())
            app.redo = set(items)
            app.status = Status.RESUBMISSION_REQUESTED
            outcome = "resubmission_requested"
        else:
            app.status = Status.APPROVED if action == "approve" else Status.REJECTED
            review.decided_at = now
            outcome = app.status.value
        self.desk.record(
            self.uow,
            app,
            "decided",
            self.user.user_id,
            outcome=outcome,
            reasons=review.reasons,
            items=review.requested if action == "resubmit" else [],
            comment=comment,
        )
        self.notify_applicant(app, outcome)

    def notify_applicant(self, app: Application, outcome: str) -> None:
        """Tell the applicant what changed, in their language, with the way forward."""
        assert self.applicant is not None and self.applicant.application is app
        turn = self.desk.service.turn_for(self.applicant, self.uow)
        turn.announce(outcome)
        self.obsolete_keys += turn.obsolete_keys
        self.desk.record(self.uow, app, "notified", None, outcome=outcome)
        self.replies += turn.outgoing()
