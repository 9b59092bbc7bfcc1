"""The support relay: an applicant's question to the support group as a numbered ticket, the
staff member's answer (a reply in the group) back to the applicant, and the applicant's
follow-up messages to the same ticket."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from cardbot.core.applicant.answers import valid_step_answer
from cardbot.core.asking import prompt_after_answer
from cardbot.core.dependencies import Dependencies
from cardbot.core.events import GroupReply, UserRef
from cardbot.core.faq_help import faq_refuses_subject
from cardbot.core.faq_scope import asks_for_person
from cardbot.core.faq_terms import SMALL_TALK, normalise
from cardbot.core.model import Applicant
from cardbot.core.ports import UnitOfWork, post
from cardbot.core.replies import Reply
from cardbot.core.roles import STAFF, roles_of
from cardbot.core.turn import ASK_PERSON, FOLLOW_UP, Turn

log = logging.getLogger(__name__)

MAX_TICKET_TEXT = 1000
MAX_SUPPORT_QUESTIONS = 5
SUPPORT_WINDOW = timedelta(days=1)
MAX_FOLLOW_UPS = 3
MAX_RELAYED_ANSWER = 3500
TICKET_REFERENCE = re.compile(r"#Q([0-9]{1,18})")


def is_ticket_reply(deps: Dependencies, chat_id: int, event: GroupReply) -> bool:
    """True for a reply in the support group meant for the relay: one to a ticket, or any
    reply when the support group is not also the review group."""
    return chat_id == deps.support_chat_id and (
        TICKET_REFERENCE.search(event.replied_to) is not None or chat_id != deps.review.chat_id
    )


def relay_answer(
    deps: Dependencies,
    key: str,
    staff: UserRef,
    event: GroupReply,
    new_turn: Callable[[Applicant, UnitOfWork], Turn],
) -> list[Reply]:
    """Pass a staff member's answer in the support group on to the applicant who asked."""
    found = TICKET_REFERENCE.search(event.replied_to)
    group, language = staff.chat_id, deps.team_language
    with deps.unit_of_work() as uow:
        if found is None:
            return []
        if not uow.claim_update(key):
            return uow.messages.pending_for(key)
        number = int(found.group(1))
        replies: list[Reply]
        if STAFF not in roles_of(staff.user_id, uow.roles, deps.admin_ids):
            log.warning(
                "support reply to #Q%s refused: user %s is not staff", number, staff.user_id
            )
            replies = post(uow, [Reply("support/not_staff", group, language)], key)
            uow.commit()
            return replies
        ticket = uow.support.ticket(number)
        # A ticket is erased with its applicant's data (/delete): say so, not nothing.
        applicant = uow.load_applicant(ticket.user_id) if ticket is not None else None
        if ticket is None or applicant is None:
            gone = Reply("support/applicant_gone", group, language, {"ticket": number})
            replies = post(uow, [gone], key)
            uow.commit()
            return replies
        turn = new_turn(applicant, uow)
        turn.say("support_answer", answer=event.text[:MAX_RELAYED_ANSWER])
        prompt_after_answer(turn)
        await_follow_up(turn, ticket.id, 0)
        ticket.status = "answered"
        uow.support.update_ticket(ticket)
        uow.save_applicant(applicant)
        relayed = Reply("support/relayed", group, language, {"ticket": ticket.id})
        replies = post(uow, [*turn.outgoing(), relayed], key)
        uow.commit()
    return replies


def on_ask_person(turn: Turn, value: str) -> bool:
    """Hand the applicant's own last unanswered question to the support group ("ask"), or
    ask them to write what they want a person to answer ("person", under a rejection)."""
    if turn.service.support_chat_id is None or turn.applicant.consent_at is None:
        return False
    if value == "person":
        turn.say("support_ask")
        await_follow_up(turn, 0, 0)
        return True
    question = turn.pending_text
    if value != "ask" or ASK_PERSON not in (turn.pending_action or "") or not question:
        return False
    open_ticket(turn, question)
    return True


