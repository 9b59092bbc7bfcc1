"""The review card in the group: what it shows of an application, and the buttons it offers
in the application's status and the decision being prepared.

A card never carries documents nor full personal values (the group may have members who are
not reviewers); every button carries only the application id and an operation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from cardbot.core.clock import local_time
from cardbot.core.model import DECIDED_STATUSES, Application, Status
from cardbot.core.replies import Button, Reply
from cardbot.core.review.flags import flags_context
from cardbot.core.review.team import CLAIMABLE, ReviewTeam
from cardbot.core.text import mask_id_number
from cardbot.core.workdays import REVIEW_MAX_DAYS

NOTES_ON_CARD = 3
DRAFT_TEMPLATES = {
    "approve": "approved",
    "reject": "rejected",
    "resubmit": "resubmit",
    "investigate": "investigating",
}


def mask_name(name: str) -> str:
    """A name with all but its first character hidden."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    """A phone number with its middle hidden (the first three and last two digits kept)."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


# Personal values shown masked in the group; in full only in a reviewer's private chat.
MASKED_STEPS: dict[str, Callable[[str], str]] = {
    "full_name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
}


def card_tag(application_id: int) -> str:
    """The name under which an application's latest review card is remembered."""
    return f"card:{application_id}"


def prompt_tag(application_id: int, user_id: int, kind: str) -> str:
    """The name of the reply prompt asking one reviewer for a comment or a note."""
    return f"ask:{application_id}:{user_id}:{kind}"


def _when(moment: datetime | None) -> str | None:
    return local_time(moment).strftime("%Y-%m-%d %H:%M") if moment else None


def card_context(team: ReviewTeam, app: Application, today: date) -> dict[str, Any]:
    """Everything the card template shows."""
    steps = team.spec.applicable_steps(app.category, app.answers)
    changed = set(app.review.changed)
    answers = [
        {
            "step": s.id,
            "kind": s.kind,
            "value": MASKED_STEPS[s.id](app.answers.get(s.id, ""))
            if s.id in MASKED_STEPS
            else app.answers.get(s.id, ""),
            "changed": s.id in changed,
        }
        for s in steps
        if s.kind != "document"
    ]
    documents = [
        {"slot": slot, "changed": s.id in changed, "present": slot in app.documents}
        for s in steps
        if s.kind == "document"
        for slot in s.slots
        if slot in app.documents or s.id not in app.skipped
    ]
    due, estimate = team.due(app)
    review = app.review
    draft = review.draft or {}
    return {
        "number": app.number,
        "category": app.category,
        "status": app.status.value,
        "round": review.round,
        "answers": answers,
        "documents": documents,
        "flags": flags_context(app.flags),
        "submitted_at": _when(app.submitted_at),
        "due": due.isoformat(),
        "due_estimate": estimate,
        "age": team.age(app, today),
        "limit": REVIEW_MAX_DAYS,
        "reviewer": review.reviewer_name,
        "reviewer_id": review.reviewer_id,
        "decided_at": _when(review.decided_at),
        "reasons": [team.reason_title(r, team.language) for r in review.reasons],
        "comment": review.comment,
        "requested": list(review.requested),
        "changed": [s for s in app.review.changed],
        "notes": review.notes[-NOTES_ON_CARD:],
        "note_count": len(review.notes),
        "draft": draft.get("action"),
        "draft_reasons": len(draft.get("reasons", [])),
        "draft_items": [i for i in draft.get("items", [])],
        "preview": preview(team, app, draft) if draft else None,
        "draft_comment": draft.get("comment"),
        "resubmit_by": team.notice_context(app) if draft.get("action") == "resubmit" else None,
    }


def preview(team: ReviewTeam, app: Application, draft: dict[str, Any]) -> dict[str, Any] | None:
    """What the applicant will read when the final decision being prepared is confirmed (in
    the team's language), or None while it is not ready (or, a resubmission, sent by its
    reason's button)."""
    action = draft["action"]
    reasons = list(draft.get("reasons", []))
    if action == "resubmit" or (action == "reject" and not reasons):
        return None
    return {
        "template": DRAFT_TEMPLATES[action],
        "reasons": team.reason_texts(reasons, team.language),
        "comment": draft.get("comment"),
        "final": any(r.final for i in reasons if (r := team.spec.reasons.get(i))),
        "items": [],
        **team.notice_context(app),
    }


