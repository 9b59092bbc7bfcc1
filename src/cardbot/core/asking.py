"""Asking the applicant's current question: the prompt for where they stand, with the buttons
that lead on; used by every part that has answered something and returns to the flow."""

from __future__ import annotations

from typing import Any

from cardbot.core import flow as states
from cardbot.core.applicant.proposals import (
    completes,
    confirmation_token,
    shown_proposal,
    sources,
)
from cardbot.core.replies import Button
from cardbot.core.spec import Step
from cardbot.core.turn import Turn

APPLY = "apply"

Buttons = tuple[tuple[Button, ...], ...]

PROBLEM_TEMPLATES = "problems/"  # the templates telling why an answer or a file was refused


def prompt(turn: Turn) -> None:
    """Ask the current question again (or say where things stand)."""
    if turn.state == states.NEW:  # nothing asked yet: the first question is the consent
        if turn.roles():
            role_help(turn)  # staff and reviewers: their own help, and a button to apply
            return
        turn.fire("ask_consent")
        turn.say("welcome")
    state = turn.state
    if state == states.CONSENT:
        turn.say(
            "consent",
            ((Button("button.agree", "consent:yes"), Button("button.decline", "consent:no")),),
            retention_days=turn.service.retention_days,
            prefill=bool(turn.spec.fills),
        )
    elif state == states.CATEGORY:
        turn.say(
            "choose_category",
            tuple((Button(f"category.{c}", f"cat:{c}"),) for c in turn.spec.categories),
        )
    elif state == states.SUMMARY:
        turn.say("summary", summary_buttons(turn), **summary_context(turn))
    elif state in turn.spec.steps:
        ask_step(turn, turn.spec.steps[state])
    elif state == states.SUBMITTED:
        turn.say("already_submitted", number=application_number(turn))
    elif state == states.IDLE:
        turn.say("idle", ((Button("button.start", "nav:start"),),))


def prompt_after_answer(turn: Turn) -> None:
    """Return to where the applicant was, unless there is nothing to return to."""
    if turn.state != states.SUBMITTED:
        prompt(turn)


def role_help(turn: Turn, asked: str | None = None) -> None:
    """What a staff member, reviewer or admin can do, and where; before they have begun
    an application, with a button to apply all the same."""
    can_apply = turn.state == states.NEW
    turn.say(
        "role_help",
        ((Button("button.apply", f"nav:{APPLY}"),),) if can_apply else (),
        can_apply=can_apply,
        roles=sorted(turn.roles()),
        review_group=turn.service.review.chat_id is not None,
        support_group=turn.service.support_chat_id is not None,
        asked=asked,
    )


def ask_step(turn: Turn, step: Step) -> None:
    """The prompt for one step, with the current answer when changing it (or, for answers
    read from a document, what was read, to be confirmed)."""
    app = turn.app
    proposed = shown_proposal(turn) if step.kind == "text" else []
    if proposed:
        ask_to_confirm(turn, proposed)
        return
    context: dict[str, Any] = {
        "step": step.id,
        "current": app.answers.get(step.id),
        "can_skip": turn.model.is_optional(step.id) and turn.model.pending(step.id),
        "id_type": app.answers.get("id_type"),
    }
    if step.kind == "document":
        context.update(
            slot=current_slot(turn, step),
            slot_number=min(turn.applicant.slot_index, len(step.slots) - 1) + 1,
            slot_count=len(step.slots),
            received=[s for s in step.slots if s in app.documents],
            kept=kept_slot(turn, step) is not None,
        )
    turn.say(f"steps/{step.id}", step_buttons(turn), **context)


def ask_to_confirm(turn: Turn, steps: list[str]) -> None:
    """Show what was read for these steps, to be confirmed with one tap (which submits the
    application when it completes it) or typed instead."""
    app = turn.app
    submits = completes(turn, steps)
    token = confirmation_token(turn, steps, submits)
    confirm = "button.prefill_submit" if submits else "button.prefill_yes"
    buttons = (
        (Button(confirm, f"{turn.step_data('prefill')}:{token}"),),
        (Button("button.prefill_manual", f"{turn.step_data('manual')}:{token}"),),
        *step_buttons(turn),
    )
    context: dict[str, Any] = {
        "proposed": [{"step": s, "value": app.proposed[s]} for s in steps],
        "sources": sources(turn, steps),
        "submits": submits,
    }
    if submits:  # what the tap sends: everything, as the summary would list it
        items = summary_context(turn)["items"]
        context["items"] = [
            item | {"value": app.proposed[item["step"]], "pending": False}
            if item["step"] in steps
            else item
            for item in items
        ]
        context["category"] = app.category
    turn.say("prefill_proposal", buttons, **context)


