"""What the document photos say against the typed answers, for reviewers (issue 20): the
applications whose documents wait to be read, and the flags a reading gave, put on the card.

Reading happens outside the core and outside the update path (an adapter's background job
with its own pool of worker processes); the core only says what to read and records what was
found. The flags are for reviewers only and never reach the applicant; each round of an
application (a resubmission starts a new one) is read once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardbot.core.clock import local_date
from cardbot.core.model import WITH_REVIEWERS, Flag
from cardbot.core.ports import UnitOfWork, post
from cardbot.core.replies import Reply
from cardbot.core.review.cards import card
from cardbot.core.review.team import ReviewTeam, as_current

# The flags a reading can raise; a new reading of the application replaces all of them.
READING_FLAGS = frozenset(
    {
        "name_mismatch",
        "id_number_mismatch",
        "uscc_mismatch",
        "company_name_mismatch",
        "id_expired",
        "passport_expired",
        "document_side_wrong",
        "unreadable_text",
        "image_blurry",
    }
)


@dataclass(frozen=True)
class ReadingRequest:
    """One application's documents to read, with the answers to check them against."""

    application_id: int
    round: int
    answers: dict[str, str]
    # slot (id_front, business_license…) → (storage key, MIME type)
    documents: dict[str, tuple[str, str]]
    submitted_on: str  # ISO date: validity that ended before this day has expired


def waiting_to_be_read(unit_of_work: Callable[[], UnitOfWork], limit: int) -> list[ReadingRequest]:
    """Applications with reviewers whose current round has not been read yet, oldest first."""
    with unit_of_work() as uow:
        found = []
        for app in uow.open_applications(limit=limit, unread=True):
            review = app.review
            if app.status not in WITH_REVIEWERS or review.read_round >= review.round:
                continue
            if app.id is None or app.submitted_at is None:
                continue
            found.append(
                ReadingRequest(
                    application_id=app.id,
                    round=review.round,
                    answers=dict(app.answers),
                    documents={
                        slot: (document.storage_key, document.mime_type)
                        for slot, document in app.documents.items()
                    },
                    submitted_on=local_date(app.submitted_at).isoformat(),
                )
            )
            if len(found) >= limit:
                break
    return found


def note_readings(
    team: ReviewTeam,
    unit_of_work: Callable[[], UnitOfWork],
    request: ReadingRequest,
    flags: list[Flag],
) -> list[Reply]:
    """Record what reading found (replacing an earlier reading's flags) and show it on the
    card; nothing when the application moved on meanwhile (decided, withdrawn, resubmitted,
    or read already). Written to the outbox with the change."""
    with unit_of_work() as uow:
        app = uow.load_application_by_id(request.application_id)
        found = as_current(uow, app) if app is not None else None
        if found is None:
            return []
        current, applicant = found
        review = current.review
        if current.status not in WITH_REVIEWERS:
            return []
        if review.round != request.round or review.read_round >= review.round:
            return []
        before = list(current.flags)
        kept = [f for f in current.flags if f.code not in READING_FLAGS]
        current.flags = kept + [f for f in flags if f.code in READING_FLAGS]
        review.read_round = review.round
        uow.save_applicant(applicant)
        team.record(uow, current, "documents_read", None, flags=sorted({f.code for f in flags}))
        edited = card(team, current, team.today(), edit=True)
        changed = edited is not None and current.flags != before
        replies = post(uow, [edited] if changed and edited is not None else [], None)
        uow.commit()
    return replies
