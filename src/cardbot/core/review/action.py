"""The handling of one event from the review group, for the reviewer who sent it: the state
every review command, tap and typed reply shares, and what they all do with it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from cardbot.core.events import UserRef
from cardbot.core.log_context import about_application
from cardbot.core.model import Applicant, Application
from cardbot.core.ports import UnitOfWork
from cardbot.core.replies import Reply
from cardbot.core.review.cards import card, close_prompt, prompt_tag
from cardbot.core.review.dossier import send_dossier
from cardbot.core.review.flags import refresh_flags
from cardbot.core.review.team import ReviewTeam, as_current
from cardbot.core.roles import REVIEWER, roles_of

log = logging.getLogger(__name__)

MAX_COMMENT = 1000
MAX_NAME = 64


@dataclass(frozen=True)
class Announcement:
    """What the applicant is told of a reviewer's step, and the files it made obsolete."""

    replies: list[Reply]
    obsolete_keys: list[str]


class Announcer(Protocol):
    """Tells an applicant about a reviewer's step and moves them where it leads (the
    conversation provides it, so the review desk need not know the applicant's flow)."""

    def __call__(self, uow: UnitOfWork, applicant: Applicant, outcome: str) -> Announcement:
        """Announce `outcome` to the applicant, inside the reviewer's transaction."""
        ...


@dataclass
class GroupAction:
    """One review group event: who sent it, the transaction, and the replies gathered."""

    team: ReviewTeam
    uow: UnitOfWork
    user: UserRef
    announce: Announcer
    replies: list[Reply] = field(default_factory=list)
    obsolete_keys: list[str] = field(default_factory=list)
    applicant: Applicant | None = None
    sent_on_claim: bool = False

    def __post_init__(self) -> None:
        self.today = self.team.today()

    @property
    def name(self) -> str:
        """How the sender is named on cards and in notes."""
        return (self.user.name or str(self.user.user_id))[:MAX_NAME]

    def roles(self, user_id: int | None = None) -> set[str]:
        """The sender's roles (or another person's), as the database and settings say now."""
        who = self.user.user_id if user_id is None else user_id
        return roles_of(who, self.uow.roles, self.team.admin_ids)

    def say(self, template: str, **context: Any) -> None:
        """Post a message to the group."""
        assert self.team.chat_id is not None
        self.replies.append(Reply(template, self.team.chat_id, self.team.language, context))

    def toast(self, template: str, **context: Any) -> None:
        """A brief notice for the person who pressed a button."""
        assert self.team.chat_id is not None
        self.replies.append(
            Reply(
                f"review/toast/{template}",
                self.team.chat_id,
                self.team.language,
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
        if REVIEWER in self.roles():
            return True
        log.warning("review action %s refused: user %s is not a reviewer", what, self.user.user_id)
        return False

    def load(self, application_id: int) -> tuple[Application, Applicant] | None:
        """The application and its applicant, when it is the applicant's current one."""
        app = self.uow.load_application_by_id(application_id)
        if app is None or app.number is None:
            return None
        found = as_current(self.uow, app)
        if found is None:
            return None
        about_application(app.number)
        refresh_flags(self.uow, found[0])
        return found

    def edit_card(self, app: Application) -> None:
        """Update the application's card in place."""
        updated = card(self.team, app, self.today, edit=True)
        if updated is not None:
            self.replies.append(updated)

    def documents(self, app: Application, why: str) -> bool:
        """Send the whole package privately to the caller (a reviewer: checked before), and
        audit it; in the group, say how when they have not started the bot yet."""
        user_id = self.user.user_id
        reply = send_dossier(self.team, self.uow, app, user_id, user_id, why)
        if reply is None:
            self.say(
                "review/start_bot", number=app.number, reviewer_id=user_id, reviewer=self.name
            )
            return False
        self.replies.append(reply)
        if why == "asked":
            self.toast("documents_sent", number=app.number)
        return True

    def ask_text(self, app: Application, kind: str) -> None:
        """Ask the reviewer, with a reply box, for a comment or note about the application."""
        assert self.team.chat_id is not None
        self.replies.append(
            Reply(
                f"review/ask_{kind}",
                self.team.chat_id,
                self.team.language,
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
            self.replies.append(close_prompt(self.team, app, int(draft["by"]), "comment", outcome))
        if notes:
            for user_id in app.review.note_waiting:
                self.replies.append(close_prompt(self.team, app, user_id, "note", outcome))
            app.review.note_waiting = []

    def notify_applicant(self, app: Application, outcome: str) -> None:
        """Tell the applicant what changed, in their language, with the way forward."""
        assert self.applicant is not None and self.applicant.application is app
        told = self.announce(self.uow, self.applicant, outcome)
        self.obsolete_keys += told.obsolete_keys
        self.team.record(self.uow, app, "notified", None, outcome=outcome)
        self.replies += told.replies
