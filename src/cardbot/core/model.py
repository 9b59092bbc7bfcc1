"""Domain records: an applicant's conversation and their application."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cardbot.core.faq import FaqEntry


class Status(StrEnum):
    """Where an application stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


OPEN_STATUSES = frozenset({Status.SUBMITTED})


@dataclass(frozen=True)
class Flag:
    """Something reviewers should know, never shown to the applicant (e.g. an ID in use)."""

    code: str
    applications: tuple[str, ...]
    field: str | None = None
    document: str | None = None


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


@dataclass
class SupportTicket:
    """A question an applicant handed to a person."""

    id: int
    user_id: int
    chat_id: int
    question: str
    language: str
    status: str = "sent"
