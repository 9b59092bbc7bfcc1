"""The SQLAlchemy unit of work: the core's applicant store on SQLite or PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from cardbot.core.image_hash import hash_distance
from cardbot.core.model import (
    DECIDED_STATUSES,
    OPEN_STATUSES,
    WITH_REVIEWERS,
    Applicant,
    Application,
    Review,
    Status,
)
from cardbot.core.ports import (
    AuditLog,
    Clock,
    ConcurrentUpdateError,
    FaqRepository,
    Outbox,
    ReplyOutbox,
    RoleRepository,
    SupportRepository,
    Tally,
)
from cardbot.db import applicant_rows
from cardbot.db.erasure import wipe_deleted
from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    DocumentRow,
    NumberCounterRow,
    ProcessedUpdateRow,
    SupportTicketRow,
)
from cardbot.db.reply_outbox import SqlReplyOutbox
from cardbot.db.review_repositories import (
    SqlAuditLog,
    SqlOutbox,
    review_from_data,
    review_to_data,
)
from cardbot.db.session import UPSERT_DIALECTS, ignoring_duplicates
from cardbot.db.support_repositories import (
    SqlFaqRepository,
    SqlRoleRepository,
    SqlSupportRepository,
)
from cardbot.db.trouble_tally import add_tally


class SqlUnitOfWork:
    """One database transaction for one event; rolled back unless committed."""

    faq: FaqRepository
    roles: RoleRepository
    support: SupportRepository
    audit: AuditLog
    outbox: Outbox
    messages: ReplyOutbox

    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, key: bytes | None = None
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._key = key  # seals the replies in the outbox; without it they are kept as JSON
        self._seen: dict[int, applicant_rows.ApplicantSeen] = {}
        self._wipe: bool | None = None  # after commit: None (no), False, True (thorough)

    def __enter__(self) -> Self:
        self.session = self._sessions()
        self.faq = SqlFaqRepository(self.session, self._clock)
        self.roles = SqlRoleRepository(self.session, self._clock)
        self.support = SqlSupportRepository(self.session, self._clock)
        self.audit = SqlAuditLog(self.session)
        self.outbox = SqlOutbox(self.session, self._clock)
        self.messages = SqlReplyOutbox(self.session, self._clock, self._key)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def claim_update(self, key: str) -> bool:
        """Record the delivery `key`; False when it was handled before (one statement)."""
        if self.session.get_bind().dialect.name not in UPSERT_DIALECTS:
            if self.session.get(ProcessedUpdateRow, key) is not None:
                return False
            self.session.add(ProcessedUpdateRow(key=key, processed_at=self._clock.now()))
            return True
        connection = self.session.connection()
        claim = _claim_statement(connection.dialect.name)
        values = {"key": key, "processed_at": self._clock.now()}
        return connection.execute(claim, values).first() is not None

    def add_tally(self, day: date, tally: Tally) -> None:
        """Add to the day's counts of applicants' trouble (db/trouble_tally.py)."""
        add_tally(self.session.connection(), day, tally)

    def forget_deliveries(self, before: datetime) -> int:
        """Forget the deliveries handled before `before`; returns how many."""
        statement = delete(ProcessedUpdateRow).where(ProcessedUpdateRow.processed_at < before)
        return int(self.session.connection().execute(statement).rowcount)

    def load_applicant(self, user_id: int) -> Applicant | None:
        """The applicant and their current application, if any."""
        loaded = applicant_rows.load(self.session.connection(), user_id)
        if loaded is None:
            return None
        applicant, self._seen[user_id] = loaded
        return applicant

    def save_applicant(self, applicant: Applicant) -> None:
        """Store the applicant and their application, writing only what changed."""
        connection = self.session.connection()
        seen = self._seen.get(applicant.user_id)
        if seen is None:
            loaded = applicant_rows.load(connection, applicant.user_id)
            seen = loaded[1] if loaded is not None else None
        applicant_rows.save(connection, applicant, seen, self._clock.now())
        self._seen.pop(applicant.user_id, None)  # read again before another save

    def delete_applicant(self, user_id: int) -> None:
        """Forget the applicant and any draft of theirs."""
        self._seen.pop(user_id, None)
        row = self.session.get(ApplicantRow, user_id)
        if row is not None:
            self.session.delete(row)
            self.session.flush()
        self.session.execute(
            delete(ApplicationRow).where(
                ApplicationRow.user_id == user_id, ApplicationRow.status == Status.DRAFT.value
            )
        )

    def next_application_number(self, year: int) -> str:
        """The next number of `year`, e.g. DX-2026-000123, unique across workers."""
        counter = self.session.execute(
            select(NumberCounterRow).where(NumberCounterRow.year == year).with_for_update()
        ).scalar_one_or_none()
        if counter is None:
            counter = NumberCounterRow(year=year, last=0)
            self.session.add(counter)
        counter.last += 1
        return f"DX-{year}-{counter.last:06d}"

    def load_application(self, number: str) -> Application | None:
        """The application with this number, if any."""
        row = self.session.execute(
            select(ApplicationRow).where(ApplicationRow.number == number)
        ).scalar_one_or_none()
        return _to_application(row) if row is not None else None

    def load_application_by_id(self, application_id: int) -> Application | None:
        """The application with this id, if any, locked until the end of the transaction (so
        reviewers acting on one application at the same moment take turns)."""
        row = self.session.execute(
            select(ApplicationRow).where(ApplicationRow.id == application_id).with_for_update()
        ).scalar_one_or_none()
        return _to_application(row) if row is not None else None

    def open_applications(
        self,
        *,
        limit: int | None = None,
        submitted_before: datetime | None = None,
        unread: bool = False,
    ) -> list[Application]:
        """Submitted applications without a final decision, oldest submission first: at most
        `limit`, only those submitted before `submitted_before` when given, and with `unread`
        only those with reviewers whose current round's documents have not been read (found
        in the database, not by loading every open application)."""
        query = (
            select(ApplicationRow)
            .where(ApplicationRow.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(ApplicationRow.submitted_at, ApplicationRow.id)
            .limit(limit)
        )
        if submitted_before is not None:
            query = query.where(ApplicationRow.submitted_at < submitted_before)
        if unread:
            review = ApplicationRow.review
            query = query.where(
                ApplicationRow.status.in_([s.value for s in WITH_REVIEWERS]),
                func.coalesce(review["read_round"].as_integer(), 0)
                < func.coalesce(review["round"].as_integer(), 1),
            )
        return [_to_application(row) for row in self.session.execute(query).scalars()]

    def applications_of(self, user_id: int) -> list[Application]:
        """Every application the user ever started and that is still kept, oldest first."""
        rows = self.session.execute(
            select(ApplicationRow)
            .where(ApplicationRow.user_id == user_id)
            .order_by(ApplicationRow.created_at, ApplicationRow.id)
        ).scalars()
        return [_to_application(row) for row in rows]

    def erase_user(self, user_id: int) -> list[str]:
        """Delete the user's conversation, applications and questions; returns the storage
        keys of their documents, to be deleted once this unit of work is committed."""
        self._seen.pop(user_id, None)
        applicant = self.session.get(ApplicantRow, user_id)
        if applicant is not None:
            self.session.delete(applicant)
            self.session.flush()
        rows = self.session.execute(
            select(ApplicationRow).where(ApplicationRow.user_id == user_id)
        ).scalars()
        keys = []
        for row in rows:
            keys += [d.storage_key for d in row.documents]
            self.session.delete(row)
        self.session.execute(delete(SupportTicketRow).where(SupportTicketRow.user_id == user_id))
        self.session.flush()
        return keys

    def closed_before(self, cutoff: datetime, limit: int) -> list[Application]:
        """Decided or withdrawn applications closed before `cutoff` and not yet purged."""
        rows = self.session.execute(
            select(ApplicationRow)
            .where(
                ApplicationRow.closed_at < cutoff,
                ApplicationRow.purged_at.is_(None),
                ApplicationRow.status.in_([s.value for s in DECIDED_STATUSES]),
            )
            .order_by(ApplicationRow.closed_at, ApplicationRow.id)
            .limit(limit)
        ).scalars()
        return [_to_application(row) for row in rows]

    def purge_application(self, application_id: int) -> list[str]:
        """Delete an application's answers and document records, marking it purged; returns
        the storage keys of its documents."""
        row = self.session.get(ApplicationRow, application_id)
        if row is None:
            return []
        keys = [d.storage_key for d in row.documents]
        row.documents = []
        row.answers = []
        row.flags = []
        row.review = review_to_data(_scrubbed(review_from_data(row.review)))
        row.purged_at = self._clock.now()
        self.session.flush()
        return keys

    def _numbers_and_statuses(
        self, query: Any, exclude_number: str | None, limit: int | None
    ) -> list[tuple[str, str]]:
        query = query.where(ApplicationRow.number.is_not(None))
        if exclude_number is not None:
            query = query.where(ApplicationRow.number != exclude_number)
        # No DISTINCT or ORDER BY: either would read every match before the first ten, and
        # an ID number can be in thousands of applications (the same document in two kinds
        # of one application comes back twice, and then counts once).
        rows = self.session.execute(query.limit(limit)).all()
        return sorted({(str(number), str(status)) for number, status in rows})

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
        query = (
            select(ApplicationRow.number, ApplicationRow.status)
            .join(AnswerRow, AnswerRow.application_id == ApplicationRow.id)
            .where(AnswerRow.field == field, AnswerRow.value == value)
        )
        return self._numbers_and_statuses(query, exclude_number, limit)

    def applications_with_document(
        self,
        sha256: str,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        """(number, status) of applications, whatever their status, holding a document with
        this SHA-256 (the first `limit`, by number)."""
        query = (
            select(ApplicationRow.number, ApplicationRow.status)
            .join(DocumentRow, DocumentRow.application_id == ApplicationRow.id)
            .where(DocumentRow.sha256 == sha256)
        )
        return self._numbers_and_statuses(query, exclude_number, limit)

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
        # Hamming distance has no portable SQL: the hashes (16 characters a photo) are read
        # in batches and compared here.
        query = (
            select(ApplicationRow.number, ApplicationRow.status, DocumentRow.phash)
            .join(DocumentRow, DocumentRow.application_id == ApplicationRow.id)
            .where(DocumentRow.phash.is_not(None), ApplicationRow.number.is_not(None))
            .execution_options(yield_per=2000)
        )
        if exclude_number is not None:
            query = query.where(ApplicationRow.number != exclude_number)
        found: set[tuple[str, str]] = set()
        for number, status, other in self.session.execute(query):
            if hash_distance(phash, str(other)) <= max_distance:
                found.add((str(number), str(status)))
                if limit is not None and len(found) >= limit:
                    break
        return sorted(found)

    def wipe_deleted_on_commit(self, *, thorough: bool = False) -> None:
        """Once committed, overwrite the database's old copies of what was deleted (SQLite:
        checkpoint and truncate the write-ahead log; `thorough`: PostgreSQL vacuums too)."""
        self._wipe = thorough or bool(self._wipe)

    def commit(self) -> None:
        """Commit; a conflicting concurrent change becomes ConcurrentUpdateError."""
        with _conflicts_as_concurrent_updates():
            self.session.commit()
        if self._wipe is not None:
            thorough, self._wipe = self._wipe, None
            wipe_deleted(self.session.get_bind().engine, thorough=thorough)


@functools.cache
def _claim_statement(dialect: str) -> Any:
    """INSERT INTO processed_updates … ON CONFLICT DO NOTHING RETURNING key, built once."""
    return ignoring_duplicates(dialect, ProcessedUpdateRow).returning(ProcessedUpdateRow.key)


@contextmanager
def _conflicts_as_concurrent_updates() -> Iterator[None]:
    """Turn a lost optimistic-locking or uniqueness race into ConcurrentUpdateError."""
    try:
        yield
    except (StaleDataError, IntegrityError) as exc:
        raise ConcurrentUpdateError(exc.__class__.__name__) from exc


def _to_application(row: ApplicationRow) -> Application:
    """The domain record of an application loaded through the ORM."""
    columns = applicant_rows.APPLICATIONS.columns
    documents = applicant_rows.DOCUMENTS.columns
    seen = applicant_rows.ApplicationSeen(
        columns={column.key: getattr(row, column.key) for column in columns},
        answers={a.field: (a.id, a.value) for a in row.answers},
        documents={d.kind: {c.key: getattr(d, c.key) for c in documents} for d in row.documents},
    )
    return applicant_rows.to_application(seen)


def _scrubbed(review: Review) -> Review:
    """A review without its free text (comment, notes, the draft being prepared)."""
    review.comment = None
    review.notes = []
    review.draft = None
    review.digest = {}
    return review
