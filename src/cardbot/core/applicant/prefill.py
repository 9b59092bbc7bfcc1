"""Answers read from the document photos: when the flow asks for the documents first
(dialogs/flow.yaml's `reading`), what their photos say is proposed for the applicant to
confirm with one tap, or to type instead. Reading itself runs elsewhere, after the upload;
its result comes back as a `DocumentsRead` event. Nothing read is used unconfirmed."""

from __future__ import annotations

from cardbot.core.applicant.answers import set_answer
from cardbot.core.applicant.proposals import (
    CHECKED,
    DECLINED,
    checked,
    completes,
    confirmation_token,
    live_slots,
    open_for_proposal,
    shown_proposal,
)
from cardbot.core.applicant.submission import on_submit
from cardbot.core.asking import step_buttons
from cardbot.core.events import DocumentRead, DocumentsRead
from cardbot.core.flow import FlowModel
from cardbot.core.model import Status
from cardbot.core.turn import Turn

# Applications whose answers can still be filled in.
OPEN = (Status.DRAFT, Status.RESUBMISSION_REQUESTED)


def readings_wanted(model: FlowModel) -> dict[str, tuple[str, str]]:
    """The stored document photos worth reading now, as slot → (storage key, SHA-256): those
    of the steps asked that can fill in an answer still owed and not proposed yet."""
    app = model.application
    if app is None or app.status not in OPEN:
        return {}
    wanted: dict[str, tuple[str, str]] = {}
    for slot in live_slots(model):
        document = app.documents.get(slot)
        if document is None or any(slot in model.spec.steps[s].slots for s in app.redo):
            continue  # not sent yet, or to be sent again
        steps = model.spec.fills[slot]
        if any(open_for_proposal(model, s) and s not in app.proposed for s in steps) or (
            not steps and app.proposed.get(CHECKED + slot) != document.sha256
        ):
            wanted[slot] = (document.storage_key, document.sha256)
    return wanted


def on_documents_read(turn: Turn, event: DocumentsRead) -> None:
    """Keep what was read as proposals (each checked like a typed answer); propose them at
    once if the applicant is being asked one of them, or say nothing could be read."""
    # Not the applicant's doing: what their last message left pending stays pending.
    turn.applicant.pending_action, turn.applicant.pending_text = (
        turn.pending_action,
        turn.pending_text,
    )
    app = turn.applicant.application
    if app is None or app.status not in OPEN or not turn.in_flow():
        return
    live = live_slots(turn.model)
    proposed: list[str] = []
    unread: dict[str, DocumentRead] = {}
    for document in event.documents:
        stored = app.documents.get(document.slot)
        if document.slot not in live or stored is None or stored.sha256 != document.sha256:
            continue  # replaced, removed or no longer asked for while it was being read
        if not turn.spec.fills[document.slot]:
            app.proposed[CHECKED + document.slot] = document.sha256
            if document.blurry or document.unreadable:
                unread[document.slot] = document
        for step_id in turn.spec.fills[document.slot]:
            if not open_for_proposal(turn.model, step_id) or step_id in app.proposed:
                continue
            value = checked(turn, step_id, document.values.get(step_id))
            app.proposed[step_id] = DECLINED if value is None else value
            if value is None:
                unread[document.slot] = document
            else:
                proposed.append(step_id)
    for document in unread.values():
        step = _step_of(turn, document.slot)
        if document.blurry or document.unreadable:  # too poor to read: counted for the report
            code = "image_blurry" if document.blurry else "unreadable_text"
            turn.trouble[("problem", code, step)] += 1
        if not turn.spec.fills[document.slot]:  # only checked: say so at once, wherever they are
            turn.say(
                "photo_unreadable",
                step_buttons(turn),
                slot=document.slot,
                blurry=document.blurry,
                document_step=step,
            )
    state = turn.state
    asked_now = [d for d in unread.values() if state in turn.spec.fills[d.slot]]
    if state in proposed:
        turn.prompt()
    elif asked_now:
        _say_unread(turn, asked_now[0])


def on_confirm(turn: Turn, token: str) -> bool:
    """Take the proposed answers shown with the current question (checked once more), then
    ask the next question, or submit when they completed the application. Only the button
    of the proposal shown now acts (its token names exactly what it showed)."""
    steps = shown_proposal(turn)
    if not steps:
        return False
    submits = completes(turn, steps)
    if token != confirmation_token(turn, steps, submits):
        return False
    for step_id in steps:
        value = checked(turn, step_id, turn.app.proposed.pop(step_id, None))
        if value is None:
            turn.app.proposed[step_id] = DECLINED
        else:
            set_answer(turn, step_id, value)
    turn.fire("advance")
    if submits and turn.model.is_complete():
        on_submit(turn)  # the application was complete: advancing led to the summary
    else:
        turn.prompt()
    return True


def on_manual(turn: Turn, token: str) -> bool:
    """Turn down the proposed answers shown with the current question (that photo is not
    proposed from again) and ask for it to be typed."""
    steps = shown_proposal(turn)
    if not steps or token != confirmation_token(turn, steps, completes(turn, steps)):
        return False
    for step_id in steps:
        turn.app.proposed[step_id] = DECLINED
    turn.prompt()
    return True


def _say_unread(turn: Turn, document: DocumentRead) -> None:
    """Nothing usable was read for the question asked: say so, and how to send the photo
    again (back, when the question just before is its document's)."""
    steps = [step.id for step in turn.model.applicable_steps()]
    index = steps.index(turn.state)
    turn.say(
        "prefill_unread",
        step_buttons(turn),
        slot=document.slot,
        unreadable=document.unreadable,
        blurry=document.blurry,
        back_to_photo=index > 0 and steps[index - 1] == _step_of(turn, document.slot),
    )


def _step_of(turn: Turn, slot: str) -> str:
    """The document step a slot belongs to."""
    return next(step.id for step in turn.spec.steps.values() if slot in step.slots)
