"""The review desk: complete packages to the review group, reviewers' taps, decisions back.

Every button on a review card carries only the application id and an operation; what the
operation may do is decided here, from the database, for the person who pressed it: their
role, who has claimed the application, its status and the decision being prepared.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cardbot.core.clock import local_date, local_time
from cardbot.core.events import ButtonPress, Command, Event, GroupReply, Incoming, UserRef
from cardbot.core.log_context import about_application
from cardbot.core.model import (
    DECIDED_STATUSES,
    OPEN_STATUSES,
    WITH_REVIEWERS,
    Applicant,
    Application,
    AuditEvent,
    Flag,
    Status,
)
from cardbot.core.ports import UnitOfWork, post
from cardbot.core.replies import Attachment, Button, Reply
from cardbot.core.roles import ADMIN, REVIEWER, roles_of
from cardbot.core.text import mask_id_number, parse_id
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

REVIEW_COMMANDS = ("queue", "show", "mine", "assign")
REMIND_ON_DAY = 8
RESUBMIT_DAYS = 10  # working days the applicant has to send what a reviewer asked for
MAX_COMMENT = 1000
MAX_NOTE = 1000
NOTES_ON_CARD = 3
MAX_QUEUE = 40
# `/queue FILTER` shows only unclaimed, overdue or flagged applications, looking at this
# many of the oldest open ones.
QUEUE_FILTERS = ("unclaimed", "overdue", "flagged")
QUEUE_SCAN = 2000
MAX_NAME = 64
NUMBER = re.compile(r"DX-\d{4}-\d{6}")
SHORT_NUMBER = re.compile(r"[0-9]{1,6}")
SHORT_NUMBER_YEARS = 3  # a short number is looked for in this year and the two before


def mask_name(name: str) -> str:
    """A name with all but its first character hidden."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    """A phone number with its middle hidden (the first three and last two digits kept)."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


# Open applications nobody has claimed may be claimed (one under further checks keeps its
# status when its reviewer lets it go).
CLAIMABLE = frozenset({Status.SUBMITTED, Status.INVESTIGATING})

# Personal values shown masked in the group; in full only in a reviewer's private chat.
MASKED_STEPS: dict[str, Callable[[str], str]] = {
    "full_name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
}


def card_tag(application_id: int) -> str:
    """The name under which an application's latest review card is remembered."""
    return f"card:{application_id}"


