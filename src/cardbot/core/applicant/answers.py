"""The applicant's answers: consent, the category, a choice, a typed answer; each checked
and stored, then the next question."""

from __future__ import annotations

from cardbot.core.applicant.proposals import forget_other_documents
from cardbot.core.asking import prompt
from cardbot.core.faq_service import looks_like_question
from cardbot.core.model import Application
from cardbot.core.replies import Button
from cardbot.core.spec import Step
from cardbot.core.turn import ACCEPT, Turn
from cardbot.core.validation import VALIDATORS


def on_consent(turn: Turn, value: str) -> bool:
    """Record consent, or forget the applicant when they decline."""
    if value == "yes":
        turn.applicant.consent_at = turn.service.clock.now()
        turn.fire("agree")
        prompt(turn)
        return True
    if value == "no":
        turn.forget = True
        turn.say("consent_declined", ((Button("button.start", "nav:start"),),))
        return True
    return False


def on_category(turn: Turn, category: str) -> bool:
    """Choose or change the kind of applicant."""
    if category not in turn.spec.categories:
        return False
    if turn.applicant.application is None:
        turn.applicant.application = Application(
            category=category, created_at=turn.service.clock.now()
        )
    else:
        turn.app.category = category
        turn.app.skipped &= turn.spec.categories[category].optional
    for step_id, value in turn.spec.assumed.items():  # the document step offers the others
        if turn.model.applies(step_id) and step_id not in turn.app.answers:
            turn.app.answers[step_id] = value
    forget_other_documents(turn)
    turn.fire("advance")
    prompt(turn)
    return True


def on_pick(turn: Turn, value: str) -> bool:
    """A choice among a step's buttons, valid only while that step is asked, or while the
    document step it decides is asked (when the choice was assumed at the start)."""
    step_id, _, choice = value.partition(":")
    step = turn.spec.steps.get(step_id)
    asked = turn.spec.steps.get(turn.state)
    switching = (
        asked is not None
        and step_id in asked.when
        and step_id in turn.spec.assumed
        and turn.model.editable(step_id)
    )
    if step is None or (turn.state != step_id and not switching) or choice not in step.choices:
        return False
    set_answer(turn, step_id, choice)
    forget_other_documents(turn)
    turn.fire("advance")
    prompt(turn)
    return True


def on_accept(turn: Turn) -> bool:
    """Take the text kept from the last message as the current step's answer."""
    step = turn.spec.steps.get(turn.state)
    text = turn.pending_text
    if ACCEPT not in (turn.pending_action or "") or not text or step is None:
        return False
    return step.kind == "text" and store_text_answer(turn, step, text)


def store_text_answer(turn: Turn, step: Step, text: str) -> bool:
    """Check the text as the step's answer once more and store it; False if it fails."""
    assert step.validator is not None
    verdict = VALIDATORS[step.validator](text, turn.app.answers, turn.today())
    if not verdict.ok or verdict.value is None:
        return False
    set_answer(turn, step.id, verdict.value)
    turn.fire("advance")
    prompt(turn)
    return True


def valid_step_answer(turn: Turn, text: str) -> bool:
    """True when the text, not phrased as a question, is a valid answer to a text step."""
    step = turn.spec.steps.get(turn.state)
    if step is None or step.kind != "text" or step.validator is None:
        return False
    if looks_like_question(text):
        return False
    return VALIDATORS[step.validator](text, turn.app.answers, turn.today()).ok


def set_answer(turn: Turn, step_id: str, value: str) -> None:
    """Store an answer, then drop later answers it made invalid (e.g. a new ID type)."""
    answers = turn.app.answers
    answers[step_id] = value
    turn.app.redo.discard(step_id)
    today = turn.today()
    for other in turn.spec.steps.values():
        if other.id == step_id or other.id not in answers or not other.validator:
            continue
        if not VALIDATORS[other.validator](answers[other.id], answers, today).ok:
            del answers[other.id]
