"""The ports the core talks through; adapters implement them."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from cardbot.core.faq import FaqEntry
from cardbot.core.model import (
    Applicant,
    Application,
    AuditEvent,
    FaqRevision,
    SupportTicket,
    UnansweredQuestion,
)
from cardbot.core.replies import Reply

# What went wrong for applicants in one update, counted for the report:
# (kind, key, detail) → how many.
Tally = Mapping[tuple[str, str, str], int]


class ConcurrentUpdateError(Exception):
    """Another worker changed the same applicant first; handle the event again."""


class ApplicationIndex(Protocol):
    """Look-ups across applications, for consistency flags."""

    def applications_with_answer(
        self,
        field: str,
        value: str,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        """(number, status) of applications, whatever their status, whose `field` answer is
        `value` (the first `limit`, by number)."""
        ...

    def applications_with_document(
        self,
        sha256: str,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        """(number, status) of applications, whatever their status, holding a document with
        this SHA-256 (the first `limit`, by number)."""
        ...

    def applications_with_similar_photo(
        self,
        phash: str,
        max_distance: int,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        """(number, status) of applications, whatever their status, holding a photo whose
        perceptual hash is within `max_distance` bits of `phash` (the first `limit`)."""
        ...


class FaqRepository(Protocol):
    """FAQ entries with their history, and the questions nobody could answer."""

    def version(self) -> int:
        """A number that changes whenever any entry changes (cheap to ask)."""
        ...

    def current_entries(self) -> list[FaqEntry]:
        """The latest revision of every entry."""
        ...

    def save_entry(self, entry: FaqEntry, author_id: int | None, note: str) -> int:
        """Store a new revision of the entry; returns its revision number."""
        ...

    def history(self, entry_id: str) -> list[FaqRevision]:
        """Every revision of the entry, oldest first."""
        ...

    def record_unanswered(self, question: str, language: str) -> None:
        """Count one more asking of a question nobody could answer."""
        ...

    def unanswered(self, limit: int) -> list[UnansweredQuestion]:
        """The open unanswered questions, most asked first."""
        ...

    def close_unanswered(self, question_id: int, status: str) -> UnansweredQuestion | None:
        """Mark an unanswered question attached or dismissed; None if there is no such open one."""
        ...


class RoleRepository(Protocol):
    """Who is staff or reviewer (admins come from the configuration)."""

    def roles_of(self, user_id: int) -> set[str]:
        """The roles granted to the user."""
        ...

    def grant(self, user_id: int, role: str, granted_by: int | None) -> bool:
        """Grant a role; False if the user had it already."""
        ...

    def revoke(self, user_id: int, role: str) -> bool:
        """Revoke a role; False if the user did not have it."""
        ...

    def all_roles(self) -> list[tuple[int, str]]:
        """Every (user id, role) granted."""
        ...


class SupportRepository(Protocol):
    """Questions handed to a person in the support group."""

    def open_ticket(self, user_id: int, chat_id: int, question: str, language: str) -> int:
        """Record a question for a person; returns the ticket number."""
        ...

    def count_recent(self, user_id: int, since: datetime) -> int:
        """How many questions the user handed to a person since `since`."""
        ...

    def ticket(self, ticket_id: int) -> SupportTicket | None:
        """The ticket, if it exists."""
        ...

    def update_ticket(self, ticket: SupportTicket) -> None:
        """Store the ticket's new state."""
        ...


class AuditLog(Protocol):
    """The append-only record of what happened to each application."""

    def append(self, event: AuditEvent) -> None:
        """Record one event."""
        ...

    def history(self, number: str) -> list[AuditEvent]:
        """Every event of the application, oldest first."""
        ...

    def scrub(self, number: str, keep: frozenset[str]) -> None:
        """Drop every data field but `keep` from the application's events (free text such as
        notes and comments goes when the applicant's data is erased or purged)."""
        ...


class Outbox(Protocol):
    """Status changes waiting to be sent to the back office, written with the change itself."""

    def add(self, payload: dict[str, Any]) -> None:
        """Queue one notification (no personal data in it)."""
        ...


class ReplyOutbox(Protocol):
    """What the bot says, written in the transaction of the change it follows and kept until
    a sender has delivered it (the sender takes it from the store, not through this port)."""

    def add(self, reply: Reply, update_key: str | None) -> None:
        """Queue one message answering the delivery `update_key` (None: a background job)."""
        ...

    def pending_for(self, update_key: str) -> list[Reply]:
        """The messages answering `update_key` that are not sent yet, in order."""
        ...


