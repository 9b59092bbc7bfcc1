"""The applicant's files: each checked at once and stored in the next document slot, an
album taken as one, a finished document step acknowledged with the next question."""

from __future__ import annotations

from dataclasses import replace

from cardbot.core import flow as states
from cardbot.core.asking import current_slot, prompt, refuse, step_buttons
from cardbot.core.events import IncomingFile
from cardbot.core.files import check_file
from cardbot.core.model import StoredDocument
from cardbot.core.spec import Step
from cardbot.core.turn import Turn


def on_file(turn: Turn, incoming: IncomingFile) -> None:
    """A photo or file: checked at once and stored in the next document slot."""
    applicant = turn.applicant
    step = turn.spec.steps.get(turn.state)
    if (
        incoming.group_id is not None
        and incoming.group_id == applicant.album_group
        and applicant.album_step != turn.state
    ):
        refuse(turn, "problems/album_extra", step=applicant.album_step)
        return
    if step is None or step.kind != "document":
        if turn.state in (states.SUBMITTED, states.IDLE):
            prompt(turn)
        else:
            refuse(turn, "problems/unexpected_file")
        return
    continuing_album = incoming.group_id is not None and (
        incoming.group_id == applicant.album_group
    )
    if incoming.group_id is not None:
        applicant.album_group = incoming.group_id
        applicant.album_step = step.id
    slot = current_slot(turn, step)
    verdict = check_file(incoming.path, incoming.declared_size, turn.spec.documents)
    if not verdict.ok:
        refuse(turn, f"problems/{verdict.problem}", slot=slot)
        return
    assert incoming.path is not None and verdict.sha256 and verdict.mime_type
    app = turn.app
    asked = turn.model.asked_slots()
    in_use = {
        doc.sha256: kind for kind, doc in app.documents.items() if kind != slot and kind in asked
    }
    if verdict.sha256 in in_use:
        refuse(turn, "problems/duplicate_document", slot=slot)
        return
    key = turn.service.documents.put(incoming.path)
    turn.stored_keys.append(key)
    previous = app.documents.get(slot)
    if previous is not None:
        turn.obsolete_keys.append(previous.storage_key)
    app.documents[slot] = StoredDocument(
        kind=slot,
        storage_key=key,
        sha256=verdict.sha256,
        mime_type=verdict.mime_type,
        size=verdict.size,
        received_at=turn.service.clock.now(),
        file_unique_id=incoming.unique_id,
        phash=verdict.phash,
    )
    for step_id in turn.spec.fills.get(slot, ()):  # a new photo: read again, propose afresh
        app.proposed.pop(step_id, None)
    app.skipped.discard(step.id)
    applicant.slot_index += 1
    if applicant.slot_index >= len(step.slots):
        app.redo.discard(step.id)
    if applicant.slot_index < len(step.slots):
        # The first photo of an album gets no answer: the rest of it is on its way.
        if incoming.group_id is None or continuing_album:
            say_received(turn, step, [slot])
        return
    turn.fire("advance")
    prompt(turn)
    acknowledge(turn, list(step.slots))


def say_received(turn: Turn, step: Step, slots: list[str], *, kept: bool = False) -> None:
    """Confirm the items just received (or kept) and ask briefly for the next one."""
    next_slot = current_slot(turn, step)
    turn.say(
        "document_received",
        step_buttons(turn),
        acknowledged=slots,
        ack_kept=kept,
        then=None,
        next_slot=next_slot,
        slot_number=min(turn.applicant.slot_index, len(step.slots) - 1) + 1,
        slot_count=len(step.slots),
        next_received=next_slot in turn.app.documents,
    )


def acknowledge(turn: Turn, slots: list[str]) -> None:
    """Confirm a completed document step at the top of the next question (one message,
    not two: each counts against Telegram's per-chat pace)."""
    question = turn.replies[-1]
    turn.replies[-1] = replace(
        question,
        template="document_received",
        context={
            **question.context,
            "acknowledged": slots,
            "ack_kept": False,
            "then": question.template,
            "reading": being_read(turn, slots),
        },
    )


def being_read(turn: Turn, slots: list[str]) -> bool:
    """True when these documents are read for the question now asked (what is read will be
    proposed in a moment)."""
    state = turn.state
    return state not in turn.app.proposed and any(
        state in turn.spec.fills.get(slot, ()) for slot in slots
    )