def card_buttons(team: ReviewTeam, app: Application) -> tuple[tuple[Button, ...], ...]:
    """The buttons a card shows in the application's current status and draft."""
    assert app.id is not None
    prefix = f"rv:{app.id}:"

    def button(label: str, op: str) -> Button:
        return Button(f"review.{label}", prefix + op)

    status, draft = app.status, app.review.draft
    if status in DECIDED_STATUSES:
        return ()
    last_row: tuple[Button, ...] = (button("note", "note"), button("documents", "docs"))
    if app.review.reviewer_id is None and status in CLAIMABLE:
        return ((button("claim", "claim"),), last_row)
    if draft is None and app.review.reviewer_id is not None:
        last_row = (*last_row, button("release", "release"))
    if status == Status.RESUBMISSION_REQUESTED:
        return (last_row,)
    if draft is None:
        second = [button("resubmit", "resubmit")]
        if status == Status.IN_REVIEW:
            second.append(button("investigate", "investigate"))
        return (
            (button("approve", "approve"), button("reject", "reject")),
            tuple(second),
            last_row,
        )
    action = draft["action"]
    back_row = (button("back", "back"),)
    if action == "approve":
        return ((button("confirm_approve", "approve_ok"),), back_row)
    if action == "investigate":
        return ((button("confirm_investigate", "investigate_ok"),), back_row)
    if action == "resubmit":
        comment_rows = ((button("comment", "comment"),),) if draft.get("items") else ()
        return (*resubmission_rows(team, app, draft, prefix), *comment_rows, back_row)
    rows: list[tuple[Button, ...]] = [
        (
            Button(
                "",
                f"{prefix}r:{reason.id}",
                text=reason.texts[team.language].title,
                selected=reason.id in draft.get("reasons", []),
            ),
        )
        for reason in team.spec.reasons.values()
        if action in reason.decisions
    ]
    if preview(team, app, draft) is not None:
        rows.append((button(f"confirm_{action}", "send"),))
        rows.append((button("comment", "comment"),))
    return (*rows, back_row)


def resubmission_rows(
    team: ReviewTeam, app: Application, draft: dict[str, Any], prefix: str
) -> list[tuple[Button, ...]]:
    """A resubmission being prepared: the items to tick, then (once one is) a button per
    reason that fits them, which sends the request."""
    chosen = draft.get("items", [])
    ticks = [
        Button(f"step.{item}", f"{prefix}i:{item}", selected=item in chosen)
        for item in team.applicable(app)
    ]
    rows: list[tuple[Button, ...]] = [tuple(ticks[i : i + 2]) for i in range(0, len(ticks), 2)]
    if chosen:
        rows += [
            (
                Button(
                    "review.send_with_reason",
                    f"{prefix}s:{reason_id}",
                    text=team.spec.reasons[reason_id].texts[team.language].title,
                ),
            )
            for reason_id in team.spec.resubmission_reasons(chosen)
        ]
    return rows


def card(team: ReviewTeam, app: Application, today: date, *, edit: bool) -> Reply | None:
    """The review card, posted anew or edited in place (None without a review group)."""
    if team.chat_id is None or app.id is None:
        return None
    return Reply(
        "review/card",
        team.chat_id,
        team.language,
        card_context(team, app, today),
        card_buttons(team, app),
        tag=card_tag(app.id),
        edit=edit,
    )


def replace_card(team: ReviewTeam, app: Application, why: str) -> Reply | None:
    """Turn the application's latest card into a pointer to the new one about to be posted
    (which takes its name), so no old card shows a stale status or live buttons."""
    if team.chat_id is None or app.id is None:
        return None
    return Reply(
        "review/card_replaced",
        team.chat_id,
        team.language,
        {"number": app.number, "why": why},
        tag=card_tag(app.id),
        edit=True,
    )


def close_prompt(
    team: ReviewTeam, app: Application, user_id: int, kind: str, outcome: str
) -> Reply:
    """Edit an answered (or no longer wanted) reply prompt down to one line."""
    assert team.chat_id is not None and app.id is not None
    return Reply(
        "review/prompt_closed",
        team.chat_id,
        team.language,
        {"number": app.number, "kind": kind, "outcome": outcome},
        tag=prompt_tag(app.id, user_id, kind),
        edit=True,
    )
