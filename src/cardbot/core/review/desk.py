"""The review desk: reviewers' events from the review group, each in one transaction, routed
to the command, card tap or typed reply it is; and the desk's scheduled and staff-side work."""

from __future__ import annotations

from collections.abc import Callable

from cardbot.core.events import ButtonPress, Command, Event, GroupReply, Incoming
from cardbot.core.model import Flag
from cardbot.core.ports import UnitOfWork, post
from cardbot.core.replies import Reply
from cardbot.core.review.action import Announcer, GroupAction
from cardbot.core.review.claims import release_claims_of
from cardbot.core.review.commands import REVIEW_COMMANDS, on_command
from cardbot.core.review.notes import on_reply
from cardbot.core.review.readings import ReadingRequest, note_readings, waiting_to_be_read
from cardbot.core.review.reminders import send_reminders
from cardbot.core.review.taps import on_button
from cardbot.core.review.team import ReviewTeam
from cardbot.core.roles import REVIEWER


class ReviewDesk:
    """Reviewers' actions in the review group (`team.chat_id`; none without a group)."""

    def __init__(
        self,
        team: ReviewTeam,
        unit_of_work: Callable[[], UnitOfWork],
        discard: Callable[[list[str]], None],
        announce: Announcer,
    ) -> None:
        self.team = team
        self.unit_of_work = unit_of_work
        self.discard = discard
        self.announce = announce

    @property
    def chat_id(self) -> int | None:
        """The review group, if there is one."""
        return self.team.chat_id

    def handle(self, incoming: Incoming) -> list[Reply]:
        """One reviewer event from the review group, in one transaction, once per delivery."""
        with self.unit_of_work() as uow:
            if not uow.claim_update(incoming.key):
                return uow.messages.pending_for(incoming.key)
            action = GroupAction(self.team, uow, incoming.user, self.announce)
            route(action, incoming.event)
            replies = post(uow, action.replies, incoming.key)
            uow.commit()
        self.discard(action.obsolete_keys)
        return replies

    def reminders(self) -> list[Reply]:
        """Remind the group of applications near their deadline without a decision."""
        return send_reminders(self.team, self.unit_of_work)

    def waiting_to_be_read(self, limit: int) -> list[ReadingRequest]:
        """Applications whose documents wait to be read against their answers."""
        return waiting_to_be_read(self.unit_of_work, limit)

    def note_readings(self, request: ReadingRequest, flags: list[Flag]) -> list[Reply]:
        """Put what reading an application's documents found on its card."""
        return note_readings(self.team, self.unit_of_work, request, flags)

    def release_claims_of(self, uow: UnitOfWork, reviewer_id: int, actor: int) -> list[Reply]:
        """Release every open application of a reviewer whose role was revoked."""
        return release_claims_of(self.team, uow, reviewer_id, actor)


def route(action: GroupAction, event: Event) -> None:
    """Hand one group event to the part it belongs to."""
    match event:
        case Command(name=name, args=args) if name in REVIEW_COMMANDS:
            on_command(action, name, args)
        case Command(name="help" | "start"):
            action.say("review/help", is_reviewer=REVIEWER in action.roles())
        case ButtonPress(data=data) if data.startswith("rv:"):
            on_button(action, data)
        case ButtonPress():
            action.refuse_tap("stale", None, "foreign")
        case GroupReply(replied_to=replied_to, text=text):
            on_reply(action, replied_to, text)
        case _:
            pass
