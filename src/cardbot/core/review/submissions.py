"""The applicant's side of the review: a package submitted (or resubmitted) goes to the group,
one withdrawn or erased updates its card. Each returns what the group is to be sent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from cardbot.core.model import Application, Status
from cardbot.core.ports import UnitOfWork
from cardbot.core.replies import Reply
from cardbot.core.review.cards import card, card_tag, replace_card
from cardbot.core.review.dossier import send_dossier
from cardbot.core.review.team import ReviewTeam, item_digest


def on_submitted(
    team: ReviewTeam,
    uow: UnitOfWork,
    app: Application,
    applicant_id: int,
    step_ids: Iterable[str],
    today: date,
) -> list[Reply]:
    """A package passed screening: record it and post it to the reviewers (and, resubmitted
    while claimed, send it to its reviewer)."""
    if app.review.requested:
        digest = item_digest(app, step_ids, team.slots())
        app.review.changed = sorted(
            step for step, value in digest.items() if app.review.digest.get(step) != value
        )
        app.review.round += 1
        app.review.requested = []
        app.review.digest = {}
        app.redo = set()
        app.status = Status.IN_REVIEW if app.review.reviewer_id else Status.SUBMITTED
        team.record(uow, app, "resubmitted", applicant_id, changed=app.review.changed)
    else:
        team.record(uow, app, "submitted", applicant_id)
    replies: list[Reply] = []
    posted = card(team, app, today, edit=False)
    replaced = replace_card(team, app, "resubmitted") if app.review.round > 1 else None
    if replaced is not None:
        replies.append(replaced)
    if posted is not None:
        replies.append(posted)
        reviewer = app.review.reviewer_id
        if reviewer is not None and app.status == Status.IN_REVIEW:
            dossier = send_dossier(team, uow, app, reviewer, None, "resubmitted")
            if dossier is not None:
                replies.append(dossier)
    return replies


def on_withdrawn(
    team: ReviewTeam, uow: UnitOfWork, app: Application, applicant_id: int, today: date
) -> list[Reply]:
    """The applicant withdrew an application under review: record it, update the card."""
    app.status = Status.WITHDRAWN
    app.review.decided_at = team.clock.now()
    app.review.draft = None
    app.redo = set()
    team.record(uow, app, "withdrawn", applicant_id)
    updated = card(team, app, today, edit=True)
    return [updated] if updated is not None else []


def on_erased(
    team: ReviewTeam, uow: UnitOfWork, app: Application, applicant_id: int
) -> list[Reply]:
    """The applicant erased their data while under review: withdraw the application and
    replace its card with a notice that keeps no personal data."""
    app.status = Status.WITHDRAWN
    app.review.decided_at = team.clock.now()
    app.review.draft = None
    team.record(uow, app, "withdrawn", applicant_id, erased=True)
    if team.chat_id is None or app.id is None:
        return []
    notice = {"number": app.number}
    return [
        Reply(
            "review/erased", team.chat_id, team.language, notice, tag=card_tag(app.id), edit=True
        ),
        Reply("review/erased", team.chat_id, team.language, notice),
    ]
