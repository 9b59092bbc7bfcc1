"""The applicant conversation: one event in, the state moved by one trigger, replies out."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from cardbot.core import flow as states
from cardbot.core.clock import local_date, local_time
from cardbot.core.events import (
    ButtonPress,
    Command,
    Event,
    FileUpload,
    GroupReply,
    Incoming,
    IncomingFile,
    Text,
    Unsupported,
    UserRef,
)
from cardbot.core.faq import MAX_LISTED, SMALL_TALK, FaqEntry, FaqMatch, FaqMatcher, normalise
from cardbot.core.faq_scope import asks_for_person
from cardbot.core.faq_service import FaqService, looks_like_question
from cardbot.core.files import check_file
from cardbot.core.flow import FlowMachine, FlowModel
from cardbot.core.log_context import about_application
from cardbot.core.model import DECIDED_STATUSES, Applicant, Application, Status, StoredDocument
from cardbot.core.ports import Clock, ConcurrentUpdateError, DocumentStore, UnitOfWork, post
from cardbot.core.privacy import PRIVACY_COMMANDS, RETENTION_DAYS, PrivacyDesk
from cardbot.core.replies import Button, Reply
from cardbot.core.review import REVIEW_COMMANDS, ReviewDesk
from cardbot.core.roles import REVIEWER, STAFF, roles_of
from cardbot.core.screening import Package, PackageDocument, consistency_flags, screen_package
from cardbot.core.spec import DialogSpec, Step
from cardbot.core.staff import ADMIN_COMMANDS, STAFF_COMMANDS, StaffDesk
from cardbot.core.text import mask_digits
from cardbot.core.validation import VALIDATORS
from cardbot.core.workdays import (
    REVIEW_MAX_DAYS,
    REVIEW_MIN_DAYS,
    WeekdayCalendar,
    WorkingCalendar,
)

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
COMMANDS = (
    "start",
    "help",
    "status",
    "summary",
    "back",
    "cancel",
    "lang",
    "faq",
    "mydata",
    "delete",
)
MAX_TEXT_LENGTH = 1000
MAX_ATTEMPTS = 3
# Telegram gives up on an unconfirmed update after a day; a repeat after a week cannot come.
DELIVERY_MEMORY = timedelta(days=7)
MAX_QUESTION = 300
MAX_TICKET_TEXT = 1000
MAX_SUPPORT_QUESTIONS = 5
SUPPORT_WINDOW = timedelta(days=1)
ACCEPT = "accept"
ASK_PERSON = "ask"
# The applicant's next message goes to a support ticket (0: a new one); the pending text holds
# "ticket:messages sent since the last staff answer".
FOLLOW_UP = "followup"
MAX_FOLLOW_UPS = 3
MAX_RELAYED_ANSWER = 3500
TICKET_REFERENCE = re.compile(r"#Q([0-9]{1,18})")
MIN_SUGGESTION_SCORE = 0.12
APPLY = "apply"
# Buttons whose meaning depends on where the applicant is. The message that shows them asks the
# applicant's current question; once it is answered its buttons are taken away.
FLOW_SCOPES = ("nav:", "pick:", "cat:", "consent:", "edit:")
# Navigation that acts on the step it was shown with: its data names that step, and it is
# refused anywhere else (an old "back" must not move the applicant back from a later step).
STEP_ACTIONS = frozenset({"back", "keep", "skip", "accept"})


def question_tag(user_id: int) -> str:
    """The name of the message that asks an applicant's current question."""
    return f"ask:{user_id}"


