"""A decision being prepared on a card, and made: reasons, items to redo, comment, confirm.

A final decision is sent only from its confirmation, which the card shows next to what the
applicant will read: approve and investigate take two taps, reject three (its reasons, then
the confirmation). A resubmission is not final: the reviewer ticks the items to send again and
then taps the reason, which sends it, so it too takes three taps. A comment is typed as a
reply to the card (or after the comment button) before the last tap.
"""

from __future__ import annotations

from typing import Any

from cardbot.core.model import Application, Status
from cardbot.core.review.action import GroupAction
from cardbot.core.review.team import item_digest

DRAFTED = ("reject", "resubmit")  # decisions that take reasons and may take a comment


def on_draft(action: GroupAction, app: Application, op: str, arg: str) -> bool:
    """Buttons of a decision being prepared: reasons, items, comment, confirm, back."""
    draft = app.review.draft
    assert draft is not None
    kind = draft["action"]
    spec = action.team.spec
    if op == "back":
        action.close_prompts(app, draft, "cancelled", notes=False)
        app.review.draft = None
    elif op == "approve_ok" and kind == "approve":
        decide(action, app)
    elif op == "investigate_ok" and kind == "investigate":
        app.review.draft = None
        app.status = Status.INVESTIGATING
        action.team.record(action.uow, app, "investigating", action.user.user_id)
        action.notify_applicant(app, "investigating")
    elif op == "r" and kind == "reject":
        if spec.reasons.get(arg) is None or kind not in spec.reasons[arg].decisions:
            action.refuse_tap("stale", app, op)
            return False
        chosen = draft["reasons"]
        draft["reasons"] = [r for r in chosen if r != arg] if arg in chosen else [*chosen, arg]
    elif op == "i" and kind == "resubmit":
        applicable = action.team.applicable(app)
        if arg not in applicable:
            action.refuse_tap("stale", app, op)
            return False
        chosen = draft["items"]
        draft["items"] = [s for s in applicable if (s in chosen) != (s == arg)]
    elif op == "s" and kind == "resubmit":
        if not ready(action, draft):
            return False
        if arg not in spec.resubmission_reasons(draft["items"]):
            action.refuse_tap("stale", app, op)
            return False
        draft["reasons"] = [arg]
        decide(action, app)
    elif (op == "send" and kind == "reject") or (op == "comment" and kind in DRAFTED):
        if not ready(action, draft):
            return False
        if op == "send":
            decide(action, app)
        else:
            draft["awaiting"] = "comment"
            action.ask_text(app, "comment")
    else:
        action.refuse_tap("stale", app, op)
        return False
    return True


def ready(action: GroupAction, draft: dict[str, Any]) -> bool:
    """True when a rejection has its reasons, or a resubmission its items (its reason is the
    tap that sends it)."""
    if draft["action"] == "resubmit" and not draft["items"]:
        action.toast("pick_item")
        return False
    if draft["action"] == "reject" and not draft["reasons"]:
        action.toast("pick_reason")
        return False
    return True


def decide(action: GroupAction, app: Application) -> None:
    """Apply the prepared (and confirmed) decision and tell the applicant at once."""
    draft = app.review.draft
    assert draft is not None
    kind = draft["action"]
    comment = draft.get("comment")
    review = app.review
    review.draft = None
    review.comment = comment
    review.reasons = list(draft.get("reasons", [])) if kind != "approve" else []
    now = action.team.clock.now()
    if kind == "resubmit":
        applicable = action.team.applicable(app)
        items = [s for s in applicable if s in draft["items"]]
        review.requested = items
        review.changed = []
        review.digest = item_digest(app, applicable, action.team.slots())
        app.redo = set(items)
        app.status = Status.RESUBMISSION_REQUESTED
        outcome = "resubmission_requested"
    else:
        app.status = Status.APPROVED if kind == "approve" else Status.REJECTED
        review.decided_at = now
        outcome = app.status.value
    action.close_prompts(app, draft, "decided", notes=outcome != "resubmission_requested")
    action.team.record(
        action.uow,
        app,
        "decided",
        action.user.user_id,
        outcome=outcome,
        reasons=review.reasons,
        items=review.requested if kind == "resubmit" else [],
        comment=comment,
    )
    action.notify_applicant(app, outcome)
