"""Typed SQLAlchemy models for applicants, applications and their documents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApplicantRow(Base):
    """One person's conversation: language, state, and their current application."""

    __tablename__ = "applicants"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(64))
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    slot_index: Mapped[int] = mapped_column(Integer, default=0)
    album_group: Mapped[str | None] = mapped_column(String(64))
    album_step: Mapped[str | None] = mapped_column(String(64))
    pending_action: Mapped[str | None] = mapped_column(String(32))
    pending_text: Mapped[str | None] = mapped_column(Text)
    staff_action: Mapped[str | None] = mapped_column(String(64))
    staff_draft: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ApplicationRow(Base):
    """An application: category, status, number once submitted."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    category: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    skipped: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    review: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    redo: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    # The review queue and reminders read open applications, oldest first, by this index.
    __table_args__ = (Index("ix_applications_status_submitted", "status", "submitted_at", "id"),)

    answers: Mapped[list[AnswerRow]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    documents: Mapped[list[DocumentRow]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class AnswerRow(Base):
    """One typed or chosen answer of an application."""

    __tablename__ = "application_answers"
    __table_args__ = (
        UniqueConstraint("application_id", "field"),
        Index("ix_application_answers_field_value", "field", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)


class DocumentRow(Base):
    """Metadata of one stored document; the bytes live in the document store."""

    __tablename__ = "application_documents"
    # The report reads the first and last receipt of each application from the index alone.
    __table_args__ = (
        UniqueConstraint("application_id", "kind"),
        Index("ix_application_documents_received", "application_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A photo's 64-bit perceptual hash in hex (None for PDFs and uploads older than 0016).
    phash: Mapped[str | None] = mapped_column(String(16))


class DocumentBlobRow(Base):
    """One document's encrypted bytes, for the database document store (CARDBOT_DOCUMENT_STORE=
    database): the same format the folder store writes to a file. `size` is the plaintext's."""

    __tablename__ = "document_blobs"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ProcessedUpdateRow(Base):
    """A delivery that was handled, so a repeat of it is applied once."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NumberCounterRow(Base):
    """The last application number given out in one year."""

    __tablename__ = "application_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class FaqRevisionRow(Base):
    """One version of an FAQ entry (the latest per entry is the one in use)."""

    __tablename__ = "faq_revisions"
    __table_args__ = (UniqueConstraint("entry_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UnansweredQuestionRow(Base):
    """A question the FAQ could not answer, counted each time it is asked."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (UniqueConstraint("question", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(8))
    count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    first_asked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_asked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RoleRow(Base):
    """A role (staff, reviewer) granted to a Telegram user."""

    __tablename__ = "roles"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SupportTicketRow(Base):
    """A question an applicant handed to the support group."""

    __tablename__ = "support_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(String(1000))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboxRow(Base):
    """A Telegram update stored before it is confirmed to Telegram, until it is handled."""

    __tablename__ = "telegram_inbox"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_telegram_inbox_user", "bot_id", "user_id", "update_id"),)


class SendPaceRow(Base):
    """One sending limit's scope (the bot, a chat): its state (a due time, or recent stamps) in
    seconds of the database's clock, and from when it holds nothing (db/send_ledger.py); used
    with several workers on PostgreSQL."""

    __tablename__ = "send_pace"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    idle_from: Mapped[float] = mapped_column(Double)


class TroubleTallyRow(Base):
    """How often, on one day, pre-screening refused something (kind "problem": key the
    problem code, detail the step) or the FAQ was asked (kind "faq": key the entry answered,
    empty when none was; detail typed, chosen or unanswered): counts only, for the report."""

    __tablename__ = "trouble_tally"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    detail: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class AuditEventRow(Base):
    """One event in an application's history; rows are only ever added."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), index=True)
    event: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MessageRefRow(Base):
    """Which Telegram message a named message (e.g. an application's review card) became."""

    __tablename__ = "message_refs"

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)


class WebhookOutboxRow(Base):
    """A status change waiting to be delivered to the back office."""

    __tablename__ = "webhook_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))


class JobLeaseRow(Base):
    """Which worker runs a background job (reminders, purges) until when."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReplyOutboxRow(Base):
    """A message the bot has to send, written with the change it follows, deleted once sent.

    `payload` is the neutral reply as JSON, sealed at rest (it carries personal data); a row is
    claimed by one sender (`claimed_by` until `claimed_until`) while it is being sent."""

    __tablename__ = "reply_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    update_key: Mapped[str | None] = mapped_column(String(128))
    ref: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_reply_outbox_chat", "chat_id", "id"),
        Index("ix_reply_outbox_update_key", "update_key"),
    )
