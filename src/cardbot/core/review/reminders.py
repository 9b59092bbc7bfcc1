"""Reminders to the review group of applications near their decision deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from cardbot.core.clock import local_date
from cardbot.core.model import WITH_REVIEWERS
from cardbot.core.ports import UnitOfWork, post
from cardbot.core.replies import Reply
from cardbot.core.review.team import ReviewTeam, as_current

REMIND_ON_DAY = 8


def send_reminders(team: ReviewTeam, unit_of_work: Callable[[], UnitOfWork]) -> list[Reply]:
    """Remind the group of applications on their 8th working day without a decision
    (written to the outbox with the change that records them)."""
    if team.chat_id is None:
        return []
    replies: list[Reply] = []
    with unit_of_work() as uow:
        now = team.clock.now()
        today = local_date(now)
        # N working days ago is more than N - 1 calendar days ago, in any time zone: only
        # those are read (not every open application, however many there are).
        old_enough = now - timedelta(days=REMIND_ON_DAY - 1)
        for app in uow.open_applications(submitted_before=old_enough):
            reminded = app.review.reminded_round >= app.review.round
            if app.status not in WITH_REVIEWERS or reminded:
                continue
            if team.age(app, today) < REMIND_ON_DAY:
                continue
            found = as_current(uow, app)
            if found is None:
                continue
            current, applicant = found
            current.review.reminded_round = current.review.round
            uow.save_applicant(applicant)
            team.record(uow, current, "reminded", None)
            due, estimate = team.due(current)
            replies.append(
                Reply(
                    "review/reminder",
                    team.chat_id,
                    team.language,
                    {
                        "number": current.number,
                        "age": team.age(current, today),
                        "due": due.isoformat(),
                        "due_estimate": estimate,
                        "reviewer": current.review.reviewer_name,
                        "reviewer_id": current.review.reviewer_id,
                    },
                )
            )
        post(uow, replies, None)
        uow.commit()
    return replies
