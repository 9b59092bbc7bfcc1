"""Submitting the application (screened once more as a whole), where it stands (/status),
and cancelling it (withdrawing it, once sent)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict
from datetime import datetime
from typing import Any

from cardbot.core import flow as states
from cardbot.core.asking import application_number, prompt, summary_buttons
from cardbot.core.clock import local_date, local_time
from cardbot.core.model import DECIDED_STATUSES, Status
from cardbot.core.replies import Button
from cardbot.core.review.submissions import on_submitted, on_withdrawn
from cardbot.core.screening import Package, PackageDocument, consistency_flags, screen_package
from cardbot.core.turn import Turn
from cardbot.core.workdays import REVIEW_MAX_DAYS, REVIEW_MIN_DAYS


def on_submit(turn: Turn) -> None:
    """Screen the whole package once more and submit it, or list every problem at once."""
    app, uow = turn.app, turn.uow
    now = turn.service.clock.now()
    applicable = {step.id for step in turn.model.applicable_steps()}
    needed = turn.model.asked_slots()
    answers = {k: v for k, v in app.answers.items() if k in applicable}
    documents = {k: d for k, d in app.documents.items() if k in needed}
    store = turn.service.documents
    with ExitStack() as stack:
        package = Package(
            category=app.category,
            fields=answers,
            documents=[
                PackageDocument(
                    kind, stack.enter_context(store.local_path(doc.storage_key)), doc.sha256
                )
                for kind, doc in documents.items()
            ],
        )
        problems = screen_package(turn.spec, package, local_date(now))
    for problem in problems:
        turn.trouble[("problem", problem.code, problem.step(turn.spec))] += 1
    if problems or not turn.fire("submit"):
        turn.say("incomplete", summary_buttons(turn), problems=[asdict(p) for p in problems])
        return
    for kind in set(app.documents) - needed:
        turn.obsolete_keys.append(app.documents.pop(kind).storage_key)
    app.answers = answers
    app.proposed.clear()  # what was read and not confirmed is not kept with the package
    app.skipped &= applicable & turn.spec.categories[app.category].optional
    app.flags = consistency_flags(
        uow,
        package,
        {kind: doc.sha256 for kind, doc in documents.items()},
        photo_hashes={kind: doc.phash for kind, doc in documents.items() if doc.phash},
        exclude_number=app.number,
    )
    resubmission = app.number is not None
    if app.number is None:
        app.number = uow.next_application_number(local_time(now).year)
    app.status = Status.SUBMITTED
    app.submitted_at = now
    team = turn.service.review.team
    step_ids = [step.id for step in turn.model.applicable_steps()]
    turn.replies += on_submitted(team, uow, app, turn.applicant.user_id, step_ids, turn.today())
    window = team.window(app)
    turn.say(
        "resubmitted" if resubmission else "submitted",
        number=app.number,
        min_days=REVIEW_MIN_DAYS,
        max_days=REVIEW_MAX_DAYS,
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        estimate=window.estimate,
    )


def on_status(turn: Turn) -> None:
    """Show where the application stands."""
    application = turn.applicant.application
    team = turn.service.review.team
    context: dict[str, Any] = {"has_application": application is not None}
    if application is not None:
        model = turn.model
        done = sum(1 for s in model.applicable_steps() if not model.pending(s.id))
        context.update(
            status=application.status.value,
            number=application.number,
            category=application.category,
            submitted_at=_date_text(application.submitted_at),
            steps_done=done,
            steps_total=len(model.applicable_steps()),
            history=team.status_history(turn.uow, application),
            window=None,
            redo=sorted(application.redo, key=turn.spec.step_order.index),
        )
        if application.submitted_at and application.status not in DECIDED_STATUSES:
            window = team.window(application)
            context["window"] = {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "estimate": window.estimate,
            }
    buttons = () if turn.in_flow() else ((Button("button.start", "nav:start"),),)
    if turn.state == states.SUBMITTED:
        buttons = ()
    turn.say("status", buttons, **context)
    if turn.in_flow():
        prompt(turn)


def on_cancel(turn: Turn) -> None:
    """Ask to confirm cancelling the application in progress (withdrawing, once sent)."""
    if turn.state == states.SUBMITTED:
        # Sent already (a cancel tapped together with submit arrives here, too).
        turn.say("cancel_submitted", number=application_number(turn))
        return
    if not turn.in_flow():
        turn.say("nothing_to_cancel")
        prompt(turn)
        return
    withdraw = turn.resubmitting()
    turn.say(
        "withdraw_confirm" if withdraw else "cancel_confirm",
        (
            (
                Button(
                    "button.withdraw_yes" if withdraw else "button.cancel_yes",
                    "nav:cancel_yes",
                ),
                Button("button.cancel_no", "nav:cancel_no"),
            ),
        ),
    )
    turn.applicant.pending_action = "cancel"


def cancel_application(turn: Turn) -> None:
    """Throw the draft away, documents included; a submitted application is withdrawn."""
    if turn.resubmitting():
        team = turn.service.review.team
        turn.app.proposed.clear()  # nothing read is kept past the application's last step
        turn.replies += on_withdrawn(
            team, turn.uow, turn.app, turn.applicant.user_id, turn.today()
        )
        turn.fire("cancel")
        again = ((Button("button.start", "nav:start"),),)
        turn.say("withdrawn", again, number=turn.app.number)
        return
    if turn.applicant.application is not None:
        for doc in turn.applicant.application.documents.values():
            turn.obsolete_keys.append(doc.storage_key)
        turn.applicant.application = None
    turn.fire("cancel")
    turn.say("cancelled", ((Button("button.start", "nav:start"),),))


def _date_text(value: datetime | None) -> str | None:
    return local_date(value).isoformat() if value is not None else None
