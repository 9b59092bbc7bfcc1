"""Domain records: an applicant's conversation and their application."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cardbot.core.faq import FaqEntry


class Status(StrEnum):
    """Where an application stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    INVESTIGATING = "investigating"
    RESUBMISSION_REQUESTED = "resubmission_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.IN_REVIEW, Status.INVESTIGATING, Status.RESUBMISSION_REQUESTED}
)
# Open and waiting for a reviewer (not for the applicant).
WITH_REVIEWERS = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.INVESTIGATING})
DECIDED_STATUSES = frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN})


@dataclass(frozen=True)
class Flag:
    """Something reviewers should know, never shown to the applicant (e.g. an ID in use)."""

    code: str
    applications: tuple[str, ...]
    field: str | None = None
    document: str | None = None
    # The status of each of `applications` when the flag was raised (empty in older flags).
    outcomes: tuple[str, ...] = ()


@dataclass
class StoredDocument:
    """A checked document kept in the document store."""

    kind: str
    storage_key: str
    sha256: str
    mime_type: str
    size: int
    received_at: datetime
    file_unique_id: str | None = None
    # A photo's perceptual hash (cardbot.core.image_hash); None for a PDF or an older upload.
    phash: str | None = None


@dataclass
class Review:
    """The reviewers' side of an application: who has it, what they decided and asked for."""

    reviewer_id: int | None = None
    reviewer_name: str | None = None
    reasons: list[str] = field(default_factory=list)
    comment: str | None = None
    requested: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    digest: dict[str, str] = field(default_factory=dict)
    round: int = 1
    draft: dict[str, Any] | None = None
    decided_at: datetime | None = None
    reminded_round: int = 0
    # The round whose document photos were read against the answers (issue 20; 0: none yet).
    read_round: int = 0
    notes: list[dict[str, str]] = field(default_factory=list)
    note_waiting: list[int] = field(default_factory=list)


@dataclass
class Application:
    """What one applicant hands in: answers, documents, status."""

    category: str
    status: Status = Status.DRAFT
    answers: dict[str, str] = field(default_factory=dict)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    flags: list[Flag] = field(default_factory=list)
    number: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    user_id: int | None = None
    review: Review = field(default_factory=Review)
    redo: set[str] = field(default_factory=set)
    # Answers read from the document photos, waiting for the applicant to confirm them.
    proposed: dict[str, str] = field(default_factory=dict)
    version: int = 0
    closed_at: datetime | None = None
    purged_at: datetime | None = None


@dataclass
class Applicant:
    """One person's conversation with the bot: where they are and what they gave."""

    user_id: int
    chat_id: int
    language: str
    state: str = "new"
    consent_at: datetime | None = None
    application: Application | None = None
    slot_index: int = 0
    album_group: str | None = None
    album_step: str | None = None
    pending_action: str | None = None
    pending_text: str | None = None
    staff_action: str | None = None
    staff_draft: str | None = None
    version: int = 0


@dataclass(frozen=True)
class FaqRevision:
    """One stored version of an FAQ entry, with who made it and when."""

    entry: FaqEntry
    revision: int
    author_id: int | None
    note: str
    created_at: datetime


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the FAQ could not answer, and how often it was asked."""

    id: int
    question: str
    language: str
    count: int
    status: str = "open"


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened to an application, by whom and when (append-only)."""

    number: str
    event: str
    actor_id: int | None
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SupportTicket:
    """A question an applicant handed to a person."""

    id: int
    user_id: int
    chat_id: int
    question: str
    language: str
    status: str = "sent"
