"""The SQLAlchemy unit of work: the core's applicant store on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from cardbot.core.model import (
    DECIDED_STATUSES,
    OPEN_STATUSES,
    Applicant,
    Application,
    Flag,
    Review,
    Status,
    StoredDocument,
)
from cardbot.core.ports import (
    AuditLog,
    Clock,
    ConcurrentUpdateError,
    FaqRepository,
    Outbox,
    RoleRepository,
    SupportRepository,
)
from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    DocumentRow,
    NumberCounterRow,
    ProcessedUpdateRow,
    SupportTicketRow,
)
from cardbot.db.review_repositories import (
    SqlAuditLog,
    SqlOutbox,
    review_from_data,
    review_to_data,
)
from cardbot.db.session import UPSERT_DIALECTS, insert_ignoring_duplicates
from cardbot.db.support_repositories import (
    SqlFaqRepository,
    SqlRoleRepository,
    SqlSupportRepository,
)


class SqlUnitOfWork:
    """One database transaction for one event; rolled back unless committed."""

    faq: FaqRepository
    roles: RoleRepository
    support: SupportRepository
    audit: AuditLog
    outbox: Outbox

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._rows: dict[int, ApplicantRow] = {}

    def __enter__(self) -> Self:
        self.session = self._sessions()
        self.faq = SqlFaqRepository(self.session, self._clock)
        self.roles = SqlRoleRepository(self.session, self._clock)
        self.support = SqlSupportRepository(self.session, self._clock)
        self.audit = SqlAuditLog(self.session)
        self.outbox = SqlOutbox(self.session, self._clock)
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
        values = {"key": key, "processed_at": self._clock.now()}
        inserted = self.session.execute(
            insert_ignoring_duplicates(self.session, ProcessedUpdateRow, values).returning(
                ProcessedUpdateRow.key
            )
        ).first()
        return inserted is not None

    def load_applicant(self, user_id: int) -> Applicant | None:
        """The applicant and their current application, if any."""
        row = self.session.get(ApplicantRow, user_id)
        if row is None:
            return None
        self._rows[user_id] = row
        application = None
        if row.application_id is not None:
            app_row = self.session.get(ApplicationRow, row.application_id)
            application = _to_application(app_row) if app_row else None
        return Applicant(
            user_id=row.user_id,
            chat_id=row.chat_id,
            language=row.language,
            state=row.state,
            consent_at=row.consent_at,
            application=application,
            slot_index=row.slot_index,
            album_group=row.album_group,
            album_step=row.album_step,
            pending_action=row.pending_action,
            pending_text=row.pending_text,
            staff_action=row.staff_action,
            staff_draft=row.staff_draft,
            version=row.version,
        )

    def save_applicant(self, applicant: Applicant) -> None:
        """Store the applicant and their application, replacing what changed."""
        row = self._rows.get(applicant.user_id) or self.session.get(
            ApplicantRow, applicant.user_id
        )
        if row is None:
            row = ApplicantRow(user_id=applicant.user_id)
            self.session.add(row)
        row.chat_id = applicant.chat_id
        row.language = applicant.language
        row.state = applicant.state
        row.consent_at = applicant.consent_at
        row.slot_index = applicant.slot_index
        row.album_group = applicant.album_group
        row.album_step = applicant.album_step
        row.pending_action = applicant.pending_action
        row.pending_text = applicant.pending_text
        row.staff_action = applicant.staff_action
        row.staff_draft = applicant.staff_draft
        previous_id = row.application_id
        app = applicant.application
        with _conflicts_as_concurrent_updates():
            row.application_id = self._save_application(applicant.user_id, app) if app else None
            if previous_id is not None and previous_id != row.application_id:
                self._delete_if_draft(previous_id)
            self.session.flush()

    def _save_application(self, user_id: int, app: Application) -> int:
        row = self.session.get(ApplicationRow, app.id) if app.id is not None else None
        if row is None:
            row = ApplicationRow(
                user_id=user_id, created_at=app.created_at or self._clock.now(), review={}, redo=[]
            )
            self.session.add(row)
        row.category = app.category
        row.status = app.status.value
        row.number = app.number
        row.skipped = sorted(app.skipped)
        row.flags = [asdict(flag) for flag in app.flags]
        row.submitted_at = app.submitted_at
        if app.status in DECIDED_STATUSES and row.closed_at is None:
            row.closed_at = self._clock.now()
        review = review_to_data(app.review)
        if row.review != review:
            row.review = review
        if row.redo != sorted(app.redo):
            row.redo = sorted(app.redo)
        current = {a.field: a for a in row.answers}
        for field, value in app.answers.items():
            if field in current:
                current[field].value = value
            else:
                row.answers.append(AnswerRow(field=field, value=value))
        row.answers = [a for a in row.answers if a.field in app.answers]
        docs = {d.kind: d for d in row.documents}
        for kind, doc in app.documents.items():
            doc_row = docs.get(kind)
            if doc_row is None:
                doc_row = DocumentRow(kind=kind)
                row.documents.append(doc_row)
            doc_row.storage_key = doc.storage_key
            doc_row.sha256 = doc.sha256
            doc_row.mime_type = doc.mime_type
            doc_row.size = doc.size
            doc_row.file_unique_id = doc.file_unique_id
            doc_row.received_at = doc.received_at
        row.documents = [d for d in row.documents if d.kind in app.documents]
        self.session.flush()
        app.id = row.id
        app.user_id = user_id
        app.version = row.version
        app.closed_at = row.closed_at
        return row.id

    def _delete_if_draft(self, application_id: int) -> None:
        row = self.session.get(ApplicationRow, application_id)
        if row is not None and row.status == Status.DRAFT.value:
            self.session.delete(row)

    def delete_applicant(self, user_id: int) -> None:
        """Forget the applicant and any draft of theirs."""
        row = self._rows.get(user_id) or self.session.get(ApplicantRow, user_id)
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

    def open_applications(self) -> list[Application]:
        """Every submitted application without a final decision, oldest submission first."""
        rows = self.session.execute(
            select(ApplicationRow)
            .where(ApplicationRow.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(ApplicationRow.submitted_at, ApplicationRow.id)
        ).scalars()
        return [_to_application(row) for row in rows]

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
        applicant = self._rows.pop(user_id, None) or self.session.get(ApplicantRow, user_id)
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

    def _open_numbers(
        self,
        query: Select[Any],
        exclude_user_id: int | None,
        exclude_number: str | None,
    ) -> list[str]:
        query = query.where(ApplicationRow.status.in_([s.value for s in OPEN_STATUSES]))
        if exclude_user_id is not None:
            query = query.where(ApplicationRow.user_id != exclude_user_id)
        if exclude_number is not None:
            query = query.where(ApplicationRow.number != exclude_number)
        numbers = self.session.execute(query.distinct()).scalars()
        return sorted(str(n) for n in numbers if n)

    def open_applications_with_answer(
        self,
        field: str,
        value: str,
        *,
        exclude_user_id: int | None = None,
        exclude_number: str | None = None,
    ) -> list[str]:
        """Numbers of open applications whose `field` answer is `value`."""
        query = (
            select(ApplicationRow.number)
            .join(AnswerRow, AnswerRow.application_id == ApplicationRow.id)
            .where(AnswerRow.field == field, AnswerRow.value == value)
        )
        return self._open_numbers(query, exclude_user_id, exclude_number)

    def open_applications_with_document(
        self,
        sha256: str,
        *,
        exclude_user_id: int | None = None,
        exclude_number: str | None = None,
    ) -> list[str]:
        """Numbers of open applications holding a document with this SHA-256."""
        query = (
            select(ApplicationRow.number)
            .join(DocumentRow, DocumentRow.application_id == ApplicationRow.id)
            .where(DocumentRow.sha256 == sha256)
        )
        return self._open_numbers(query, exclude_user_id, exclude_number)

    def commit(self) -> None:
        """Commit; a conflicting concurrent change becomes ConcurrentUpdateError."""
        with _conflicts_as_concurrent_updates():
            self.session.commit()


@contextmanager
def _conflicts_as_concurrent_updates() -> Iterator[None]:
    """Turn a lost optimistic-locking or uniqueness race into ConcurrentUpdateError."""
    try:
        yield
    except (StaleDataError, IntegrityError) as exc:
        raise ConcurrentUpdateError(exc.__class__.__name__) from exc


def _to_flag(raw: dict[str, Any]) -> Flag:
    return Flag(
        code=str(raw["code"]),
        applications=tuple(raw.get("applications") or ()),
        field=raw.get("field"),
        document=raw.get("document"),
    )


def _to_application(row: ApplicationRow) -> Application:
    return Application(
        id=row.id,
        category=row.category,
        status=Status(row.status),
        answers={a.field: a.value for a in row.answers},
        documents={
            d.kind: StoredDocument(
                kind=d.kind,
                storage_key=d.storage_key,
                sha256=d.sha256,
                mime_type=d.mime_type,
                size=d.size,
                received_at=d.received_at,
                file_unique_id=d.file_unique_id,
            )
            for d in row.documents
        },
        skipped=set(row.skipped or ()),
        flags=[_to_flag(raw) for raw in row.flags or ()],
        number=row.number,
        created_at=row.created_at,
        submitted_at=row.submitted_at,
        user_id=row.user_id,
        review=review_from_data(row.review),
        redo=set(row.redo or ()),
        version=row.version,
        closed_at=row.closed_at,
        purged_at=row.purged_at,
    )


def _scrubbed(review: Review) -> Review:
    """A review without its free text (comment, notes, the draft being prepared)."""
    review.comment = None
    review.notes = []
    review.draft = None
    review.digest = {}
    return review
