"""A typed message in the applicant's chat: a call for a person, the current step's answer,
or a question for the FAQ — decided here, then handed to the part it belongs to."""

from __future__ import annotations

from cardbot.core import flow as states
from cardbot.core.applicant.answers import store_text_answer
from cardbot.core.asking import current_slot, prompt, refuse
from cardbot.core.faq_help import faq_is_sure, try_faq
from cardbot.core.faq_scope import asks_for_person
from cardbot.core.faq_service import looks_like_question
from cardbot.core.faq_terms import normalise
from cardbot.core.support_relay import hand_to_person
from cardbot.core.turn import Turn
from cardbot.core.validation import VALIDATORS

MAX_TEXT_LENGTH = 1000


def on_text(turn: Turn, text: str) -> None:
    """A typed answer, checked and stored or re-asked; or a question, answered."""
    if hand_to_person(turn, text):
        return
    step = turn.spec.steps.get(turn.state)
    # A call for a person nobody can take ("转人工" with no support group) is still no answer.
    question = looks_like_question(text) or asks_for_person(normalise(text))
    if step is None or step.kind != "text":
        # Where a file or a tap is awaited, a statement ("my ID card is here") is most
        # likely about that: the FAQ answers it only when it is sure.
        sure = step is not None and not question
        if try_faq(turn, text, offer_help=question, sure=sure):
            return
        if turn.state in (states.SUBMITTED, states.IDLE):
            prompt(turn)
        elif step is not None and step.kind == "document":
            refuse(turn, "problems/expected_file", slot=current_slot(turn, step))
        else:
            refuse(turn, "problems/use_buttons")
        return
    if len(text) > MAX_TEXT_LENGTH:
        refuse(turn, "problems/text_too_long", step=step.id)
        return
    assert step.validator is not None
    verdict = VALIDATORS[step.validator](text, turn.app.answers, turn.today())
    if turn.service.faq is not None and (question or (verdict.ok and faq_is_sure(turn, text))):
        # A question (also one without a question word that the FAQ is sure of, "审核进度"
        # as a name) is answered or handed on, never silently stored as the answer; when it
        # would also be a valid answer, one tap takes it as that.
        try_faq(turn, text, offer_help=True, could_be_answer=verdict.ok)
        return
    if not verdict.ok:
        if try_faq(turn, text, offer_help=False):
            return
        refuse(turn, f"problems/{verdict.problem}", step=step.id, **verdict.details)
        return
    store_text_answer(turn, step, text)