class UnitOfWork(ApplicationIndex, Protocol):
    """One transaction over the applicant store; nothing is kept unless committed."""

    faq: FaqRepository
    roles: RoleRepository
    support: SupportRepository
    audit: AuditLog
    outbox: Outbox
    messages: ReplyOutbox

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def claim_update(self, key: str) -> bool:
        """Record that the delivery `key` is handled; False if it was handled before."""
        ...

    def add_tally(self, day: date, tally: Tally) -> None:
        """Add to the day's counts of applicants' trouble: (kind, key, detail) → how many."""
        ...

    def forget_deliveries(self, before: datetime) -> int:
        """Forget the deliveries handled before `before`; returns how many."""
        ...

    def load_applicant(self, user_id: int) -> Applicant | None:
        """The applicant's conversation and current application, if any."""
        ...

    def save_applicant(self, applicant: Applicant) -> None:
        """Store the applicant's conversation and current application."""
        ...

    def delete_applicant(self, user_id: int) -> None:
        """Forget the applicant and their draft entirely."""
        ...

    def next_application_number(self, year: int) -> str:
        """A new, unique, human-friendly application number such as DX-2026-000123."""
        ...

    def load_application(self, number: str) -> Application | None:
        """The application with this number, if any."""
        ...

    def load_application_by_id(self, application_id: int) -> Application | None:
        """The application with this id, if any."""
        ...

    def open_applications(
        self,
        *,
        limit: int | None = None,
        submitted_before: datetime | None = None,
        unread: bool = False,
    ) -> list[Application]:
        """Submitted applications without a final decision, oldest submission first: at most
        `limit`, only those submitted before `submitted_before` when given, and with `unread`
        only those with reviewers whose current round's documents have not been read."""
        ...

    def applications_of(self, user_id: int) -> list[Application]:
        """Every application the user ever started and that is still kept, oldest first."""
        ...

    def erase_user(self, user_id: int) -> list[str]:
        """Delete the user's conversation, applications and questions; returns the storage
        keys of their documents, to be deleted once this unit of work is committed."""
        ...

    def closed_before(self, cutoff: datetime, limit: int) -> list[Application]:
        """Decided or withdrawn applications closed before `cutoff` and not yet purged."""
        ...

    def purge_application(self, application_id: int) -> list[str]:
        """Delete an application's answers and document records, marking it purged; returns
        the storage keys of its documents."""
        ...

    def wipe_deleted_on_commit(self, *, thorough: bool = False) -> None:
        """Once this unit of work commits, make what it deleted unreadable on disk as far as
        the store can (a store may keep old copies of deleted data in a log or in free space);
        `thorough` also reclaims what earlier units of work deleted and may take a while (for
        the retention purge, not for an applicant's turn)."""
        ...

    def commit(self) -> None:
        """Make every change of this unit of work permanent."""
        ...


def post(uow: UnitOfWork, replies: list[Reply], update_key: str | None) -> list[Reply]:
    """Write every reply but toasts to the outbox of `uow` (to be sent once it commits, in this
    order); returns `replies`. A toast answers a button press and cannot wait for later."""
    for reply in replies:
        if not reply.toast:
            uow.messages.add(reply, update_key)
    return replies


class DocumentStore(Protocol):
    """Where document bytes live; the database keeps only their metadata and key."""

    def put(self, source: Path) -> str:
        """Copy the file at `source` into the store and return its key."""
        ...

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        ...

    def delete(self, key: str) -> None:
        """Remove the bytes under `key`; a missing key is not an error."""
        ...

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A readable local file with the bytes under `key`, for as long as the context lasts."""
        ...


class Clock(Protocol):
    """The current time, so tests can fix it."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


@dataclass(frozen=True)
class ReportOrder:
    """Who asked for a report of which period, and in which language to send it."""

    chat_id: int
    language: str
    since: datetime
    until: datetime
    requested_by: int


class ReportMaker(Protocol):
    """Makes operations reports away from the update path."""

    def request(self, order: ReportOrder) -> None:
        """Start making the report; its message is posted to the outbox when it is ready."""
        ...
