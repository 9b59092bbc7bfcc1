"""SQLAlchemy repositories for the FAQ, roles and support tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cardbot.content.faq_files import entry_from_data, entry_to_data
from cardbot.core.faq import FaqEntry
from cardbot.core.model import FaqRevision, SupportTicket, UnansweredQuestion
from cardbot.core.ports import Clock
from cardbot.db.models import FaqRevisionRow, RoleRow, SupportTicketRow, UnansweredQuestionRow

MAX_QUESTION = 300
MAX_TICKET_QUESTION = 1000


class SqlFaqRepository:
    """FAQ revisions and unanswered questions in the database."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def version(self) -> int:
        """The newest revision id: it changes whenever any entry changes."""
        return int(self.session.execute(select(func.max(FaqRevisionRow.id))).scalar() or 0)

    def current_entries(self) -> list[FaqEntry]:
        """The latest revision of every entry, in id order."""
        latest = (
            select(FaqRevisionRow.entry_id, func.max(FaqRevisionRow.revision).label("revision"))
            .group_by(FaqRevisionRow.entry_id)
            .subquery()
        )
        rows = self.session.execute(
            select(FaqRevisionRow)
            .join(
                latest,
                (FaqRevisionRow.entry_id == latest.c.entry_id)
                & (FaqRevisionRow.revision == latest.c.revision),
            )
            .order_by(FaqRevisionRow.entry_id)
        ).scalars()
        return [entry_from_data(row.data, f"faq revision {row.id}") for row in rows]

    def save_entry(self, entry: FaqEntry, author_id: int | None, note: str) -> int:
        """Store a new revision of the entry; returns its revision number."""
        last = self.session.execute(
            select(func.max(FaqRevisionRow.revision)).where(FaqRevisionRow.entry_id == entry.id)
        ).scalar()
        revision = int(last or 0) + 1
        self.session.add(
            FaqRevisionRow(
                entry_id=entry.id,
                revision=revision,
                data=entry_to_data(entry),
                author_id=author_id,
                note=note[:200],
                created_at=self.clock.now(),
            )
        )
        self.session.flush()
        return revision

    def history(self, entry_id: str) -> list[FaqRevision]:
        """Every revision of the entry, oldest first."""
        rows = self.session.execute(
            select(FaqRevisionRow)
            .where(FaqRevisionRow.entry_id == entry_id)
            .order_by(FaqRevisionRow.revision)
        ).scalars()
        return [
            FaqRevision(
                entry=entry_from_data(row.data, f"faq revision {row.id}"),
                revision=row.revision,
                author_id=row.author_id,
                note=row.note,
                created_at=row.created_at,
            )
            for row in rows
        ]

    def record_unanswered(self, question: str, language: str) -> None:
        """Count one more asking of the question."""
        question = question[:MAX_QUESTION]
        row = self.session.execute(
            select(UnansweredQuestionRow).where(
                UnansweredQuestionRow.question == question,
                UnansweredQuestionRow.language == language,
            )
        ).scalar_one_or_none()
        now = self.clock.now()
        if row is None:
            self.session.add(
                UnansweredQuestionRow(
                    question=question,
                    language=language,
                    count=1,
                    status="open",
                    first_asked_at=now,
                    last_asked_at=now,
                )
            )
        else:
            row.count += 1
            row.last_asked_at = now
            row.status = "open" if row.status == "dismissed" else row.status

    def unanswered(self, limit: int) -> list[UnansweredQuestion]:
        """The open unanswered questions, most asked first."""
        rows = self.session.execute(
            select(UnansweredQuestionRow)
            .where(UnansweredQuestionRow.status == "open")
            .order_by(UnansweredQuestionRow.count.desc(), UnansweredQuestionRow.id)
            .limit(limit)
        ).scalars()
        return [_unanswered(row) for row in rows]

    def close_unanswered(self, question_id: int, status: str) -> UnansweredQuestion | None:
        """Mark an open question attached or dismissed."""
        row = self.session.get(UnansweredQuestionRow, question_id)
        if row is None or row.status != "open":
            return None
        row.status = status
        return _unanswered(row)


def _unanswered(row: UnansweredQuestionRow) -> UnansweredQuestion:
    return UnansweredQuestion(row.id, row.question, row.language, row.count, row.status)


class SqlRoleRepository:
    """Granted roles in the database."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def roles_of(self, user_id: int) -> set[str]:
        """The roles granted to the user."""
        return set(
            self.session.execute(select(RoleRow.role).where(RoleRow.user_id == user_id)).scalars()
        )

    def grant(self, user_id: int, role: str, granted_by: int | None) -> bool:
        """Grant a role; False if the user had it already."""
        if self.session.get(RoleRow, (user_id, role)) is not None:
            return False
        self.session.add(
            RoleRow(user_id=user_id, role=role, granted_by=granted_by, granted_at=self.clock.now())
        )
        self.session.flush()
        return True

    def revoke(self, user_id: int, role: str) -> bool:
        """Revoke a role; False if the user did not have it."""
        result = self.session.execute(
            delete(RoleRow).where(RoleRow.user_id == user_id, RoleRow.role == role)
        )
        return bool(getattr(result, "rowcount", 0))

    def all_roles(self) -> list[tuple[int, str]]:
        """Every (user id, role) granted."""
        rows = self.session.execute(
            select(RoleRow.user_id, RoleRow.role).order_by(RoleRow.user_id, RoleRow.role)
        )
        return [(int(user_id), str(role)) for user_id, role in rows]


class SqlSupportRepository:
    """Support tickets in the database."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def open_ticket(self, user_id: int, chat_id: int, question: str, language: str) -> int:
        """Record a question for a person; returns the ticket number."""
        row = SupportTicketRow(
            user_id=user_id,
            chat_id=chat_id,
            question=question[:MAX_TICKET_QUESTION],
            language=language,
            status="sent",
            created_at=self.clock.now(),
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def count_recent(self, user_id: int, since: datetime) -> int:
        """How many questions the user handed to a person since `since`."""
        return int(
            self.session.execute(
                select(func.count())
                .select_from(SupportTicketRow)
                .where(SupportTicketRow.user_id == user_id, SupportTicketRow.created_at >= since)
            ).scalar()
            or 0
        )

    def ticket(self, ticket_id: int) -> SupportTicket | None:
        """The ticket, if it exists."""
        row = self.session.get(SupportTicketRow, ticket_id)
        if row is None:
            return None
        return SupportTicket(
            row.id, row.user_id, row.chat_id, row.question, row.language, row.status
        )

    def update_ticket(self, ticket: SupportTicket) -> None:
        """Store the ticket's new status."""
        row = self.session.get(SupportTicketRow, ticket.id)
        if row is not None:
            row.status = ticket.status