def language_for(language_code: str | None) -> str:
    """The bot language for a Telegram language code: English for en-*, Chinese otherwise."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


class ConversationService:
    """Handles one applicant event inside one transaction, exactly once per delivery."""

    def __init__(
        self,
        spec: DialogSpec,
        unit_of_work: Callable[[], UnitOfWork],
        documents: DocumentStore,
        clock: Clock,
        *,
        faq: FaqService | None = None,
        admin_ids: frozenset[int] = frozenset(),
        support_chat_id: int | None = None,
        calendar: WorkingCalendar | None = None,
        review_chat_id: int | None = None,
        review_language: str = DEFAULT_LANGUAGE,
        back_office: bool = False,
        retention_days: int = RETENTION_DAYS,
    ) -> None:
        self.spec = spec
        self.flow = FlowMachine(spec)
        self.unit_of_work = unit_of_work
        self.documents = documents
        self.clock = clock
        self.faq = faq
        self.admin_ids = admin_ids
        self.support_chat_id = support_chat_id
        # The review and the support group are the same team: one language for both.
        self.team_language = review_language
        self.calendar: WorkingCalendar = calendar or WeekdayCalendar()
        self.review = ReviewDesk(self, review_chat_id, review_language, back_office=back_office)
        self.privacy = PrivacyDesk(self, retention_days)

    def handle(self, incoming: Incoming) -> list[Reply]:
        """Apply one event and return the replies, every one but toasts also written to the
        outbox in the same transaction; a repeated delivery changes nothing and returns only
        its replies still waiting in the outbox (none once they were sent).

        When another worker changed the same applicant at the same moment, the event is
        applied again on the fresh state (a few times at most).
        """
        for _attempt in range(MAX_ATTEMPTS - 1):
            try:
                return self._handle_once(incoming)
            except ConcurrentUpdateError:
                continue
        return self._handle_once(incoming)

    def forget_old_deliveries(self, now: datetime | None = None) -> int:
        """Forget deliveries handled more than DELIVERY_MEMORY ago: no repeat of them can
        come any more, and the record would otherwise grow with every update, forever."""
        now = now or self.clock.now()
        with self.unit_of_work() as uow:
            forgotten = uow.forget_deliveries(now - DELIVERY_MEMORY)
            uow.commit()
        return forgotten

    def language_of(self, user: UserRef) -> str:
        """The language the applicant chose, or the one their Telegram settings suggest."""
        with self.unit_of_work() as uow:
            applicant = uow.load_applicant(user.user_id)
        return applicant.language if applicant else language_for(user.language_code)

    def turn_for(self, applicant: Applicant, uow: UnitOfWork) -> Turn:
        """A turn for an applicant whose application someone else (a reviewer) is changing."""
        pending = (applicant.pending_action, applicant.pending_text)
        turn = Turn(self, applicant, uow)
        applicant.pending_action, applicant.pending_text = pending
        return turn

    def _handle_once(self, incoming: Incoming) -> list[Reply]:
        chat_id = incoming.user.chat_id
        event = incoming.event
        if (
            isinstance(event, GroupReply)
            and chat_id == self.support_chat_id
            and (TICKET_REFERENCE.search(event.replied_to) or chat_id != self.review.chat_id)
        ):
            return self._relay_support_reply(incoming.key, incoming.user, event)
        if self.review.chat_id is not None and chat_id == self.review.chat_id:
            return self.review.handle(incoming)
        if chat_id < 0 or isinstance(incoming.event, GroupReply):
            return []
        turn: Turn | None = None
        try:
            with self.unit_of_work() as uow:
                if not uow.claim_update(incoming.key):
                    return uow.messages.pending_for(incoming.key)
                applicant = uow.load_applicant(incoming.user.user_id) or _new_applicant(
                    incoming.user
                )
                applicant.chat_id = incoming.user.chat_id
                turn = Turn(self, applicant, uow)
                turn.run(incoming.event)
                if turn.forget:
                    uow.delete_applicant(applicant.user_id)
                else:
                    uow.save_applicant(applicant)
                replies = post(uow, turn.outgoing(), incoming.key)
                uow.commit()
        except BaseException:
            if turn is not None:
                self.delete_quietly(turn.stored_keys)
            raise
        self.delete_quietly(turn.obsolete_keys)
        return replies

    def _relay_support_reply(self, key: str, staff: UserRef, event: GroupReply) -> list[Reply]:
        """Pass a staff member's answer in the support group on to the applicant who asked."""
        found = TICKET_REFERENCE.search(event.replied_to)
        group = staff.chat_id
        with self.unit_of_work() as uow:
            if found is None:
                return []
            if not uow.claim_update(key):
                return uow.messages.pending_for(key)
            number = int(found.group(1))
            replies: list[Reply]
            if STAFF not in roles_of(staff.user_id, uow.roles, self.admin_ids):
                log.warning(
                    "support reply to #Q%s refused: user %s is not staff", number, staff.user_id
                )
                replies = post(uow, [Reply("support/not_staff", group, self.team_language)], key)
                uow.commit()
                return replies
            ticket = uow.support.ticket(number)
            # A ticket is erased with its applicant's data (/delete): say so, not nothing.
            applicant = uow.load_applicant(ticket.user_id) if ticket is not None else None
            if ticket is None or applicant is None:
                context = {"ticket": number}
                gone = Reply("support/applicant_gone", group, self.team_language, context)
                replies = post(uow, [gone], key)
                uow.commit()
                return replies
            turn = Turn(self, applicant, uow)
            turn.say("support_answer", answer=event.text[:MAX_RELAYED_ANSWER])
            turn.prompt_after_answer()
            turn.await_follow_up(ticket.id, 0)
            ticket.status = "answered"
            uow.support.update_ticket(ticket)
            uow.save_applicant(applicant)
            relayed = Reply("support/relayed", group, self.team_language, {"ticket": ticket.id})
            replies = post(uow, [*turn.outgoing(), relayed], key)
            uow.commit()
        return replies

    def delete_quietly(self, keys: list[str]) -> None:
        """Remove documents no longer needed; one already gone is not an error."""
        for key in keys:
            with suppress(OSError):
                self.documents.delete(key)


def _new_applicant(user: UserRef) -> Applicant:
    return Applicant(
        user_id=user.user_id, chat_id=user.chat_id, language=language_for(user.language_code)
    )


