"""Moving about the application: start or resume, back, summary, edit, keep, skip, the
language; and the navigation buttons, which act only where they were shown."""

from __future__ import annotations

from cardbot.core import flow as states
from cardbot.core.applicant.answers import on_accept
from cardbot.core.applicant.outcome import on_reapply
from cardbot.core.applicant.prefill import on_confirm, on_manual
from cardbot.core.applicant.submission import cancel_application, on_cancel, on_status, on_submit
from cardbot.core.applicant.uploads import say_received
from cardbot.core.asking import APPLY, Buttons, kept_slot, prompt
from cardbot.core.languages import LANGUAGES
from cardbot.core.replies import Button
from cardbot.core.turn import Turn

# Navigation that acts on the step it was shown with: its data names that step, and it is
# refused anywhere else (an old "back" must not move the applicant back from a later step).
STEP_ACTIONS = frozenset({"back", "keep", "skip", "accept", "prefill", "manual"})


def on_start(turn: Turn) -> None:
    """Begin, resume, or show where the application stands."""
    if turn.state == states.IDLE:
        if turn.applicant.application is not None and turn.applicant.application.number:
            turn.applicant.application = None  # decided or withdrawn: kept, not reused
        turn.fire("start_over")
        prompt(turn)
    elif turn.state == states.SUBMITTED:
        on_status(turn)
    elif turn.state == states.CONSENT:
        turn.say("welcome")
        prompt(turn)
    else:
        turn.say("welcome_back")
        prompt(turn)


def on_summary(turn: Turn) -> None:
    """Show everything given so far."""
    if turn.state in turn.spec.steps:
        turn.fire("show_summary")
    prompt(turn)


def on_back(turn: Turn) -> None:
    """Go back one question."""
    if not turn.fire("back"):
        turn.say("cannot_go_back")
    prompt(turn)


def on_lang(turn: Turn) -> None:
    """Offer the languages."""
    turn.say(
        "choose_language",
        (tuple(Button(f"language.{code}", f"lang:{code}") for code in LANGUAGES),),
    )


def on_language(turn: Turn, language: str) -> None:
    """Speak the chosen language from now on (one of LANGUAGES)."""
    turn.applicant.language = language
    turn.say("language_set")
    if turn.state == states.NEW and not turn.roles():
        turn.fire("ask_consent")
    prompt(turn)


def on_nav(turn: Turn, value: str) -> bool:
    """Navigation buttons: back, summary, continue, skip, keep, submit, cancel, start, and
    confirming or refusing what was read from a document.

    Back, keep, skip, accept, prefill and manual act on the step they were shown with, and
    only there.
    """
    value, _, shown_at = value.partition(":")
    shown_at, _, token = shown_at.partition(":")  # what a proposal's button showed
    state = turn.state
    if value in STEP_ACTIONS and shown_at != state:
        return False
    in_step = state in turn.spec.steps
    if value == "back" and (in_step or state == states.SUMMARY):
        on_back(turn)
    elif value == "summary" and (in_step or state == states.SUMMARY):
        on_summary(turn)
    elif value == "continue" and state == states.SUMMARY:
        turn.fire("advance")
        prompt(turn)
    elif value == "skip" and in_step and turn.model.is_optional(state):
        turn.app.skipped.add(state)
        turn.fire("advance")
        prompt(turn)
    elif value == "keep" and in_step:
        return on_keep(turn)
    elif value == APPLY and state == states.NEW:
        turn.fire("ask_consent")
        turn.say("welcome")
        prompt(turn)
    elif value == "edit" and state == states.SUMMARY:
        turn.say("edit_choose", edit_buttons(turn))
    elif value == "submit" and state == states.SUMMARY:
        on_submit(turn)
    elif value == "cancel":
        on_cancel(turn)
    elif value == "cancel_yes" and turn.in_flow() and turn.pending_action == "cancel":
        cancel_application(turn)
    elif value == "cancel_no" and turn.in_flow():
        prompt(turn)
    elif value == "start":
        on_start(turn)
    elif value == "accept":
        return on_accept(turn)
    elif value == "prefill":
        return on_confirm(turn, token)
    elif value == "manual":
        return on_manual(turn, token)
    elif value == "reapply":
        return on_reapply(turn)
    else:
        return False
    return True


def on_keep(turn: Turn) -> bool:
    """Keep what the step already has: the whole answer (then the next question), or,
    part way through a document step, the file already received for the item asked now
    (then the next item)."""
    step = turn.spec.steps[turn.state]
    if not turn.model.pending(step.id):
        turn.fire("advance")
        prompt(turn)
        return True
    slot = kept_slot(turn, step)
    if slot is None:
        return False
    missing = [i for i, s in enumerate(step.slots) if s not in turn.app.documents]
    later = [i for i in missing if i > turn.applicant.slot_index]
    turn.applicant.slot_index = (later or missing)[0]
    say_received(turn, step, [slot], kept=True)
    return True


def on_edit(turn: Turn, target: str) -> bool:
    """Jump from the summary to one item to change it."""
    if target == states.CATEGORY and turn.resubmitting():
        return False
    if target == states.CATEGORY or (target in turn.spec.steps and turn.model.applies(target)):
        turn.fire(f"edit_{target}")
        prompt(turn)
        return True
    return False


def edit_buttons(turn: Turn) -> Buttons:
    """One button per item the applicant can change."""
    rows = [] if turn.resubmitting() else [(Button("step.category", "edit:category"),)]
    rows += [
        (Button(f"step.{s.id}", f"edit:{s.id}"),)
        for s in turn.model.applicable_steps()
        if turn.model.editable(s.id)
    ]
    rows.append((Button("button.back", "nav:summary"),))
    return tuple(rows)