def refuse(turn: Turn, template: str, **context: Any) -> None:
    """Say why the input was not used, with the buttons that lead on; nothing changes (but
    a pre-screening problem is counted for the report, by code and step)."""
    if template.startswith(PROBLEM_TEMPLATES):
        step = context.get("step") or turn.state
        turn.trouble[("problem", template.removeprefix(PROBLEM_TEMPLATES), str(step))] += 1
    buttons = step_buttons(turn)
    turn.say(template, buttons, **context)
    if not buttons:
        prompt(turn)


def current_slot(turn: Turn, step: Step) -> str:
    """The document slot the next upload in this step fills."""
    return step.slots[min(turn.applicant.slot_index, len(step.slots) - 1)]


def kept_slot(turn: Turn, step: Step) -> str | None:
    """The document item asked for now, when a file for it is already kept and may be used
    as it is (not when a reviewer asked for the step to be redone)."""
    if step.kind != "document" or not turn.model.pending(step.id) or step.id in turn.app.redo:
        return None
    slot = current_slot(turn, step)
    return slot if slot in turn.app.documents else None


def step_buttons(turn: Turn) -> Buttons:
    """The buttons that go with the current step's prompt or its error messages."""
    step = turn.spec.steps.get(turn.state)
    if step is None:
        return summary_buttons(turn) if turn.state == states.SUMMARY else ()
    model = turn.model
    rows: list[tuple[Button, ...]] = []
    if step.kind == "choice":
        rows.append(
            tuple(Button(f"choice.{step.id}.{c}", f"pick:{step.id}:{c}") for c in step.choices)
        )
    if step.kind == "document":
        rows += switch_buttons(turn, step)
    if not model.pending(step.id):
        rows.append((Button("button.keep", turn.step_data("keep")),))
    elif kept_slot(turn, step) is not None:
        rows.append((Button("button.keep_document", turn.step_data("keep")),))
    elif step.kind == "document" and model.is_optional(step.id):
        rows.append((Button("button.skip", turn.step_data("skip")),))
    rows.append(
        (
            Button("button.back", turn.step_data("back")),
            Button("button.summary", "nav:summary"),
        )
    )
    return tuple(rows)


def switch_buttons(turn: Turn, step: Step) -> list[tuple[Button, ...]]:
    """For a document step decided by a choice answered at the start (an ID card, as most
    applicants have), one button per other choice ("use a passport instead")."""
    return [
        (Button(f"switch.{other}.{choice}", f"pick:{other}:{choice}"),)
        for other, values in step.when.items()
        if other in turn.spec.assumed and turn.model.editable(other)
        for choice in turn.spec.steps[other].choices
        if choice not in values
    ]


def summary_buttons(turn: Turn) -> Buttons:
    """Submit (or continue) and edit, from the summary."""
    first = (
        Button("button.submit", "nav:submit")
        if turn.model.is_complete()
        else Button("button.continue", "nav:continue")
    )
    cancel = "button.withdraw" if turn.resubmitting() else "button.cancel"
    return (
        (first,),
        (Button("button.edit", "nav:edit"), Button(cancel, "nav:cancel")),
    )


def summary_context(turn: Turn) -> dict[str, Any]:
    """Everything given so far, item by item, for the summary template."""
    app = turn.app
    items = []
    for step in turn.model.applicable_steps():
        items.append(
            {
                "step": step.id,
                "kind": step.kind,
                "value": app.answers.get(step.id),
                "pending": turn.model.pending(step.id),
                "skipped": step.id in app.skipped,
                "documents": [s for s in step.slots if s in app.documents],
            }
        )
    return {
        "category": app.category,
        "items": items,
        "complete": turn.model.is_complete(),
        "resubmitting": turn.resubmitting(),
        "number": app.number,
    }


def application_number(turn: Turn) -> str | None:
    """The current application's number, if it has one."""
    return turn.applicant.application.number if turn.applicant.application else None
