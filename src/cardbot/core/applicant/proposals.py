"""What was read from the document photos and waits for the applicant's confirmation: which
proposed answers go with the current question, whether confirming them completes the
application, and the token that ties a confirmation button to exactly what it showed. Pure
questions about the turn (and one clean-up); asking and confirming use them.

`Application.proposed` maps a step to the text read for it, or to "" once nothing usable was
read for it or the applicant chose to type it: that photo is not read for it again."""

from __future__ import annotations

import hashlib

from cardbot.core.flow import FlowModel
from cardbot.core.turn import Turn
from cardbot.core.validation import VALIDATORS

# A proposal the applicant turned down, or a reading that found nothing usable.
DECLINED = ""
# For a photo read only to check it can be read (it fills nothing in): "@<slot>" maps to the
# SHA-256 of the photo checked.
CHECKED = "@"


def open_for_proposal(model: FlowModel, step_id: str) -> bool:
    """True when the step is asked of the applicant, still owed, and theirs to change."""
    return model.applies(step_id) and model.pending(step_id) and model.editable(step_id)


def live_slots(model: FlowModel) -> list[str]:
    """The readable document slots of the steps asked of this applicant (not, say, the ID
    card's once they chose a passport)."""
    asked = model.asked_slots()
    return [slot for slot in model.spec.fills if slot in asked]


def usable(turn: Turn, step_id: str) -> bool:
    """True when a value read for the step waits, is still owed, and passes its check now."""
    value = turn.app.proposed.get(step_id)
    return (
        bool(value)
        and open_for_proposal(turn.model, step_id)
        and checked(turn, step_id, value) is not None
    )


def shown_proposal(turn: Turn) -> list[str]:
    """The proposed answers to show with the current question, in the flow's order: none
    unless the question is one of them (and none when documents are not read)."""
    if (
        turn.applicant.application is None
        or not turn.spec.fills
        or turn.state not in turn.spec.steps
        or not usable(turn, turn.state)
    ):
        return []
    return [step.id for step in turn.model.applicable_steps() if usable(turn, step.id)]


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


def confirmation_token(turn: Turn, steps: list[str], submits: bool) -> str:
    """A short digest of the values shown and whether the tap submits: a button carries it,
    so an older proposal's button cannot confirm (or submit) a newer one."""
    shown = "|".join(f"{step}={turn.app.proposed[step]}" for step in steps)
    return hashlib.sha256(f"{shown}|{submits}".encode()).hexdigest()[:8]


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
        for slot in live_slots(turn.model)
        if slot in turn.app.documents and any(s in turn.spec.fills[slot] for s in steps)
    ]


def forget_other_documents(turn: Turn) -> None:
    """Drop what was read for answers a photo no longer asked for fills in (the ID card's,
    once a passport was chosen): the photo asked for now is read for them instead."""
    app = turn.applicant.application
    if app is None:
        return
    live = live_slots(turn.model)
    for slot, steps in turn.spec.fills.items():
        if slot not in live:
            app.proposed.pop(CHECKED + slot, None)
            for step_id in steps:
                app.proposed.pop(step_id, None)