def prompt_tag(application_id: int, user_id: int, kind: str) -> str:
    """The name of the reply prompt asking one reviewer for a comment or a note."""
    return f"ask:{application_id}:{user_id}:{kind}"


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
        if self.back_office and event not in (
            "noted",
            "notified",
            "reminded",
            "revealed",
            "documents_sent",
        ):
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
                "value": MASKED_STEPS[s.id](app.answers.get(s.id, ""))
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
            "flags": flags_context(app.flags),
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
            "draft_reasons": len(draft.get("reasons", [])),
            "draft_items": [i for i in draft.get("items", [])],
            "preview": self.preview(app, draft) if draft else None,
        }

    def preview(self, app: Application, draft: dict[str, Any]) -> dict[str, Any] | None:
        """What the applicant will read when the decision being prepared is sent (in the
        team's language), or None while it is not ready to send."""
        action = draft["action"]
        reasons = list(draft.get("reasons", []))
        items = list(draft.get("items", []))
        if action in ("reject", "resubmit") and not reasons:
            return None
        if action == "resubmit" and not items:
            return None
        template = {
            "approve": "approved",
            "reject": "rejected",
            "resubmit": "resubmit",
            "investigate": "investigating",
        }[action]
        return {
            "template": template,
            "reasons": self.reason_texts(reasons, self.language),
            "comment": draft.get("comment"),
            "final": any(r.final for i in reasons if (r := self.spec.reasons.get(i))),
            "items": items,
            **self.notice_context(app),
        }

    def notice_context(self, app: Application) -> dict[str, Any]:
        """What decision notices need besides the decision: the category (an individual is
        not told about company records) and the date to resubmit by."""
        today = local_date(self.service.clock.now())
        resubmit_by, estimate = add_working_days(self.calendar, today, RESUBMIT_DAYS)
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

    def card_buttons(self, app: Application) -> tuple[tuple[Button, ...], ...]:
        """The buttons a card shows in the application's current status and draft."""
        assert app.id is not None
        prefix = f"rv:{app.id}:"

        def button(label: str, op: str) -> Button:
            return Button(f"review.{label}", prefix + op)

        status, draft = app.status, app.review.draft
        if status in DECIDED_STATUSES:
            return ()
        last_row: tuple[Button, ...] = (button("note", "note"), button("documents", "docs"))
        if app.review.reviewer_id is None and status in CLAIMABLE:
            return ((button("claim", "claim"),), last_row)
        if draft is None and app.review.reviewer_id is not None:
            last_row = (*last_row, button("release", "release"))
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
        back_row = (button("back", "back"),)
        if action == "approve":
            return ((button("confirm_approve", "approve_ok"),), back_row)
        if action == "investigate":
            return ((button("confirm_investigate", "investigate_ok"),), back_row)
        rows: list[tuple[Button, ...]] = [
            (
                Button(
                    "",
                    f"{prefix}r:{reason.id}",
                    text=reason.texts[self.language].title,
                    selected=reason.id in draft.get("reasons", []),
                ),
            )
            for reason in self.spec.reasons.values()
            if action in reason.decisions
        ]
        if action == "resubmit":
            chosen = draft.get("items", [])
            items = [s.id for s in self.spec.applicable_steps(app.category, app.answers)]
            rows += [
                (Button(f"step.{item}", f"{prefix}i:{item}", selected=item in chosen),)
                for item in items
            ]
        if self.preview(app, draft) is not None:
            rows.append((button(f"confirm_{action}", "send"),))
            rows.append((button("comment", "comment"),))
        return (*rows, back_row)

    def card(self, app: Application, today: date, *, edit: bool) -> Reply | None:
        """The review card, posted anew or edited in place; it never carries documents nor
        full personal values (the group may have members who are not reviewers)."""
        if self.chat_id is None or app.id is None:
            return None
        return Reply(
            "review/card",
            self.chat_id,
            self.language,
            self.card_context(app, today),
            self.card_buttons(app),
            tag=card_tag(app.id),
            edit=edit,
        )

    def replace_card(self, app: Application, why: str) -> Reply | None:
        """Turn the application's latest card into a pointer to the new one about to be posted
        (which takes its name), so no old card shows a stale status or live buttons."""
        if self.chat_id is None or app.id is None:
            return None
        return Reply(
            "review/card_replaced",
            self.chat_id,
            self.language,
            {"number": app.number, "why": why},
            tag=card_tag(app.id),
            edit=True,
        )

    def close_prompt(self, app: Application, user_id: int, kind: str, outcome: str) -> Reply:
        """Edit an answered (or no longer wanted) reply prompt down to one line."""
        assert self.chat_id is not None and app.id is not None
        return Reply(
            "review/prompt_closed",
            self.chat_id,
            self.language,
            {"number": app.number, "kind": kind, "outcome": outcome},
            tag=prompt_tag(app.id, user_id, kind),
            edit=True,
        )

    def dossier(self, app: Application, chat_id: int) -> Reply:
        """The whole current package for one reviewer's private chat: every answer in full
        and every document, the items renewed in the last resubmission marked."""
        steps = self.spec.applicable_steps(app.category, app.answers)
        changed = set(app.review.changed) if app.review.round > 1 else set()
        answers = [
            {
                "step": s.id,
                "kind": s.kind,
                "value": app.answers.get(s.id, ""),
                "changed": s.id in changed,
            }
            for s in steps
            if s.kind != "document" and app.answers.get(s.id)
        ]
        documents = tuple(
            Attachment(
                app.documents[slot].storage_key,
                app.documents[slot].mime_type,
                f"document.{slot}",
            )
            for step in steps
            if step.kind == "document"
            for slot in step.slots
            if slot in app.documents
        )
        return Reply(
            "review/dossier",
            chat_id,
            self.language,
            {
                "number": app.number,
                "category": app.category,
                "status": app.status.value,
                "round": app.review.round,
                "answers": answers,
                "changed": sorted(changed),
                "document_count": len(documents),
                "flags": flags_context(app.flags),
            },
            attachments=documents,
        )

    def send_dossier(
        self, uow: UnitOfWork, app: Application, reviewer_id: int, actor: int | None, why: str
    ) -> Reply | None:
        """The package for a reviewer's private chat (audited), or None when they have never
        started the bot (Telegram lets a bot write only to people who did)."""
        private = uow.load_applicant(reviewer_id)
        if private is None or private.chat_id <= 0:
            return None
        self.record(uow, app, "documents_sent", actor, to=reviewer_id, why=why)
        refresh_flags(uow, app)
        return self.dossier(app, private.chat_id)

    # -- claims --------------------------------------------------------------------------

    @staticmethod
    def unclaim(app: Application) -> None:
        """Let an application go: nobody has it, and any decision being prepared is dropped."""
        app.review.reviewer_id = None
        app.review.reviewer_name = None
        app.review.draft = None
        if app.status == Status.IN_REVIEW:
            app.status = Status.SUBMITTED

    def current_applications(
        self, uow: UnitOfWork, reviewer_id: int | None = None
    ) -> list[tuple[Application, Applicant]]:
        """Open applications (claimed by `reviewer_id` when given) that are their applicant's
        current one, oldest submission first."""
        found = []
        for app in uow.open_applications():
            if reviewer_id is not None and app.review.reviewer_id != reviewer_id:
                continue
            applicant = uow.load_applicant(app.user_id) if app.user_id is not None else None
            if applicant is None or applicant.application is None:
                continue
            if applicant.application.id == app.id:
                found.append((applicant.application, applicant))
        return found

    def release_claims_of(self, uow: UnitOfWork, reviewer_id: int, actor: int) -> list[Reply]:
        """Release every open application claimed by a reviewer whose role was revoked, and
        tell the group (each card shows it is free again)."""
        replies: list[Reply] = []
        today = local_date(self.service.clock.now())
        for app, applicant in self.current_applications(uow, reviewer_id):
            self.unclaim(app)
            self.record(uow, app, "released", actor, reviewer=reviewer_id, why="revoked")
            uow.save_applicant(applicant)
            card = self.card(app, today, edit=True)
            if card is not None and self.chat_id is not None:
                replies.append(card)
                replies.append(
                    Reply(
                        "review/released",
                        self.chat_id,
                        self.language,
                        {"number": app.number, "why": "revoked", "reviewer_id": reviewer_id},
                    )
                )
        return replies

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
        card = self.card(app, turn.today(), edit=False)
        replaced = self.replace_card(app, "resubmitted") if app.review.round > 1 else None
        if replaced is not None:
            turn.replies.append(replaced)
        if card is not None:
            turn.replies.append(card)
            reviewer = app.review.reviewer_id
            if reviewer is not None and app.status == Status.IN_REVIEW:
                dossier = self.send_dossier(turn.uow, app, reviewer, None, "resubmitted")
                if dossier is not None:
                    turn.replies.append(dossier)

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
        return self.reason_texts(app.review.reasons, language)

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
        self.sent_on_claim = False
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

    def refuse_tap(self, template: str, app: Application | None, op: str, **context: Any) -> None:
        """Refuse a forged or stale tap: a brief notice to the presser, and a WARNING line with
        ids only (no personal data)."""
        log.warning(
            "review button refused (%s): op %s on application %s by user %s",
            template,
            op[:16],
            app.id if app is not None else "-",
            self.user.user_id,
        )
        self.toast(template, **context)

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
                    self.queue(args.strip().lower())
                elif name == "mine":
                    self.mine()
                elif name == "assign":
                    self.assign(args.split())
                else:
                    self.show(args.strip())
            case Command(name="help" | "start"):
                roles = roles_of(self.user.user_id, self.uow.roles, self.desk.service.admin_ids)
                self.say("review/help", is_reviewer=REVIEWER in roles)
            case ButtonPress(data=data) if data.startswith("rv:"):
                self.on_button(data)
            case ButtonPress():
                self.refuse_tap("stale", None, "foreign")
            case GroupReply(replied_to=replied_to, text=text):
                self.on_reply(replied_to, text)
            case _:
                pass

    # -- commands ------------------------------------------------------------------------

    def queue(self, wanted: str = "") -> None:
        """Open applications, oldest first, with their age in working days; `wanted`: only
        the unclaimed, the overdue or the flagged ones."""
        if wanted and wanted not in QUEUE_FILTERS:
            self.say("review/queue_usage", filters=list(QUEUE_FILTERS))
            return
        rows = []
        for app in self.uow.open_applications(limit=QUEUE_SCAN if wanted else MAX_QUEUE):
            due, estimate = self.desk.due(app)
            age = self.desk.age(app, self.today)
            waiting = app.status == Status.RESUBMISSION_REQUESTED
            row = {
                "number": app.number,
                "status": app.status.value,
                "category": app.category,
                "age": age,
                "due": due.isoformat(),
                "due_estimate": estimate,
                "near": REMIND_ON_DAY <= age <= REVIEW_MAX_DAYS,
                "overdue": age > REVIEW_MAX_DAYS,
                "waiting_for_applicant": waiting,
                "reviewer": app.review.reviewer_name,
                "flagged": bool(app.flags),
            }
            if wanted == "unclaimed" and (waiting or app.review.reviewer_id is not None):
                continue
            if wanted == "overdue" and (waiting or not row["overdue"]):
                continue
            if wanted == "flagged" and not app.flags:
                continue
            rows.append(row)
            if len(rows) >= MAX_QUEUE:
                break
        self.say(
            "review/queue",
            rows=rows,
            limit=REVIEW_MAX_DAYS,
            shown=MAX_QUEUE,
            filter=wanted or None,
            filters=list(QUEUE_FILTERS),
        )

    def mine(self) -> None:
        """The caller's claimed applications, oldest first, with their due dates."""
        rows = []
        for app, _applicant in self.desk.current_applications(self.uow, self.user.user_id):
            due, estimate = self.desk.due(app)
            age = self.desk.age(app, self.today)
            rows.append(
                {
                    "number": app.number,
                    "status": app.status.value,
                    "age": age,
                    "due": due.isoformat(),
                    "due_estimate": estimate,
                    "overdue": age > REVIEW_MAX_DAYS,
                }
            )
        self.say("review/mine", rows=rows, reviewer=self.user.name or str(self.user.user_id))

    def assign(self, args: list[str]) -> None:
        """/assign NUMBER USER_ID (admins only): give an application to another reviewer."""
        roles = roles_of(self.user.user_id, self.uow.roles, self.desk.service.admin_ids)
        if ADMIN not in roles:
            log.warning("review action assign refused: user %s is not an admin", self.user.user_id)
            self.say("review/not_admin")
            return
        target = parse_id(args[1]) if len(args) == 2 else None
        app = self.find(args[0]) if len(args) == 2 else None
        loaded = self.load(app.id) if app is not None and app.id is not None else None
        target_roles = (
            roles_of(target, self.uow.roles, self.desk.service.admin_ids) if target else set()
        )
        if loaded is None or target is None or REVIEWER not in target_roles:
            self.say("review/assign_usage", is_reviewer=target is None or bool(target_roles))
            return
        app, applicant = loaded
        if app.status not in OPEN_STATUSES:
            self.say("review/assign_usage", is_reviewer=True)
            return
        self.applicant = applicant
        previous = app.review.reviewer_id
        self.close_prompts(app, app.review.draft, "cancelled", notes=False)
        app.review.reviewer_id = target
        app.review.reviewer_name = str(target)
        app.review.draft = None
        told = app.status != Status.SUBMITTED
        app.status = Status.IN_REVIEW if app.status == Status.SUBMITTED else app.status
        self.desk.record(self.uow, app, "reassigned", self.user.user_id, to=target, was=previous)
        if not told:
            self.notify_applicant(app, "in_review")
        self.say("review/reassigned", number=app.number, reviewer_id=target, previous=previous)
        dossier = self.desk.send_dossier(self.uow, app, target, self.user.user_id, "assigned")
        if dossier is not None:
            self.replies.append(dossier)
        self.edit_card(app)
        self.uow.save_applicant(applicant)

    def release(self, app: Application) -> bool:
        """The claimer (or an admin) lets the application go back to the queue."""
        review = app.review
        roles = roles_of(self.user.user_id, self.uow.roles, self.desk.service.admin_ids)
        if review.reviewer_id is None or (
            review.reviewer_id != self.user.user_id and ADMIN not in roles
        ):
            self.refuse_tap("claimed_by_other", app, "release", reviewer=review.reviewer_name)
            return False
        previous = review.reviewer_id
        self.close_prompts(app, review.draft, "cancelled", notes=False)
        self.desk.unclaim(app)
        self.desk.record(self.uow, app, "released", self.user.user_id, reviewer=previous)
        self.toast("released", number=app.number)
        self.edit_card(app)
        return True

    def find(self, text: str) -> Application | None:
        """The application a reviewer named: its full number, or the short one (`4` or
        `000004`: the latest year that has it, this year first)."""
        found = NUMBER.search(text.upper())
        if found:
            return self.uow.load_application(found.group(0))
        short = text.strip().lstrip("#")
        if not SHORT_NUMBER.fullmatch(short):
            return None
        for year in range(self.today.year, self.today.year - SHORT_NUMBER_YEARS, -1):
            app = self.uow.load_application(f"DX-{year}-{int(short):06d}")
            if app is not None:
                return app
        return None

    def show(self, args: str) -> None:
        """Post one application's card again, and send its package privately to the caller."""
        app = self.find(args)
        if app is None or app.number is None:
            self.say("review/show_usage", given=args[:40])
            return
        refresh_flags(self.uow, app)
        card = self.desk.card(app, self.today, edit=False)
        replaced = self.desk.replace_card(app, "shown")
        if card is not None and replaced is not None:
            self.replies += [replaced, card]
        self.documents(app, "show")

    # -- buttons -------------------------------------------------------------------------

    def on_button(self, data: str) -> None:
        """A tap on a card button; checked against the caller's role and the application."""
        parts = data.split(":")
        if not self.is_reviewer(data):
            self.toast("not_reviewer")
            return
        if len(parts) < 3 or not parts[1].isdigit():
            self.refuse_tap("stale", None, "malformed")
            return
        loaded = self.load(int(parts[1]))
        if loaded is None:
            self.refuse_tap("stale", None, parts[2])
            return
        app, applicant = loaded
        self.applicant = applicant
        op, arg = parts[2], ":".join(parts[3:])
        if op == "docs":
            self.documents(app, "asked")
            return
        if op == "reveal":  # the button of cards posted before the package went private
            self.reveal(app)
            return
        handled = self.release(app) if op == "release" else self.apply(app, op, arg)
        if not handled:
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
        refresh_flags(self.uow, applicant.application)
        return applicant.application, applicant

    def owned(self, app: Application) -> bool:
        """True when the caller may decide: they claimed it (or nobody has, and they do now)."""
        review = app.review
        if review.reviewer_id is None and app.status in CLAIMABLE:
            self.claim(app)
            return True
        if review.reviewer_id == self.user.user_id:
            return True
        self.refuse_tap("claimed_by_other", app, "decide", reviewer=review.reviewer_name)
        return False

    def claim(self, app: Application) -> None:
        """Make the caller the application's reviewer and tell the applicant it is in review
        (one under further checks stays so: the applicant has been told)."""
        app.review.reviewer_id = self.user.user_id
        app.review.reviewer_name = (self.user.name or str(self.user.user_id))[:MAX_NAME]
        told = app.status != Status.SUBMITTED
        app.status = Status.IN_REVIEW if app.status == Status.SUBMITTED else app.status
        self.desk.record(self.uow, app, "claimed", self.user.user_id)
        if not told:
            self.notify_applicant(app, "in_review")
        self.sent_on_claim = self.documents(app, "claimed")

    def apply(self, app: Application, op: str, arg: str) -> bool:
        """Carry out one operation; False (after saying why) when it does not apply now."""
        status, draft = app.status, app.review.draft
        if op == "note":
            if self.user.user_id not in app.review.note_waiting:
                app.review.note_waiting.append(self.user.user_id)
            self.ask_text(app, "note")
            return True
        if status in DECIDED_STATUSES or status == Status.RESUBMISSION_REQUESTED:
            self.refuse_tap("already_decided", app, op, status=status.value)
            return False
        if op == "claim":
            if app.review.reviewer_id is not None or status not in CLAIMABLE:
                self.refuse_tap("claimed_by_other", app, op, reviewer=app.review.reviewer_name)
                return False
            self.claim(app)
            self.toast("claimed", documents=self.sent_on_claim)
        elif op in ("approve", "reject", "resubmit", "investigate") and draft is None:
            if op == "investigate" and status == Status.INVESTIGATING:
                self.refuse_tap("stale", app, op)
                return False
            if not self.owned(app):
                return False
            app.review.draft = {"action": op, "by": self.user.user_id, "reasons": [], "items": []}
        elif draft is not None and draft.get("by") == self.user.user_id:
            if not self.on_draft(app, op, arg):
                return False
        else:
            toast = "stale" if draft is None else "claimed_by_other"  # review/toast/…
            self.refuse_tap(toast, app, op, reviewer=app.review.reviewer_name)
            return False
        if op != "comment":  # asking for the comment leaves the card as it is
            self.edit_card(app)
        return True

    def reveal(self, app: Application) -> None:
        """Show the full ID number to the reviewer who asked, in an alert only they see, and
        audit it."""
        step = "id_number"
        if not app.answers.get(step) or app.status in DECIDED_STATUSES:
            self.refuse_tap("stale", app, "reveal")
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

    def documents(self, app: Application, why: str) -> bool:
        """Send the whole package privately to the caller (a reviewer: checked before), and
        audit it; in the group, say how when they have not started the bot yet."""
        reply = self.desk.send_dossier(self.uow, app, self.user.user_id, self.user.user_id, why)
        if reply is None:
            self.say(
                "review/start_bot",
                number=app.number,
                reviewer_id=self.user.user_id,
                reviewer=(self.user.name or str(self.user.user_id))[:MAX_NAME],
            )
            return False
        self.replies.append(reply)
        if why == "asked":
            self.toast("documents_sent", number=app.number)
        return True

    def on_draft(self, app: Application, op: str, arg: str) -> bool:
        """Buttons of a decision being prepared: reasons, items, comment, confirm, back.

        A decision is sent only from its confirmation, which the card shows next to what the
        applicant will read: approve and investigate take two taps, reject and resubmit three
        (a comment is typed as a reply to the card, or after the comment button)."""
        draft = app.review.draft
        assert draft is not None
        action = draft["action"]
        spec = self.desk.spec
        if op == "back":
            self.close_prompts(app, draft, "cancelled", notes=False)
            app.review.draft = None
        elif op == "approve_ok" and action == "approve":
            self.decide(app)
        elif op == "investigate_ok" and action == "investigate":
            app.review.draft = None
            app.status = Status.INVESTIGATING
            self.desk.record(self.uow, app, "investigating", self.user.user_id)
            self.notify_applicant(app, "investigating")
        elif op == "r" and action in ("reject", "resubmit"):
            reason = spec.reasons.get(arg)
            if reason is None or action not in reason.decisions:
                self.refuse_tap("stale", app, op)
                return False
            chosen = draft["reasons"]
            draft["reasons"] = [r for r in chosen if r != arg] if arg in chosen else [*chosen, arg]
            if action == "resubmit" and not draft.get("items_chosen"):
                # Items the reasons concern are suggested until the reviewer picks one.
                suggested = {i for r in draft["reasons"] for i in spec.reasons[r].items}
                draft["items"] = [s for s in self.applicable(app) if s in suggested]
        elif op == "i" and action == "resubmit":
            applicable = self.applicable(app)
            if arg not in applicable:
                self.refuse_tap("stale", app, op)
                return False
            if not draft.get("items_chosen"):
                # The first item picked replaces the suggestion: nothing to untick.
                draft["items_chosen"] = True
                draft["items"] = [arg]
            else:
                chosen = draft["items"]
                draft["items"] = [s for s in applicable if (s in chosen) != (s == arg)]
        elif op in ("send", "comment") and action in ("reject", "resubmit"):
            if not self.ready(draft):
                return False
            if op == "send":
                self.decide(app)
            else:
                draft["awaiting"] = "comment"
                self.ask_text(app, "comment")
        else:
            self.refuse_tap("stale", app, op)
            return False
        return True

    def applicable(self, app: Application) -> list[str]:
        """The application's steps, in flow order."""
        return [s.id for s in self.desk.spec.applicable_steps(app.category, app.answers)]

    def ready(self, draft: dict[str, Any]) -> bool:
        """True when a rejection has reasons and a resubmission has reasons and items."""
        if not draft["reasons"]:
            self.toast("pick_reason")
            return False
        if draft["action"] == "resubmit" and not draft["items"]:
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
                tag=prompt_tag(app.id, self.user.user_id, kind) if app.id is not None else None,
            )
        )

    def close_prompts(
        self, app: Application, draft: dict[str, Any] | None, outcome: str, *, notes: bool
    ) -> None:
        """Close the reply prompts still open on the application: the comment prompt of the
        decision being dropped or made, and (`notes`) every note prompt."""
        if draft is not None and draft.get("awaiting") == "comment":
            self.replies.append(self.desk.close_prompt(app, int(draft["by"]), "comment", outcome))
        if notes:
            for user_id in app.review.note_waiting:
                self.replies.append(self.desk.close_prompt(app, user_id, "note", outcome))
            app.review.note_waiting = []

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
        drafting = (
            draft is not None
            and draft.get("by") == self.user.user_id
            and draft["action"] in ("reject", "resubmit")
        )
        noting = self.user.user_id in app.review.note_waiting
        # A comment when asked for one, or when the reviewer preparing a decision replies to
        # the card; otherwise a note when one was asked for.
        awaiting_comment = drafting and ((draft or {}).get("awaiting") == "comment" or not noting)
        if not awaiting_comment and not noting:
            self.say("review/reply_ignored", number=app.number)
            return
        if not text or len(text) > MAX_COMMENT:
            self.say("review/text_too_long", number=app.number, limit=MAX_COMMENT)
            return
        if awaiting_comment:
            assert draft is not None
            draft["comment"] = text
            if draft.pop("awaiting", None):
                self.replies.append(
                    self.desk.close_prompt(app, self.user.user_id, "comment", "received")
                )
        else:
            app.review.note_waiting.remove(self.user.user_id)
            self.replies.append(self.desk.close_prompt(app, self.user.user_id, "note", "received"))
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

    def decide(self, app: Application) -> None:
        """Apply the prepared (and confirmed) decision and tell the applicant at once."""
        draft = app.review.draft
        assert draft is not None
        action = draft["action"]
        comment = draft.get("comment")
        review = app.review
        review.draft = None
        review.comment = comment
        review.reasons = list(draft.get("reasons", [])) if action != "approve" else []
        now = self.desk.service.clock.now()
        if action == "resubmit":
            applicable = self.applicable(app)
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
        self.close_prompts(app, draft, "decided", notes=outcome != "resubmission_requested")
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


def refresh_flags(uow: UnitOfWork, app: Application) -> None:
    """Bring the status of each application the flags name up to date: an earlier application
    may have been decided since the flag was raised (one erased since keeps its last status)."""
    if not app.flags:
        return
    current: dict[str, str | None] = {}
    for number in {n for f in app.flags for n in f.applications}:
        other = uow.load_application(number)
        current[number] = other.status.value if other is not None else None
    app.flags = [
        replace(
            f,
            outcomes=tuple(
                current.get(number) or outcome or ""
                for number, outcome in itertools.zip_longest(f.applications, f.outcomes)
                if number is not None
            ),
        )
        for f in app.flags
    ]


def flags_context(flags: Iterable[Flag]) -> list[dict[str, Any]]:
    """The flags as the card and the private package show them: each other application with
    its status (as of the last look; None in flags raised before statuses were kept).
    Numbers and statuses only: no personal value is repeated."""
    return [
        {
            "code": f.code,
            "field": f.field,
            "document": f.document,
            "applications": list(f.applications),
            "entries": [
                {"number": number, "outcome": outcome}
                for number, outcome in itertools.zip_longest(f.applications, f.outcomes)
                if number is not None
            ],
        }
        for f in flags
    ]
