"""Who has an application: letting one go, and the open applications a reviewer holds."""

from __future__ import annotations

from cardbot.core.model import Applicant, Application, Status
from cardbot.core.ports import UnitOfWork
from cardbot.core.replies import Reply
from cardbot.core.review.cards import card
from cardbot.core.review.team import ReviewTeam, as_current


def unclaim(app: Application) -> None:
    """Let an application go: nobody has it, and any decision being prepared is dropped."""
    app.review.reviewer_id = None
    app.review.reviewer_name = None
    app.review.draft = None
    if app.status == Status.IN_REVIEW:
        app.status = Status.SUBMITTED


def current_applications(
    uow: UnitOfWork, reviewer_id: int | None = None
) -> list[tuple[Application, Applicant]]:
    """Open applications (claimed by `reviewer_id` when given) that are their applicant's
    current one, oldest submission first."""
    found = []
    for app in uow.open_applications():
        if reviewer_id is not None and app.review.reviewer_id != reviewer_id:
            continue
        current = as_current(uow, app)
        if current is not None:
            found.append(current)
    return found


def release_claims_of(
    team: ReviewTeam, uow: UnitOfWork, reviewer_id: int, actor: int
) -> list[Reply]:
    """Release every open application claimed by a reviewer whose role was revoked, and
    tell the group (each card shows it is free again)."""
    replies: list[Reply] = []
    today = team.today()
    for app, applicant in current_applications(uow, reviewer_id):
        unclaim(app)
        team.record(uow, app, "released", actor, reviewer=reviewer_id, why="revoked")
        uow.save_applicant(applicant)
        updated = card(team, app, today, edit=True)
        if updated is not None and team.chat_id is not None:
            replies.append(updated)
            replies.append(
                Reply(
                    "review/released",
                    team.chat_id,
                    team.language,
                    {"number": app.number, "why": "revoked", "reviewer_id": reviewer_id},
                )
            )
    return replies
