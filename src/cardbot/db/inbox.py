"""Fetched Telegram updates kept in the database until handled, so they can be confirmed early."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, exists, select

from cardbot.db.models import InboxRow
from cardbot.db.session import ignoring_duplicates

# Built once: on the per-update path, building a statement costs more than running it.
REMOVE = delete(InboxRow).where(
    InboxRow.bot_id == bindparam("bot"), InboxRow.update_id == bindparam("update")
)
PENDING = (
    select(InboxRow.data).where(InboxRow.bot_id == bindparam("bot")).order_by(InboxRow.update_id)
)
EARLIER_OF_USER = (
    select(InboxRow.data)
    .where(
        InboxRow.bot_id == bindparam("bot"),
        InboxRow.user_id == bindparam("user"),
        InboxRow.update_id < bindparam("before"),
    )
    .order_by(InboxRow.update_id)
)
HOLDS = select(
    exists().where(InboxRow.bot_id == bindparam("bot"), InboxRow.update_id == bindparam("update"))
)


class SqlInbox:
    """Updates of one bot, as JSON text, from being fetched until being handled.

    It works on engine connections, not ORM sessions: a session's set-up cost more than the
    statements it ran, once per update.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = ignoring_duplicates(engine.dialect.name, InboxRow)

    def store(self, bot_id: int, updates: dict[int, str], forget: Collection[int] = ()) -> None:
        """Keep these updates (update id → JSON), one already kept left as it is, and forget
        the handled ones `forget`, in one transaction."""
        if not updates and not forget:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "bot_id": bot_id,
                "update_id": update_id,
                "data": data,
                "received_at": now,
                "user_id": user_of(data),
            }
            for update_id, data in updates.items()
        ]
        with self._engine.begin() as connection:
            if forget:
                connection.execute(REMOVE, [{"bot": bot_id, "update": u} for u in forget])
            if rows:
                connection.execute(self._insert, rows)

    def pending(self, bot_id: int) -> list[str]:
        """The updates kept and not yet handled, oldest first."""
        with self._engine.connect() as connection:
            return list(connection.execute(PENDING, {"bot": bot_id}).scalars())

    def earlier_of_user(self, bot_id: int, user_id: int, before: int) -> list[str]:
        """The user's updates kept with a smaller update id (not yet handled), oldest first."""
        with self._engine.connect() as connection:
            params = {"bot": bot_id, "user": user_id, "before": before}
            return list(connection.execute(EARLIER_OF_USER, params).scalars())

    def holds(self, bot_id: int, update_id: int) -> bool:
        """True while the update is kept (not yet handled by any worker)."""
        with self._engine.connect() as connection:
            return bool(connection.execute(HOLDS, {"bot": bot_id, "update": update_id}).scalar())

    def remove(self, bot_id: int, update_id: int) -> None:
        """Forget an update once it was handled."""
        with self._engine.begin() as connection:
            connection.execute(REMOVE, {"bot": bot_id, "update": update_id})


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
