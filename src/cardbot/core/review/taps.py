"""Taps on a review card's buttons, checked against the caller's role, who has claimed the
application, its status and the decision being prepared."""

from __future__ import annotations

from cardbot.core.model import DECIDED_STATUSES, Application, Status
from cardbot.core.replies import Reply
from cardbot.core.review.action import GroupAction
from cardbot.core.review.claims import unclaim
from cardbot.core.review.decisions import on_draft
from cardbot.core.review.team import CLAIMABLE
from cardbot.core.roles import ADMIN

DECISIONS = ("approve", "reject", "resubmit", "investigate")


def on_button(action: GroupAction, data: str) -> None:
    """A tap on a card button (`rv:APPLICATION_ID:OP[:ARG]`)."""
    parts = data.split(":")
    if not action.is_reviewer(data):
        action.toast("not_reviewer")
        return
    if len(parts) < 3 or not parts[1].isdigit():
        action.refuse_tap("stale", None, "malformed")
        return
    loaded = action.load(int(parts[1]))
    if loaded is None:
        action.refuse_tap("stale", None, parts[2])
        return
    app, applicant = loaded
    action.applicant = applicant
    op, arg = parts[2], ":".join(parts[3:])
    if op == "docs":
        action.documents(app, "asked")
        return
    if op == "reveal":  # the button of cards posted before the package went private
        reveal(action, app)
        return
    handled = release(action, app) if op == "release" else apply(action, app, op, arg)
    if not handled:
        return
    action.uow.save_applicant(applicant)


def apply(action: GroupAction, app: Application, op: str, arg: str) -> bool:
    """Carry out one operation; False (after saying why) when it does not apply now."""
    status, draft, user_id = app.status, app.review.draft, action.user.user_id
    if op == "note":
        if user_id not in app.review.note_waiting:
            app.review.note_waiting.append(user_id)
        action.ask_text(app, "note")
        return True
    if status in DECIDED_STATUSES or status == Status.RESUBMISSION_REQUESTED:
        action.refuse_tap("already_decided", app, op, status=status.value)
        return False
    if op == "claim":
        if app.review.reviewer_id is not None or status not in CLAIMABLE:
            action.refuse_tap("claimed_by_other", app, op, reviewer=app.review.reviewer_name)
            return False
        claim(action, app)
        action.toast("claimed", documents=action.sent_on_claim)
    elif op in DECISIONS and draft is None:
        if op == "investigate" and status == Status.INVESTIGATING:
            action.refuse_tap("stale", app, op)
            return False
        if not owned(action, app):
            return False
        app.review.draft = {"action": op, "by": user_id, "reasons": [], "items": []}
    elif draft is not None and draft.get("by") == user_id:
        if not on_draft(action, app, op, arg):
            return False
    else:
        toast = "stale" if draft is None else "claimed_by_other"  # review/toast/…
        action.refuse_tap(toast, app, op, reviewer=app.review.reviewer_name)
        return False
    if op != "comment":  # asking for the comment leaves the card as it is
        action.edit_card(app)
    return True


def owned(action: GroupAction, app: Application) -> bool:
    """True when the caller may decide: they claimed it (or nobody has, and they do now)."""
    review = app.review
    if review.reviewer_id is None and app.status in CLAIMABLE:
        claim(action, app)
        return True
    if review.reviewer_id == action.user.user_id:
        return True
    action.refuse_tap("claimed_by_other", app, "decide", reviewer=review.reviewer_name)
    return False


def claim(action: GroupAction, app: Application) -> None:
    """Make the caller the application's reviewer and tell the applicant it is in review
    (one under further checks stays so: the applicant has been told)."""
    app.review.reviewer_id = action.user.user_id
    app.review.reviewer_name = action.name
    told = app.status != Status.SUBMITTED
    app.status = Status.IN_REVIEW if app.status == Status.SUBMITTED else app.status
    action.team.record(action.uow, app, "claimed", action.user.user_id)
    if not told:
        action.notify_applicant(app, "in_review")
    action.sent_on_claim = action.documents(app, "claimed")


def release(action: GroupAction, app: Application) -> bool:
    """The claimer (or an admin) lets the application go back to the queue."""
    review = app.review
    if review.reviewer_id is None or (
        review.reviewer_id != action.user.user_id and ADMIN not in action.roles()
    ):
        action.refuse_tap("claimed_by_other", app, "release", reviewer=review.reviewer_name)
        return False
    previous = review.reviewer_id
    action.close_prompts(app, review.draft, "cancelled", notes=False)
    unclaim(app)
    action.team.record(action.uow, app, "released", action.user.user_id, reviewer=previous)
    action.toast("released", number=app.number)
    action.edit_card(app)
    return True


def reveal(action: GroupAction, app: Application) -> None:
    """Show the full ID number to the reviewer who asked, in an alert only they see, and
    audit it."""
    step = "id_number"
    if not app.answers.get(step) or app.status in DECIDED_STATUSES:
        action.refuse_tap("stale", app, "reveal")
        return
    action.team.record(action.uow, app, "revealed", action.user.user_id, field=step)
    assert action.team.chat_id is not None
    action.replies.append(
        Reply(
            "review/toast/revealed",
            action.team.chat_id,
            action.team.language,
            {"number": app.number, "value": app.answers[step]},
            toast=True,
            alert=True,
        )
    )