def hand_to_person(turn: Turn, text: str) -> bool:
    """When the text asks for a person ("转人工", "I want a human"), open a ticket at once,
    with the question they could not get answered if there was one; False when it does
    not ask for one, or no person can be reached (the FAQ then says how)."""
    if not asks_for_person(normalise(text)) or faq_refuses_subject(turn, text):
        return False
    if turn.service.support_chat_id is None or turn.applicant.consent_at is None:
        return False
    unanswered = turn.pending_text if ASK_PERSON in (turn.pending_action or "") else None
    question = f"{unanswered}\n{text}" if unanswered else text
    open_ticket(turn, question, more=True)
    return True


def open_ticket(turn: Turn, question: str, *, more: bool = False) -> None:
    """Pass a question to the support group as a new ticket (within the daily limit)."""
    group = turn.service.support_chat_id
    assert group is not None
    applicant = turn.applicant
    since = turn.service.clock.now() - SUPPORT_WINDOW
    if turn.uow.support.count_recent(applicant.user_id, since) >= MAX_SUPPORT_QUESTIONS:
        turn.say("support_busy", limit=MAX_SUPPORT_QUESTIONS)
        prompt_after_answer(turn)
        return
    language = applicant.language
    question = question[:MAX_TICKET_TEXT]
    ticket = turn.uow.support.open_ticket(applicant.user_id, applicant.chat_id, question, language)
    turn.replies.append(
        Reply(
            template="support/question",
            chat_id=group,
            language=turn.service.team_language,
            context={
                "ticket": ticket,
                "question": question,
                "language": language,
                **application_reference(turn),
            },
        )
    )
    turn.say("support_sent", more=more, added=False)
    prompt_after_answer(turn)
    if more:
        await_follow_up(turn, ticket, 0)


def application_reference(turn: Turn) -> dict[str, str | None]:
    """The applicant's application number and status for the support group (None
    before anything was submitted)."""
    app = turn.applicant.application
    if app is None or app.number is None:
        return {"number": None, "status": None}
    return {"number": app.number, "status": app.status.value}


def await_follow_up(turn: Turn, ticket: int, sent: int) -> None:
    """Send the applicant's next message to the ticket (0: a new one), not to the FAQ."""
    turn.applicant.pending_action = FOLLOW_UP
    turn.applicant.pending_text = f"{ticket}:{sent}"


def on_follow_up(turn: Turn, text: str) -> bool:
    """The applicant's message right after a staff answer (or after asking for a person)
    goes to the same ticket; a valid answer to the current step, a greeting or thanks
    does not. False when the message is not a follow-up."""
    if turn.pending_action != FOLLOW_UP or not turn.pending_text:
        return False
    number, _, count = turn.pending_text.partition(":")
    group = turn.service.support_chat_id
    if not number.isdigit() or not count.isdigit() or group is None:
        return False
    if SMALL_TALK.match(normalise(text)) or valid_step_answer(turn, text):
        return False
    if int(number) == 0:
        open_ticket(turn, text, more=True)
        return True
    ticket = turn.uow.support.ticket(int(number))
    if ticket is None or ticket.user_id != turn.applicant.user_id:
        return False
    ticket.status = "sent"
    turn.uow.support.update_ticket(ticket)
    turn.replies.append(
        Reply(
            template="support/followup",
            chat_id=group,
            language=turn.service.team_language,
            context={
                "ticket": ticket.id,
                "question": text[:MAX_TICKET_TEXT],
                "language": turn.applicant.language,
                **application_reference(turn),
            },
        )
    )
    turn.say("support_sent", more=False, added=True, ticket=ticket.id)
    prompt_after_answer(turn)
    if int(count) + 1 < MAX_FOLLOW_UPS:
        await_follow_up(turn, ticket.id, int(count) + 1)
    return True
