"""A turn: the handling of one event for one person — their state as loaded, the replies
gathered, the files stored or made obsolete — and the few things every part does with it
(say something, fire a flow trigger, know the person's roles). Parts take the turn; the
turn knows none of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from cardbot.core import flow as states
from cardbot.core.clock import local_date
from cardbot.core.dependencies import Dependencies
from cardbot.core.faq import FaqMatcher
from cardbot.core.flow import FlowModel
from cardbot.core.log_context import about_application
from cardbot.core.model import Applicant, Application, Status
from cardbot.core.ports import UnitOfWork
from cardbot.core.replies import Button, Reply
from cardbot.core.roles import roles_of
from cardbot.core.spec import DialogSpec

# What the person's last message left pending (`turn.pending_action`, several joined by
# spaces): their text may be taken as the step's answer after all, a person may be asked…
ACCEPT = "accept"
ASK_PERSON = "ask"
# … or their next message goes to a support ticket (0: a new one); the pending text holds
# "ticket:messages sent since the last staff answer".
FOLLOW_UP = "followup"
# Buttons whose meaning depends on where the applicant is. The message that shows them asks the
# applicant's current question; once it is answered its buttons are taken away.
FLOW_SCOPES = ("nav:", "pick:", "cat:", "consent:", "edit:")


def question_tag(user_id: int) -> str:
    """The name of the message that asks an applicant's current question."""
    return f"ask:{user_id}"


class Handoff(Protocol):
    """Hands the person back to their application: ask the current question again, or take
    typed text as the application flow does. The router provides it, so a desk (staff) can
    return to the flow without importing it."""

    def prompt(self, turn: Turn) -> None:
        """Ask the current question again (or say where things stand)."""
        ...

    def on_text(self, turn: Turn, text: str) -> None:
        """Take typed text as an answer, a question, or a call for a person."""
        ...


@dataclass
class Turn:
    """The handling of one event for one person."""

    service: Dependencies
    applicant: Applicant
    uow: UnitOfWork
    handoff: Handoff
    replies: list[Reply] = field(default_factory=list)
    stored_keys: list[str] = field(default_factory=list)
    obsolete_keys: list[str] = field(default_factory=list)
    forget: bool = False
    # What went wrong for the applicant, counted for the report: (kind, key, detail) → how many.
    trouble: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.spec: DialogSpec = self.service.spec
        self.model = FlowModel(self.spec, self.applicant)
        self._matcher: FaqMatcher | None = None
        self.pending_action = self.applicant.pending_action
        self.pending_text = self.applicant.pending_text
        self.applicant.pending_action = None
        self.applicant.pending_text = None
        self._repair()
        self.model.state = self.applicant.state
        self.started_in = self.applicant.state
        self._roles: set[str] | None = None
        if self.applicant.application is not None:
            about_application(self.applicant.application.number)

    def _repair(self) -> None:
        """Bring a conversation saved under an older dialogs/ back onto the current flow."""
        applicant, app = self.applicant, self.applicant.application
        if app is not None and app.category not in self.spec.categories:
            applicant.state = states.CATEGORY
        elif applicant.state not in self.service.flow.states:
            if app is not None:
                applicant.state = states.SUMMARY
                self.model.state = applicant.state
                self.fire("advance")
            else:
                applicant.state = states.IDLE if applicant.consent_at else states.NEW

    # -- where the person stands -----------------------------------------------------------

    @property
    def state(self) -> str:
        """The applicant's current state."""
        return self.applicant.state

    @property
    def app(self) -> Application:
        """The current application; only called where one must exist."""
        assert self.applicant.application is not None
        return self.applicant.application

    def in_flow(self) -> bool:
        """True while an application is being filled in (category, steps or summary)."""
        return (
            self.state == states.CATEGORY
            or self.state == states.SUMMARY
            or (self.state in self.spec.steps)
        )

    def resubmitting(self) -> bool:
        """True while the applicant redoes the items a reviewer asked for."""
        app = self.applicant.application
        return app is not None and app.status == Status.RESUBMISSION_REQUESTED

    def roles(self) -> set[str]:
        """The person's staff, reviewer and admin roles (read once per turn)."""
        if self._roles is None:
            self._roles = roles_of(self.applicant.user_id, self.uow.roles, self.service.admin_ids)
        return self._roles

    def today(self) -> date:
        """Today's date on the review's clock (it decides ages and numbers)."""
        return local_date(self.service.clock.now())

    def faq_matcher(self) -> FaqMatcher:
        """The FAQ matcher for this turn (its freshness is checked once per turn)."""
        assert self.service.faq is not None
        if self._matcher is None:
            self._matcher = self.service.faq.matcher(self.uow.faq)
        return self._matcher

    # -- doing -----------------------------------------------------------------------------

    def fire(self, trigger: str) -> bool:
        """Fire a trigger; on entering a new state, start its document slots afresh."""
        before = self.applicant.state
        moved = self.service.flow.fire(self.model, trigger)
        if moved and self.applicant.state != before:
            self.applicant.slot_index = 0
        return moved

    def say(
        self,
        template: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
        **context: Any,
    ) -> None:
        """Queue one reply to the applicant."""
        self.replies.append(
            Reply(
                template=template,
                chat_id=self.applicant.chat_id,
                language=self.applicant.language,
                context=context,
                buttons=buttons,
            )
        )

    def stale(self) -> None:
        """Refuse a button that no longer means what it said, with one brief notice."""
        self.replies.append(
            Reply(
                template="stale_button",
                chat_id=self.applicant.chat_id,
                language=self.applicant.language,
                toast=True,
            )
        )

    def reply_from_source(
        self,
        source: str,
        context: Mapping[str, Any],
        language: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
    ) -> Reply:
        """A message rendered from a template text (an FAQ answer)."""
        return Reply(
            template="faq_answer",
            chat_id=self.applicant.chat_id,
            language=language,
            context=context,
            buttons=buttons,
            source=source,
        )

    def step_data(self, action: str) -> str:
        """Button data for navigation that acts on the current step (the action is refused
        anywhere else: an old "back" must not move the applicant back from a later step)."""
        return f"nav:{action}:{self.state}"

    def prompt(self) -> None:
        """Ask the current question again (see `Handoff`)."""
        self.handoff.prompt(self)

    def on_text(self, text: str) -> None:
        """Take typed text as the application flow does (see `Handoff`)."""
        self.handoff.on_text(self, text)

    # -- the replies -----------------------------------------------------------------------

    def outgoing(self) -> list[Reply]:
        """The replies, with the applicant's question marked.

        The last message with buttons of the flow asks the current question and is named
        (`question_tag`); when the applicant moved on (answered, went back, submitted…), the
        first message of the turn also takes the buttons away from the one named before, whose
        buttons would no longer mean what they said. A question asked again where it stands (a
        refused answer, an FAQ answer in between) keeps the buttons it had: they still act on
        their own step, and each edit costs a message against Telegram's per-chat limit.
        """
        chat = self.applicant.chat_id
        replies = list(self.replies)
        own = [i for i, r in enumerate(replies) if r.chat_id == chat and not r.toast]
        asks = [i for i in own if asks_question(replies[i])]
        tag = question_tag(self.applicant.user_id)
        if own and (self.forget or self.applicant.state != self.started_in):
            replies[own[0]] = replace(replies[own[0]], retire=tag)
        if asks:
            replies[asks[-1]] = replace(replies[asks[-1]], tag=tag)
        return replies


def asks_question(reply: Reply) -> bool:
    """True when the reply carries buttons of the application flow (it asks a question)."""
    return any(button.data.startswith(FLOW_SCOPES) for row in reply.buttons for button in row)