@dataclass
class Turn:
    """The handling of one event for one applicant."""

    service: ConversationService
    applicant: Applicant
    uow: UnitOfWork
    replies: list[Reply] = field(default_factory=list)
    stored_keys: list[str] = field(default_factory=list)
    obsolete_keys: list[str] = field(default_factory=list)
    forget: bool = False

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

    # -- plumbing ------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The applicant's current state."""
        return self.applicant.state

    @property
    def app(self) -> Application:
        """The current application; only called where one must exist."""
        assert self.applicant.application is not None
        return self.applicant.application

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

    def step_data(self, action: str) -> str:
        """Button data for navigation that acts on the current step (see STEP_ACTIONS)."""
        return f"nav:{action}:{self.state}"

    def roles(self) -> set[str]:
        """The person's staff, reviewer and admin roles (read once per turn)."""
        if self._roles is None:
            self._roles = roles_of(self.applicant.user_id, self.uow.roles, self.service.admin_ids)
        return self._roles

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
        asks = [i for i in own if _asks_question(replies[i])]
        tag = question_tag(self.applicant.user_id)
        if own and (self.forget or self.applicant.state != self.started_in):
            replies[own[0]] = replace(replies[own[0]], retire=tag)
        if asks:
            replies[asks[-1]] = replace(replies[asks[-1]], tag=tag)
        return replies

    def today(self) -> date:
        """Today's date on the review's clock (it decides ages and numbers)."""
        return local_date(self.service.clock.now())

    def fire(self, trigger: str) -> bool:
        """Fire a trigger; on entering a new state, start its document slots afresh."""
        before = self.applicant.state
        moved = self.service.flow.fire(self.model, trigger)
        if moved and self.applicant.state != before:
            self.applicant.slot_index = 0
        return moved

    def resubmitting(self) -> bool:
        """True while the applicant redoes the items a reviewer asked for."""
        app = self.applicant.application
        return app is not None and app.status == Status.RESUBMISSION_REQUESTED

    def announce(self, outcome: str) -> None:
        """Tell the applicant about a reviewer's step, and move them where it leads."""
        app = self.app
        review = self.service.review
        context: dict[str, Any] = {"number": app.number, **review.notice_context(app)}
        if outcome in ("approved", "rejected"):
            if not self.fire("close"):
                self.applicant.state = states.IDLE
            reasons = review.reasons_for_applicant(app, self.applicant.language)
            final = review.is_final(app)
            rows: list[tuple[Button, ...]] = []
            if outcome == "rejected" and not final:
                rows.append((Button("button.reapply", "nav:reapply"),))
            rows.append((Button("button.more_questions", "faq:list"),))
            if outcome == "rejected" and self.service.support_chat_id is not None:
                rows.append((Button("button.ask_person", "human:person"),))
            self.say(
                f"decision/{outcome}",
                tuple(rows),
                reasons=reasons,
                comment=app.review.comment,
                final=final,
                **context,
            )
        elif outcome == "resubmission_requested":
            if not self.fire("reopen"):
                self.applicant.state = states.SUMMARY
                self.model.state = states.SUMMARY
            self.say(
                "decision/resubmit",
                reasons=review.reasons_for_applicant(app, self.applicant.language),
                comment=app.review.comment,
                items=list(app.review.requested),
                **context,
            )
            self.fire("advance")
            self.prompt()
        else:
            self.say(f"decision/{outcome}", **context)

    def on_reapply(self) -> bool:
        """After a rejection that is not final: a new application with what is still valid."""
        old = self.applicant.application
        review = self.service.review
        if self.state != states.IDLE or old is None or old.status != Status.REJECTED:
            return False
        if review.is_final(old):
            return False
        reasons = [self.spec.reasons[r] for r in old.review.reasons if r in self.spec.reasons]
        invalid = {item for reason in reasons for item in reason.items}
        new = Application(category=old.category, created_at=self.service.clock.now())
        self.applicant.application = new
        for step in self.spec.applicable_steps(old.category, old.answers):
            if step.id in invalid:
                continue
            if step.kind != "document" and step.id in old.answers:
                self.set_answer(step.id, old.answers[step.id])
            for slot in step.slots:
                doc = old.documents.get(slot)
                if doc is None:
                    continue
                with self.service.documents.local_path(doc.storage_key) as path:
                    key = self.service.documents.put(path)
                self.stored_keys.append(key)
                new.documents[slot] = replace(doc, storage_key=key)
        self.fire("start_over")
        self.fire("advance")
        self.say("reapply_started", number=old.number, dropped=sorted(invalid))
        self.prompt()
        return True

    def in_flow(self) -> bool:
        """True while an application is being filled in (category, steps or summary)."""
        return (
            self.state == states.CATEGORY
            or self.state == states.SUMMARY
            or (self.state in self.spec.steps)
        )

    # -- dispatch ------------------------------------------------------------------------

    def run(self, event: Event) -> None:
        """Handle one event."""
        if self.staff_event(event):
            return
        if isinstance(event, Text) and self.on_follow_up(event.text):
            return
        if (
            self.state == states.NEW
            and not (isinstance(event, Command) and event.name in ("lang", *PRIVACY_COMMANDS))
            and not (isinstance(event, ButtonPress) and event.data.startswith(("lang:", "del:")))
        ):
            if self.roles() and event != ButtonPress(f"nav:{APPLY}"):
                # Staff and reviewers get their own help (and may still choose to apply); a
                # question of theirs the FAQ can answer is answered, as for anyone.
                if isinstance(event, Text) and self.answer_faq_if_confident(event.text):
                    return
                asked = event.name if isinstance(event, Command) else None
                self.role_help(asked=asked if asked in REVIEW_COMMANDS else None)
                return
            if isinstance(event, Text):
                self.answer_faq_if_confident(event.text)
            self.fire("ask_consent")
            self.say("welcome")
            self.prompt()
            return
        match event:
            case Command(name=name):
                self.on_command(name)
            case ButtonPress(data=data):
                self.on_button(data)
            case Text(text=text):
                self.on_text(text)
            case FileUpload(file=file):
                self.on_file(file)
            case Unsupported(kind="edited"):
                self.on_edited()
            case Unsupported(kind=kind):
                self.refuse("problems/unsupported_message", kind=kind)

    def on_edited(self) -> None:
        """An answer edited in Telegram changes nothing: say how to change one instead."""
        if self.in_flow():
            self.refuse("problems/edited_message", in_flow=True)
            return
        self.say("problems/edited_message", in_flow=False)
        self.prompt()

    def role_help(self, asked: str | None = None) -> None:
        """What a staff member, reviewer or admin can do, and where; before they have begun
        an application, with a button to apply all the same."""
        can_apply = self.state == states.NEW
        self.say(
            "role_help",
            ((Button("button.apply", f"nav:{APPLY}"),),) if can_apply else (),
            can_apply=can_apply,
            roles=sorted(self.roles()),
            review_group=self.service.review.chat_id is not None,
            support_group=self.service.support_chat_id is not None,
            asked=asked,
        )

    def staff_event(self, event: Event) -> bool:
        """Staff and admin commands, their buttons and their typed input; False otherwise."""
        desk = StaffDesk(self)
        match event:
            case Command(name=name, args=args) if name in STAFF_COMMANDS + ADMIN_COMMANDS:
                desk.on_command(name, args)
            case ButtonPress(data=data) if data.split(":", 1)[0] in ("fa", "ua"):
                scope, _, value = data.partition(":")
                if not desk.on_button(scope, value):
                    self.stale()
            case Command(name="cancel") if self.applicant.staff_action:
                desk.discard()
            case Text(text=text) if self.applicant.staff_action:
                desk.on_text(text)
            case _:
                return False
        return True

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

    def on_command(self, name: str) -> None:
        """Handle a slash command."""
        handlers: Mapping[str, Callable[[], None]] = {
            "start": self.on_start,
            "help": self.on_help,
            "status": self.on_status,
            "summary": self.on_summary,
            "back": self.on_back,
            "cancel": self.on_cancel,
            "lang": self.on_lang,
            "faq": self.on_faq_list,
            "mydata": lambda: self.service.privacy.my_data(self),
            "delete": lambda: self.service.privacy.ask_delete(self),
        }
        handler = handlers.get(name)
        if handler is None and name in REVIEW_COMMANDS and REVIEWER in self.roles():
            self.role_help(asked=name)
            if self.in_flow():
                self.prompt()
            return
        if handler is None:
            self.say("unknown_command", name=name)
            self.prompt()
            return
        handler()

    def on_start(self) -> None:
        """Begin, resume, or show where the application stands."""
        if self.state == states.IDLE:
            if self.applicant.application is not None and self.applicant.application.number:
                self.applicant.application = None  # decided or withdrawn: kept, not reused
            self.fire("start_over")
            self.prompt()
        elif self.state == states.SUBMITTED:
            self.on_status()
        elif self.state == states.CONSENT:
            self.say("welcome")
            self.prompt()
        else:
            self.say("welcome_back")
            self.prompt()

    def on_help(self) -> None:
        """List what the bot can do, then repeat the current question."""
        self.say("help", commands=list(COMMANDS))
        if self.roles():
            self.role_help()
        self.prompt()

    def on_status(self) -> None:
        """Show where the application stands."""
        application = self.applicant.application
        context: dict[str, Any] = {"has_application": application is not None}
        if application is not None:
            done = sum(1 for s in self.model.applicable_steps() if not self.model.pending(s.id))
            context.update(
                status=application.status.value,
                number=application.number,
                category=application.category,
                submitted_at=_date_text(application.submitted_at),
                steps_done=done,
                steps_total=len(self.model.applicable_steps()),
                history=self.service.review.status_history(self.uow, application),
                window=None,
                redo=sorted(application.redo, key=self.spec.step_order.index),
            )
            if application.submitted_at and application.status not in DECIDED_STATUSES:
                window = self.service.review.window(application)
                context["window"] = {
                    "start": window.start.isoformat(),
                    "end": window.end.isoformat(),
                    "estimate": window.estimate,
                }
        buttons = () if self.in_flow() else ((Button("button.start", "nav:start"),),)
        if self.state == states.SUBMITTED:
            buttons = ()
        self.say("status", buttons, **context)
        if self.in_flow():
            self.prompt()

    def on_summary(self) -> None:
        """Show everything given so far."""
        if self.state in self.spec.steps:
            self.fire("show_summary")
        self.prompt()

    def on_back(self) -> None:
        """Go back one question."""
        if not self.fire("back"):
            self.say("cannot_go_back")
        self.prompt()

    def on_cancel(self) -> None:
        """Ask to confirm cancelling the application in progress (withdrawing, once sent)."""
        if self.state == states.SUBMITTED:
            # Sent already (a cancel tapped together with submit arrives here, too).
            self.say("cancel_submitted", number=self._number())
            return
        if not self.in_flow():
            self.say("nothing_to_cancel")
            self.prompt()
            return
        self.say(
            "withdraw_confirm" if self.resubmitting() else "cancel_confirm",
            (
                (
                    Button(
                        "button.withdraw_yes" if self.resubmitting() else "button.cancel_yes",
                        "nav:cancel_yes",
                    ),
                    Button("button.cancel_no", "nav:cancel_no"),
                ),
            ),
        )
        self.applicant.pending_action = "cancel"

    def on_lang(self) -> None:
        """Offer the languages."""
        self.say(
            "choose_language",
            (tuple(Button(f"language.{code}", f"lang:{code}") for code in LANGUAGES),),
        )

    # -- buttons -------------------------------------------------------------------------

    def on_button(self, data: str) -> None:
        """Handle a button press; anything stale or forged changes nothing."""
        scope, _, value = data.partition(":")
        handled = False
        if scope == "consent" and self.state == states.CONSENT:
            handled = self.on_consent(value)
        elif scope == "cat" and self.state == states.CATEGORY:
            handled = self.on_category(value)
        elif scope == "pick":
            handled = self.on_pick(value)
        elif scope == "nav":
            handled = self.on_nav(value)
        elif scope == "edit" and self.state == states.SUMMARY:
            handled = self.on_edit(value)
        elif scope == "faq":
            handled = self.on_faq_button(value)
        elif scope == "human":
            handled = self.on_ask_person(value)
        elif scope == "del":
            handled = self.service.privacy.on_button(self, value)
        elif scope == "lang" and value in LANGUAGES:
            self.applicant.language = value
            self.say("language_set")
            if self.state == states.NEW and not self.roles():
                self.fire("ask_consent")
            self.prompt()
            handled = True
        if not handled:
            self.stale()

    def on_consent(self, value: str) -> bool:
        """Record consent, or forget the applicant when they decline."""
        if value == "yes":
            self.applicant.consent_at = self.service.clock.now()
            self.fire("agree")
            self.prompt()
            return True
        if value == "no":
            self.forget = True
            self.say("consent_declined", ((Button("button.start", "nav:start"),),))
            return True
        return False

    def on_category(self, category: str) -> bool:
        """Choose or change the kind of applicant."""
        if category not in self.spec.categories:
            return False
        if self.applicant.application is None:
            self.applicant.application = Application(
                category=category, created_at=self.service.clock.now()
            )
        else:
            self.app.category = category
            self.app.skipped &= self.spec.categories[category].optional
        self.fire("advance")
        self.prompt()
        return True

    def on_pick(self, value: str) -> bool:
        """A choice among a step's buttons, valid only while that step is asked."""
        step_id, _, choice = value.partition(":")
        step = self.spec.steps.get(step_id)
        if step is None or self.state != step_id or choice not in step.choices:
            return False
        self.set_answer(step_id, choice)
        self.fire("advance")
        self.prompt()
        return True

    def on_nav(self, value: str) -> bool:
        """Navigation buttons: back, summary, continue, skip, keep, submit, cancel, start.

        Back, keep, skip and accept act on the step they were shown with, and only there.
        """
        value, _, shown_at = value.partition(":")
        if value in STEP_ACTIONS and shown_at != self.state:
            return False
        in_step = self.state in self.spec.steps
        if value == "back" and (in_step or self.state == states.SUMMARY):
            self.on_back()
        elif value == "summary" and (in_step or self.state == states.SUMMARY):
            self.on_summary()
        elif value == "continue" and self.state == states.SUMMARY:
            self.fire("advance")
            self.prompt()
        elif value == "skip" and in_step and self.model.is_optional(self.state):
            self.app.skipped.add(self.state)
            self.fire("advance")
            self.prompt()
        elif value == "keep" and in_step:
            return self.on_keep()
        elif value == APPLY and self.state == states.NEW:
            self.fire("ask_consent")
            self.say("welcome")
            self.prompt()
        elif value == "edit" and self.state == states.SUMMARY:
            self.say("edit_choose", self.edit_buttons())
        elif value == "submit" and self.state == states.SUMMARY:
            self.on_submit()
        elif value == "cancel":
            self.on_cancel()
        elif value == "cancel_yes" and self.in_flow() and self.pending_action == "cancel":
            self.cancel_application()
        elif value == "cancel_no" and self.in_flow():
            self.prompt()
        elif value == "start":
            self.on_start()
        elif value == "accept":
            return self.on_accept()
        elif value == "reapply":
            return self.on_reapply()
        else:
            return False
        return True

    def on_keep(self) -> bool:
        """Keep what the step already has: the whole answer (then the next question), or,
        part way through a document step, the file already received for the item asked now
        (then the next item)."""
        step = self.spec.steps[self.state]
        if not self.model.pending(step.id):
            self.fire("advance")
            self.prompt()
            return True
        slot = self.kept_slot(step)
        if slot is None:
            return False
        missing = [i for i, s in enumerate(step.slots) if s not in self.app.documents]
        later = [i for i in missing if i > self.applicant.slot_index]
        self.applicant.slot_index = (later or missing)[0]
        self.say_received(step, [slot], kept=True)
        return True

    def kept_slot(self, step: Step) -> str | None:
        """The document item asked for now, when a file for it is already kept and may be used
        as it is (not when a reviewer asked for the step to be redone)."""
        if step.kind != "document" or not self.model.pending(step.id) or step.id in self.app.redo:
            return None
        slot = self._slot(step)
        return slot if slot in self.app.documents else None

    def on_edit(self, target: str) -> bool:
        """Jump from the summary to one item to change it."""
        if target == states.CATEGORY and self.resubmitting():
            return False
        if target == states.CATEGORY or (target in self.spec.steps and self.model.applies(target)):
            self.fire(f"edit_{target}")
            self.prompt()
            return True
        return False

    # -- answers and files ---------------------------------------------------------------

    def on_text(self, text: str) -> None:
        """A typed answer, checked and stored or re-asked; or a question, answered."""
        if self.hand_to_person(text):
            return
        step = self.spec.steps.get(self.state)
        question = looks_like_question(text)
        if step is None or step.kind != "text":
            # Where a file or a tap is awaited, a statement ("my ID card is here") is most
            # likely about that: the FAQ answers it only when it is sure.
            sure = step is not None and not question
            if self.try_faq(text, offer_help=question, sure=sure):
                return
            if self.state in (states.SUBMITTED, states.IDLE):
                self.prompt()
            elif step is not None and step.kind == "document":
                self.refuse("problems/expected_file", slot=self._slot(step))
            else:
                self.refuse("problems/use_buttons")
            return
        if len(text) > MAX_TEXT_LENGTH:
            self.refuse("problems/text_too_long", step=step.id)
            return
        assert step.validator is not None
        verdict = VALIDATORS[step.validator](text, self.app.answers, self.today())
        if question and self.service.faq is not None:
            # A question is answered (or handed on), never silently stored as the answer;
            # when it would also be a valid answer, one tap takes it as that.
            self.try_faq(text, offer_help=True, could_be_answer=verdict.ok)
            return
        if not verdict.ok:
            if self.try_faq(text, offer_help=False):
                return
            self.refuse(f"problems/{verdict.problem}", step=step.id, **verdict.details)
            return
        self.store_text_answer(step, text)

    def store_text_answer(self, step: Step, text: str) -> bool:
        """Check the text as the step's answer once more and store it; False if it fails."""
        assert step.validator is not None
        verdict = VALIDATORS[step.validator](text, self.app.answers, self.today())
        if not verdict.ok or verdict.value is None:
            return False
        self.set_answer(step.id, verdict.value)
        self.fire("advance")
        self.prompt()
        return True

    # -- questions -----------------------------------------------------------------------

    def faq_matcher(self) -> FaqMatcher:
        """The FAQ matcher for this turn (its freshness is checked once per turn)."""
        assert self.service.faq is not None
        if self._matcher is None:
            self._matcher = self.service.faq.matcher(self.uow.faq)
        return self._matcher

    def faq_match(self, text: str) -> FaqMatch | None:
        """What the FAQ makes of the text, if cardbot has an FAQ."""
        if self.service.faq is None:
            return None
        return self.faq_matcher().match(text)

    def answer_faq_if_confident(self, text: str) -> bool:
        """Answer the question when the FAQ is sure which entry it is."""
        match = self.faq_match(text)
        return match is not None and match.entry_id is not None and self.answer_faq(match.entry_id)

    def try_faq(
        self, text: str, *, offer_help: bool, could_be_answer: bool = False, sure: bool = False
    ) -> bool:
        """Answer from the FAQ (then repeat the question), or, for a question it cannot
        answer, say so and offer the closest entries and a person. When the text could also
        be the current step's answer, a button takes it as that. With `sure`, only a match
        scoring at least the matcher's `sure` level is answered."""
        match = self.faq_match(text)
        if match is None:
            return False
        if sure and match.score < self.faq_matcher().settings.sure:
            return False
        if match.entry_id is not None and self.answer_faq(match.entry_id):
            if could_be_answer:
                self.offer_as_answer(text)
            self.prompt_after_answer()
            return True
        if not offer_help:
            return False
        self.offer_help(text, match, could_be_answer=could_be_answer)
        self.prompt_after_answer()
        return True

    def offer_as_answer(self, text: str) -> None:
        """Keep the text, in case it was meant as the answer after all."""
        self.applicant.pending_text = text
        self.applicant.pending_action = ACCEPT
        self.say(
            "use_as_answer",
            ((Button("button.use_as_answer", self.step_data("accept")),),),
            text=text,
        )

    def prompt_after_answer(self) -> None:
        """Return to where the applicant was, unless there is nothing to return to."""
        if self.state != states.SUBMITTED:
            self.prompt()

    def answer_faq(self, entry_id: str) -> bool:
        """Send one FAQ entry's answer, in the applicant's language where it exists."""
        assert self.service.faq is not None
        entry = self.faq_matcher().entries.get(entry_id)
        if entry is None:
            return False
        language = self.applicant.language
        source = entry.answers.get(language) or entry.answers[DEFAULT_LANGUAGE]
        context = self.service.faq.answer_context(self.applicant, self.today())
        self.replies.append(
            self.reply_from_source(
                source, context, language, ((Button("button.more_questions", "faq:list"),),)
            )
        )
        return True

    def offer_help(self, text: str, match: FaqMatch, *, could_be_answer: bool = False) -> None:
        """Say the FAQ is not sure: the closest entries as buttons, a person to ask, and (when
        the text could be the step's answer) a button to take it as that."""
        assert self.service.faq is not None
        language = self.applicant.language
        consented = self.applicant.consent_at is not None
        if consented:
            self.uow.faq.record_unanswered(mask_digits(normalise(text))[:MAX_QUESTION], language)
        entries = self.faq_matcher().entries
        suggest = match.score >= MIN_SUGGESTION_SCORE
        rows: list[tuple[Button, ...]] = [
            (Button("", f"faq:{entry_id}", text=_first_question(entries[entry_id], language)),)
            for entry_id in (match.candidates if suggest else ())
        ]
        actions = set()
        can_ask = consented and self.service.support_chat_id is not None
        if can_ask:
            rows.append((Button("button.ask_person", "human:ask"),))
            actions.add(ASK_PERSON)
        if could_be_answer:
            rows.append((Button("button.use_as_answer", self.step_data("accept")),))
            actions.add(ACCEPT)
        if actions:
            self.applicant.pending_text = text
            self.applicant.pending_action = " ".join(sorted(actions))
        self.say(
            "faq_unsure",
            tuple(rows),
            suggestions=bool(rows) and suggest,
            can_ask_person=can_ask,
        )

    def on_faq_list(self) -> None:
        """Every FAQ entry as a button."""
        if self.service.faq is None:
            self.say("faq_list", ())
            return
        language = self.applicant.language
        entries = list(self.faq_matcher().entries.values())[:MAX_LISTED]
        rows = tuple(
            (Button("", f"faq:{entry.id}", text=_first_question(entry, language)),)
            for entry in entries
        )
        self.say("faq_list", rows)

    def on_faq_button(self, value: str) -> bool:
        """An entry chosen from the list or the suggestions."""
        if value == "list":
            self.on_faq_list()
            return True
        if self.service.faq is None or not self.answer_faq(value):
            return False
        if self.state != states.NEW:
            self.prompt_after_answer()
        return True

    def on_ask_person(self, value: str) -> bool:
        """Hand the applicant's own last unanswered question to the support group ("ask"), or
        ask them to write what they want a person to answer ("person", under a rejection)."""
        if self.service.support_chat_id is None or self.applicant.consent_at is None:
            return False
        if value == "person":
            self.say("support_ask")
            self.await_follow_up(0, 0)
            return True
        question = self.pending_text
        if value != "ask" or ASK_PERSON not in (self.pending_action or "") or not question:
            return False
        self.open_ticket(question)
        return True

    def hand_to_person(self, text: str) -> bool:
        """When the text asks for a person ("转人工", "I want a human"), open a ticket at once,
        with the question they could not get answered if there was one; False when it does
        not ask for one, or no person can be reached (the FAQ then says how)."""
        if not asks_for_person(normalise(text)) or self.faq_refuses_subject(text):
            return False
        if self.service.support_chat_id is None or self.applicant.consent_at is None:
            return False
        unanswered = self.pending_text if ASK_PERSON in (self.pending_action or "") else None
        question = f"{unanswered}\n{text}" if unanswered else text
        self.open_ticket(question, more=True)
        return True

    def faq_refuses_subject(self, text: str) -> bool:
        """True when the FAQ finds the text is about another product (10086's human service)."""
        match = self.faq_match(text)
        return match is not None and match.reason.startswith("other:")

    def open_ticket(self, question: str, *, more: bool = False) -> None:
        """Pass a question to the support group as a new ticket (within the daily limit)."""
        assert self.service.support_chat_id is not None
        since = self.service.clock.now() - SUPPORT_WINDOW
        if self.uow.support.count_recent(self.applicant.user_id, since) >= MAX_SUPPORT_QUESTIONS:
            self.say("support_busy", limit=MAX_SUPPORT_QUESTIONS)
            self.prompt_after_answer()
            return
        language = self.applicant.language
        question = question[:MAX_TICKET_TEXT]
        ticket = self.uow.support.open_ticket(
            self.applicant.user_id, self.applicant.chat_id, question, language
        )
        self.replies.append(
            Reply(
                template="support/question",
                chat_id=self.service.support_chat_id,
                language=self.service.team_language,
                context={
                    "ticket": ticket,
                    "question": question,
                    "language": language,
                    **self.application_reference(),
                },
            )
        )
        self.say("support_sent", more=more, added=False)
        self.prompt_after_answer()
        if more:
            self.await_follow_up(ticket, 0)

    def application_reference(self) -> dict[str, str | None]:
        """The applicant's application number and status for the support group (None
        before anything was submitted)."""
        app = self.applicant.application
        if app is None or app.number is None:
            return {"number": None, "status": None}
        return {"number": app.number, "status": app.status.value}

    def await_follow_up(self, ticket: int, sent: int) -> None:
        """Send the applicant's next message to the ticket (0: a new one), not to the FAQ."""
        self.applicant.pending_action = FOLLOW_UP
        self.applicant.pending_text = f"{ticket}:{sent}"

    def on_follow_up(self, text: str) -> bool:
        """The applicant's message right after a staff answer (or after asking for a person)
        goes to the same ticket; a valid answer to the current step, a greeting or thanks
        does not. False when the message is not a follow-up."""
        if self.pending_action != FOLLOW_UP or not self.pending_text:
            return False
        number, _, count = self.pending_text.partition(":")
        if not number.isdigit() or not count.isdigit() or self.service.support_chat_id is None:
            return False
        if SMALL_TALK.match(normalise(text)) or self.valid_step_answer(text):
            return False
        if int(number) == 0:
            self.open_ticket(text, more=True)
            return True
        ticket = self.uow.support.ticket(int(number))
        if ticket is None or ticket.user_id != self.applicant.user_id:
            return False
        ticket.status = "sent"
        self.uow.support.update_ticket(ticket)
        language = self.applicant.language
        self.replies.append(
            Reply(
                template="support/followup",
                chat_id=self.service.support_chat_id,
                language=self.service.team_language,
                context={
                    "ticket": ticket.id,
                    "question": text[:MAX_TICKET_TEXT],
                    "language": language,
                    **self.application_reference(),
                },
            )
        )
        self.say("support_sent", more=False, added=True, ticket=ticket.id)
        self.prompt_after_answer()
        if int(count) + 1 < MAX_FOLLOW_UPS:
            self.await_follow_up(ticket.id, int(count) + 1)
        return True

    def valid_step_answer(self, text: str) -> bool:
        """True when the text, not phrased as a question, is a valid answer to a text step."""
        step = self.spec.steps.get(self.state)
        if step is None or step.kind != "text" or step.validator is None:
            return False
        if looks_like_question(text):
            return False
        return VALIDATORS[step.validator](text, self.app.answers, self.today()).ok

    def on_accept(self) -> bool:
        """Take the text kept from the last message as the current step's answer."""
        step = self.spec.steps.get(self.state)
        text = self.pending_text
        if ACCEPT not in (self.pending_action or "") or not text or step is None:
            return False
        return step.kind == "text" and self.store_text_answer(step, text)

    def set_answer(self, step_id: str, value: str) -> None:
        """Store an answer, then drop later answers it made invalid (e.g. a new ID type)."""
        answers = self.app.answers
        answers[step_id] = value
        self.app.redo.discard(step_id)
        today = self.today()
        for other in self.spec.steps.values():
            if other.id == step_id or other.id not in answers or not other.validator:
                continue
            if not VALIDATORS[other.validator](answers[other.id], answers, today).ok:
                del answers[other.id]

    def on_file(self, incoming: IncomingFile) -> None:
        """A photo or file: checked at once and stored in the next document slot."""
        step = self.spec.steps.get(self.state)
        if (
            incoming.group_id is not None
            and incoming.group_id == self.applicant.album_group
            and self.applicant.album_step != self.state
        ):
            self.refuse("problems/album_extra", step=self.applicant.album_step)
            return
        if step is None or step.kind != "document":
            if self.state in (states.SUBMITTED, states.IDLE):
                self.prompt()
            else:
                self.refuse("problems/unexpected_file")
            return
        continuing_album = incoming.group_id is not None and (
            incoming.group_id == self.applicant.album_group
        )
        if incoming.group_id is not None:
            self.applicant.album_group = incoming.group_id
            self.applicant.album_step = step.id
        slot = self._slot(step)
        verdict = check_file(incoming.path, incoming.declared_size, self.spec.documents)
        if not verdict.ok:
            self.refuse(f"problems/{verdict.problem}", slot=slot)
            return
        assert incoming.path is not None and verdict.sha256 and verdict.mime_type
        in_use = {
            doc.sha256: kind
            for kind, doc in self.app.documents.items()
            if kind != slot and kind in self.needed_slots()
        }
        if verdict.sha256 in in_use:
            self.refuse("problems/duplicate_document", slot=slot)
            return
        key = self.service.documents.put(incoming.path)
        self.stored_keys.append(key)
        previous = self.app.documents.get(slot)
        if previous is not None:
            self.obsolete_keys.append(previous.storage_key)
        self.app.documents[slot] = StoredDocument(
            kind=slot,
            storage_key=key,
            sha256=verdict.sha256,
            mime_type=verdict.mime_type,
            size=verdict.size,
            received_at=self.service.clock.now(),
            file_unique_id=incoming.unique_id,
            phash=verdict.phash,
        )
        self.app.skipped.discard(step.id)
        self.applicant.slot_index += 1
        if self.applicant.slot_index >= len(step.slots):
            self.app.redo.discard(step.id)
        if self.applicant.slot_index < len(step.slots):
            # The first photo of an album gets no answer: the rest of it is on its way.
            if incoming.group_id is None or continuing_album:
                self.say_received(step, [slot])
            return
        self.fire("advance")
        self.prompt()
        self.acknowledge(list(step.slots))

    def say_received(self, step: Step, slots: list[str], *, kept: bool = False) -> None:
        """Confirm the items just received (or kept) and ask briefly for the next one."""
        next_slot = self._slot(step)
        self.say(
            "document_received",
            self.step_buttons(),
            acknowledged=slots,
            ack_kept=kept,
            then=None,
            next_slot=next_slot,
            slot_number=min(self.applicant.slot_index, len(step.slots) - 1) + 1,
            slot_count=len(step.slots),
            next_received=next_slot in self.app.documents,
        )

    def acknowledge(self, slots: list[str]) -> None:
        """Confirm a completed document step at the top of the next question (one message,
        not two: each counts against Telegram's per-chat pace)."""
        question = self.replies[-1]
        self.replies[-1] = replace(
            question,
            template="document_received",
            context={
                **question.context,
                "acknowledged": slots,
                "ack_kept": False,
                "then": question.template,
            },
        )

    def needed_slots(self) -> set[str]:
        """The document slots the applicant's current answers call for."""
        return {slot for step in self.model.applicable_steps() for slot in step.slots}

    def _slot(self, step: Step) -> str:
        """The document slot the next upload in this step fills."""
        return step.slots[min(self.applicant.slot_index, len(step.slots) - 1)]

    # -- submission and cancelling -------------------------------------------------------

    def on_submit(self) -> None:
        """Screen the whole package once more and submit it, or list every problem at once."""
        app = self.app
        now = self.service.clock.now()
        applicable = {step.id for step in self.model.applicable_steps()}
        needed = self.needed_slots()
        answers = {k: v for k, v in app.answers.items() if k in applicable}
        documents = {k: d for k, d in app.documents.items() if k in needed}
        with ExitStack() as stack:
            package = Package(
                category=app.category,
                fields=answers,
                documents=[
                    PackageDocument(
                        kind,
                        stack.enter_context(self.service.documents.local_path(doc.storage_key)),
                        doc.sha256,
                    )
                    for kind, doc in documents.items()
                ],
            )
            problems = screen_package(self.spec, package, local_date(now))
        if problems or not self.fire("submit"):
            self.say("incomplete", self.summary_buttons(), problems=[asdict(p) for p in problems])
            return
        for kind in set(app.documents) - needed:
            self.obsolete_keys.append(app.documents.pop(kind).storage_key)
        app.answers = answers
        app.skipped &= applicable & self.spec.categories[app.category].optional
        app.flags = consistency_flags(
            self.uow,
            package,
            {kind: doc.sha256 for kind, doc in documents.items()},
            photo_hashes={kind: doc.phash for kind, doc in documents.items() if doc.phash},
            exclude_number=app.number,
        )
        resubmission = app.number is not None
        if app.number is None:
            app.number = self.uow.next_application_number(local_time(now).year)
        app.status = Status.SUBMITTED
        app.submitted_at = now
        self.service.review.on_submitted(self)
        window = self.service.review.window(app)
        self.say(
            "resubmitted" if resubmission else "submitted",
            number=app.number,
            min_days=REVIEW_MIN_DAYS,
            max_days=REVIEW_MAX_DAYS,
            start=window.start.isoformat(),
            end=window.end.isoformat(),
            estimate=window.estimate,
        )

    def cancel_application(self) -> None:
        """Throw the draft away, documents included; a submitted application is withdrawn."""
        if self.resubmitting():
            self.service.review.on_withdrawn(self)
            self.fire("cancel")
            again = ((Button("button.start", "nav:start"),),)
            self.say("withdrawn", again, number=self.app.number)
            return
        if self.applicant.application is not None:
            for doc in self.applicant.application.documents.values():
                self.obsolete_keys.append(doc.storage_key)
            self.applicant.application = None
        self.fire("cancel")
        self.say("cancelled", ((Button("button.start", "nav:start"),),))

    # -- prompts -------------------------------------------------------------------------

    def prompt(self) -> None:
        """Ask the current question again (or say where things stand)."""
        if self.state == states.NEW:  # nothing asked yet: the first question is the consent
            if self.roles():
                self.role_help()  # staff and reviewers: their own help, and a button to apply
                return
            self.fire("ask_consent")
            self.say("welcome")
        state = self.state
        if state == states.CONSENT:
            self.say(
                "consent",
                ((Button("button.agree", "consent:yes"), Button("button.decline", "consent:no")),),
                retention_days=self.service.privacy.retention_days,
            )
        elif state == states.CATEGORY:
            self.say(
                "choose_category",
                tuple((Button(f"category.{c}", f"cat:{c}"),) for c in self.spec.categories),
            )
        elif state == states.SUMMARY:
            self.say("summary", self.summary_buttons(), **self.summary_context())
        elif state in self.spec.steps:
            self.ask_step(self.spec.steps[state])
        elif state == states.SUBMITTED:
            self.say("already_submitted", number=self._number())
        elif state == states.IDLE:
            self.say("idle", ((Button("button.start", "nav:start"),),))

    def ask_step(self, step: Step) -> None:
        """The prompt for one step, with the current answer when changing it."""
        app = self.app
        context: dict[str, Any] = {
            "step": step.id,
            "current": app.answers.get(step.id),
            "can_skip": self.model.is_optional(step.id) and self.model.pending(step.id),
            "id_type": app.answers.get("id_type"),
        }
        if step.kind == "document":
            context.update(
                slot=self._slot(step),
                slot_number=min(self.applicant.slot_index, len(step.slots) - 1) + 1,
                slot_count=len(step.slots),
                received=[s for s in step.slots if s in app.documents],
                kept=self.kept_slot(step) is not None,
            )
        self.say(f"steps/{step.id}", self.step_buttons(), **context)

    def refuse(self, template: str, **context: Any) -> None:
        """Say why the input was not used, with the buttons that lead on; nothing changes."""
        buttons = self.step_buttons()
        self.say(template, buttons, **context)
        if not buttons:
            self.prompt()

    def step_buttons(self) -> tuple[tuple[Button, ...], ...]:
        """The buttons that go with the current step's prompt or its error messages."""
        step = self.spec.steps.get(self.state)
        if step is None:
            return self.summary_buttons() if self.state == states.SUMMARY else ()
        rows: list[tuple[Button, ...]] = []
        if step.kind == "choice":
            rows.append(
                tuple(Button(f"choice.{step.id}.{c}", f"pick:{step.id}:{c}") for c in step.choices)
            )
        if not self.model.pending(step.id):
            rows.append((Button("button.keep", self.step_data("keep")),))
        elif self.kept_slot(step) is not None:
            rows.append((Button("button.keep_document", self.step_data("keep")),))
        elif step.kind == "document" and self.model.is_optional(step.id):
            rows.append((Button("button.skip", self.step_data("skip")),))
        rows.append(
            (
                Button("button.back", self.step_data("back")),
                Button("button.summary", "nav:summary"),
            )
        )
        return tuple(rows)

    def summary_buttons(self) -> tuple[tuple[Button, ...], ...]:
        """Submit (or continue) and edit, from the summary."""
        first = (
            Button("button.submit", "nav:submit")
            if self.model.is_complete()
            else Button("button.continue", "nav:continue")
        )
        cancel = "button.withdraw" if self.resubmitting() else "button.cancel"
        return (
            (first,),
            (Button("button.edit", "nav:edit"), Button(cancel, "nav:cancel")),
        )

    def edit_buttons(self) -> tuple[tuple[Button, ...], ...]:
        """One button per item the applicant can change."""
        rows = [] if self.resubmitting() else [(Button("step.category", "edit:category"),)]
        rows += [
            (Button(f"step.{s.id}", f"edit:{s.id}"),)
            for s in self.model.applicable_steps()
            if self.model.editable(s.id)
        ]
        rows.append((Button("button.back", "nav:summary"),))
        return tuple(rows)

    def summary_context(self) -> dict[str, Any]:
        """Everything given so far, item by item, for the summary template."""
        items = []
        for step in self.model.applicable_steps():
            items.append(
                {
                    "step": step.id,
                    "kind": step.kind,
                    "value": self.app.answers.get(step.id),
                    "pending": self.model.pending(step.id),
                    "skipped": step.id in self.app.skipped,
                    "documents": [s for s in step.slots if s in self.app.documents],
                }
            )
        return {
            "category": self.app.category,
            "items": items,
            "complete": self.model.is_complete(),
            "resubmitting": self.resubmitting(),
            "number": self.app.number,
        }

    def _number(self) -> str | None:
        return self.applicant.application.number if self.applicant.application else None


def _asks_question(reply: Reply) -> bool:
    """True when the reply carries buttons of the application flow (it asks a question)."""
    return any(button.data.startswith(FLOW_SCOPES) for row in reply.buttons for button in row)


def _first_question(entry: FaqEntry, language: str) -> str:
    questions = entry.questions.get(language) or entry.questions.get(DEFAULT_LANGUAGE) or ()
    return questions[0] if questions else entry.id


def _date_text(value: datetime | None) -> str | None:
    return local_date(value).isoformat() if value is not None else None
