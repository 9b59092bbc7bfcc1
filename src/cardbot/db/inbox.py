"""Fetched Telegram updates kept in the database until handled, so they can be confirmed early."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from cardbot.db.models import InboxRow
from cardbot.db.session import insert_ignoring_duplicates


class SqlInbox:
    """Updates of one bot, as JSON text, from being fetched until being handled."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def store(self, bot_id: int, updates: dict[int, str]) -> None:
        """Keep these updates (update id → JSON); one already kept is left as it is."""
        if not updates:
            return
        with self._sessions() as session:
            rows = [
                {
                    "bot_id": bot_id,
                    "update_id": update_id,
                    "data": data,
                    "received_at": datetime.now(UTC),
                }
                for update_id, data in updates.items()
            ]
            session.execute(insert_ignoring_duplicates(session, InboxRow, rows))
            session.commit()

    def pending(self, bot_id: int) -> list[str]:
        """The updates kept and not yet handled, oldest first."""
        with self._sessions() as session:
            return list(
                session.execute(
                    select(InboxRow.data)
                    .where(InboxRow.bot_id == bot_id)
                    .order_by(InboxRow.update_id)
                ).scalars()
            )

    def remove(self, bot_id: int, update_id: int) -> None:
        """Forget an update once it was handled."""
        with self._sessions() as session:
            session.execute(
                delete(InboxRow).where(InboxRow.bot_id == bot_id, InboxRow.update_id == update_id)
            )
            session.commit()
