"""What was read from the document photos and waits for the applicant's confirmation: which
proposed answers go with the current question, and whether confirming them completes the
application. Pure questions about the turn; asking and confirming use them.

`Application.proposed` maps a step to the text read for it, or to "" once nothing usable was
read for it or the applicant chose to type it: that photo is not read for it again."""

from __future__ import annotations

from cardbot.core.flow import FlowModel
from cardbot.core.turn import Turn
from cardbot.core.validation import VALIDATORS

# A proposal the applicant turned down, or a reading that found nothing usable.
DECLINED = ""


def open_for_proposal(model: FlowModel, step_id: str) -> bool:
    """True when the step is asked of the applicant, still owed, and theirs to change."""
    return model.applies(step_id) and model.pending(step_id) and model.editable(step_id)


def shown_proposal(turn: Turn) -> list[str]:
    """The proposed answers to show with the current question, in the flow's order: none
    unless the question is one of them."""
    app = turn.app
    if not app.proposed.get(turn.state) or not open_for_proposal(turn.model, turn.state):
        return []
    return [
        step.id
        for step in turn.model.applicable_steps()
        if app.proposed.get(step.id) and open_for_proposal(turn.model, step.id)
    ]


def completes(turn: Turn, steps: list[str]) -> bool:
    """True when confirming these answers leaves nothing owed (and this is not a
    resubmission, which the applicant sends from the summary)."""
    if turn.resubmitting():
        return False
    return not any(
        turn.model.pending(step.id)
        for step in turn.model.applicable_steps()
        if step.id not in steps
    )


def checked(turn: Turn, step_id: str, value: str | None) -> str | None:
    """The value as the step would store it when typed, or None when it would be refused."""
    validator = turn.spec.steps[step_id].validator
    if not value or validator is None:
        return None
    verdict = VALIDATORS[validator](value, turn.app.answers, turn.today())
    return verdict.value if verdict.ok else None


def sources(turn: Turn, steps: list[str]) -> list[str]:
    """The document slots the proposed answers were read from."""
    return [
        slot
        for slot, filled in turn.spec.fills.items()
        if slot in turn.app.documents and any(s in filled for s in steps)
    ]
