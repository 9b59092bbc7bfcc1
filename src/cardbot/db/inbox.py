"""Fetched Telegram updates kept in the database until handled, so they can be confirmed early."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from cardbot.db.models import InboxRow
from cardbot.db.session import ignoring_duplicates

# Built once: on the per-update path, building a statement costs more than running it.
REMOVE = delete(InboxRow).where(
    InboxRow.bot_id == bindparam("bot"), InboxRow.update_id == bindparam("update")
)


class SqlInbox:
    """Updates of one bot, as JSON text, from being fetched until being handled."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def store(self, bot_id: int, updates: dict[int, str], forget: Collection[int] = ()) -> None:
        """Keep these updates (update id → JSON), one already kept left as it is, and forget
        the handled ones `forget`, in one transaction."""
        if not updates and not forget:
            return
        with self._sessions() as session:
            connection = session.connection()
            if forget:
                connection.execute(REMOVE, [{"bot": bot_id, "update": u} for u in forget])
            rows = [
                {
                    "bot_id": bot_id,
                    "update_id": update_id,
                    "data": data,
                    "received_at": datetime.now(UTC),
                    "user_id": user_of(data),
                }
                for update_id, data in updates.items()
            ]
            if rows:
                connection.execute(ignoring_duplicates(connection.dialect.name, InboxRow), rows)
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

    def earlier_of_user(self, bot_id: int, user_id: int, before: int) -> list[str]:
        """The user's updates kept with a smaller update id (not yet handled), oldest first."""
        with self._sessions() as session:
            return list(
                session.execute(
                    select(InboxRow.data)
                    .where(
                        InboxRow.bot_id == bot_id,
                        InboxRow.user_id == user_id,
                        InboxRow.update_id < before,
                    )
                    .order_by(InboxRow.update_id)
                ).scalars()
            )

    def holds(self, bot_id: int, update_id: int) -> bool:
        """True while the update is kept (not yet handled by any worker)."""
        with self._sessions() as session:
            query = exists().where(InboxRow.bot_id == bot_id, InboxRow.update_id == update_id)
            return bool(session.execute(select(query)).scalar())

    def remove(self, bot_id: int, update_id: int) -> None:
        """Forget an update once it was handled."""
        with self._sessions() as session:
            session.connection().execute(REMOVE, {"bot": bot_id, "update": update_id})
            session.commit()


def user_of(data: str) -> int | None:
    """The id of the person who sent an update (as Bot API JSON), if it has one."""
    try:
        update: Any = json.loads(data)
    except ValueError:
        return None
    for kind in ("message", "edited_message", "callback_query"):
        sender = (update.get(kind) or {}).get("from") if isinstance(update, dict) else None
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None
