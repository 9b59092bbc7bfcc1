"""The conversation service: one event in, handled in one transaction exactly once per
delivery, replies out. It builds the parts' shared `Dependencies` and sends each event to
where it belongs: the support relay, the review desk, or (a private chat) the router."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from cardbot.core.applicant.outcome import announce
from cardbot.core.applicant.prefill import readings_wanted
from cardbot.core.dependencies import Dependencies
from cardbot.core.events import DocumentsRead, GroupReply, Incoming, UserRef
from cardbot.core.faq_service import FaqService
from cardbot.core.flow import FlowMachine, FlowModel
from cardbot.core.languages import DEFAULT_LANGUAGE, language_for
from cardbot.core.model import Applicant
from cardbot.core.ports import (
    Clock,
    ConcurrentUpdateError,
    DocumentStore,
    ReportMaker,
    UnitOfWork,
    post,
)
from cardbot.core.privacy import RETENTION_DAYS, Retention
from cardbot.core.replies import Reply
from cardbot.core.review.action import Announcement
from cardbot.core.review.desk import ReviewDesk
from cardbot.core.review.team import ReviewTeam
from cardbot.core.router import HANDOFF, route
from cardbot.core.spec import DialogSpec
from cardbot.core.support_relay import is_ticket_reply, relay_answer
from cardbot.core.turn import Turn
from cardbot.core.workdays import WeekdayCalendar, WorkingCalendar

MAX_ATTEMPTS = 3
# Telegram gives up on an unconfirmed update after a day; a repeat after a week cannot come.
DELIVERY_MEMORY = timedelta(days=7)


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
        reports: ReportMaker | None = None,
    ) -> None:
        calendar = calendar or WeekdayCalendar()
        team = ReviewTeam(
            spec, clock, calendar, admin_ids, review_chat_id, review_language, back_office
        )
        self.review = ReviewDesk(team, unit_of_work, self.delete_quietly, self._announce)
        self.deps = Dependencies(
            spec=spec,
            flow=FlowMachine(spec),
            unit_of_work=unit_of_work,
            documents=documents,
            clock=clock,
            calendar=calendar,
            review=self.review,
            faq=faq,
            admin_ids=admin_ids,
            support_chat_id=support_chat_id,
            team_language=review_language,
            retention_days=retention_days,
            reports=reports,
        )
        self.spec = spec
        self.flow = self.deps.flow
        self.unit_of_work = unit_of_work
        self.documents = documents
        self.clock = clock
        self.faq = faq
        self.privacy = Retention(self.deps)

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

    def readings_wanted(self, user_id: int) -> dict[str, tuple[str, str]]:
        """The applicant's stored document photos worth reading now, slot → (storage key,
        SHA-256): those that can fill in an answer still owed (only when documents are read)."""
        if not self.spec.fills:
            return {}
        with self.unit_of_work() as uow:
            applicant = uow.load_applicant(user_id)
        return readings_wanted(FlowModel(self.spec, applicant)) if applicant else {}

    def new_turn(self, applicant: Applicant, uow: UnitOfWork) -> Turn:
        """A turn for one person's event, handing back to the applicant's flow."""
        return Turn(self.deps, applicant, uow, HANDOFF)

    def _announce(self, uow: UnitOfWork, applicant: Applicant, outcome: str) -> Announcement:
        """Tell an applicant about a reviewer's step, keeping what their own last message
        left pending (someone else, a reviewer, is changing their application)."""
        pending = (applicant.pending_action, applicant.pending_text)
        turn = self.new_turn(applicant, uow)
        applicant.pending_action, applicant.pending_text = pending
        announce(turn, outcome)
        return Announcement(turn.outgoing(), turn.obsolete_keys)

    def _handle_once(self, incoming: Incoming) -> list[Reply]:
        chat_id = incoming.user.chat_id
        event = incoming.event
        if isinstance(event, GroupReply) and is_ticket_reply(self.deps, chat_id, event):
            return relay_answer(self.deps, incoming.key, incoming.user, event, self.new_turn)
        if self.review.chat_id is not None and chat_id == self.review.chat_id:
            return self.review.handle(incoming)
        if chat_id < 0 or isinstance(event, GroupReply):
            return []
        turn: Turn | None = None
        try:
            with self.unit_of_work() as uow:
                if not uow.claim_update(incoming.key):
                    return uow.messages.pending_for(incoming.key)
                applicant = uow.load_applicant(incoming.user.user_id)
                if applicant is None and isinstance(event, DocumentsRead):
                    return []  # read for someone who erased everything meanwhile: forget it
                applicant = applicant or _new_applicant(incoming.user)
                applicant.chat_id = incoming.user.chat_id
                turn = self.new_turn(applicant, uow)
                route(turn, event)
                if turn.forget:
                    uow.delete_applicant(applicant.user_id)
                else:
                    uow.save_applicant(applicant)
                replies = post(uow, turn.outgoing(), incoming.key)
                if turn.trouble:
                    uow.add_tally(turn.today(), turn.trouble)
                uow.commit()
        except BaseException:
            if turn is not None:
                self.delete_quietly(turn.stored_keys)
            raise
        self.delete_quietly(turn.obsolete_keys)
        return replies

    def delete_quietly(self, keys: list[str]) -> None:
        """Remove documents no longer needed; one already gone is not an error."""
        self.deps.delete_quietly(keys)


def _new_applicant(user: UserRef) -> Applicant:
    return Applicant(
        user_id=user.user_id, chat_id=user.chat_id, language=language_for(user.language_code)
    )
