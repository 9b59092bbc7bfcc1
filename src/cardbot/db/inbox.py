"""Fetched Telegram updates kept in the database until handled, so they can be confirmed early.

An update carries names and message texts, so with the secret key each one is kept sealed
(AES-256-GCM, storage/sealed.py), bound to its bot and update id; only the sender's id is kept
in clear, to hand one user's updates over in order. Rows written before sealing (plain JSON)
are still read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, exists, select
from sqlalchemy import update as update_rows

from cardbot.db.models import InboxRow
from cardbot.db.session import ignoring_duplicates
from cardbot.storage.encrypted import DocumentCorruptError, DocumentKeyError
from cardbot.storage.sealed import TextSealer, is_sealed

log = logging.getLogger(__name__)

SEAL_PURPOSE = "telegram inbox"

# Built once: on the per-update path, building a statement costs more than running it.
REMOVE = delete(InboxRow).where(
    InboxRow.bot_id == bindparam("bot"), InboxRow.update_id == bindparam("update")
)
PENDING = (
    select(InboxRow.update_id, InboxRow.data)
    .where(InboxRow.bot_id == bindparam("bot"))
    .order_by(InboxRow.update_id)
)
EARLIER_OF_USER = (
    select(InboxRow.update_id, InboxRow.data)
    .where(
        InboxRow.bot_id == bindparam("bot"),
        InboxRow.user_id == bindparam("user"),
        InboxRow.update_id < bindparam("before"),
    )
    .order_by(InboxRow.update_id)
)
RECEIVED_BEFORE = (
    select(InboxRow.update_id, InboxRow.data)
    .where(InboxRow.bot_id == bindparam("bot"), InboxRow.received_at < bindparam("cutoff"))
    .order_by(InboxRow.update_id)
    .limit(bindparam("limit"))
)
HOLDS = select(
    exists().where(InboxRow.bot_id == bindparam("bot"), InboxRow.update_id == bindparam("update"))
)
RESEAL = (
    update_rows(InboxRow)
    .where(InboxRow.bot_id == bindparam("bot"), InboxRow.update_id == bindparam("update"))
    .values(data=bindparam("sealed"))
)


class SqlInbox:
    """Updates of one bot, as JSON text, from being fetched until being handled.

    With `key` (the secret key of the documents) each update is kept sealed; without it, as
    plain JSON (as before sealing existed). It works on engine connections, not ORM sessions:
    a session's set-up cost more than the statements it ran, once per update.
    """

    def __init__(self, engine: Engine, key: bytes | None = None) -> None:
        self._engine = engine
        self._insert = ignoring_duplicates(engine.dialect.name, InboxRow)
        self._sealer = TextSealer(key, SEAL_PURPOSE) if key is not None else None

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
                "data": self._seal(bot_id, update_id, data),
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
        """The updates kept and not yet handled, oldest first (one that cannot be read under
        the configured key is left kept, with a warning)."""
        with self._engine.connect() as connection:
            rows = connection.execute(PENDING, {"bot": bot_id}).all()
        return self._readable(bot_id, rows)

    def earlier_of_user(self, bot_id: int, user_id: int, before: int) -> list[str]:
        """The user's updates kept with a smaller update id (not yet handled), oldest first."""
        with self._engine.connect() as connection:
            params = {"bot": bot_id, "user": user_id, "before": before}
            rows = connection.execute(EARLIER_OF_USER, params).all()
        return self._readable(bot_id, rows)

    def received_before(self, bot_id: int, cutoff: datetime, limit: int = 100) -> list[str]:
        """The updates kept since before `cutoff` (not yet handled), oldest first: with several
        workers, those a worker that died after acknowledging them left behind."""
        with self._engine.connect() as connection:
            params = {"bot": bot_id, "cutoff": cutoff, "limit": limit}
            rows = connection.execute(RECEIVED_BEFORE, params).all()
        return self._readable(bot_id, rows)

    def holds(self, bot_id: int, update_id: int) -> bool:
        """True while the update is kept (not yet handled by any worker)."""
        with self._engine.connect() as connection:
            return bool(connection.execute(HOLDS, {"bot": bot_id, "update": update_id}).scalar())

    def remove(self, bot_id: int, update_id: int) -> None:
        """Forget an update once it was handled."""
        with self._engine.begin() as connection:
            connection.execute(REMOVE, {"bot": bot_id, "update": update_id})

    def rekey(self, old_key: bytes) -> int:
        """Seal again under this inbox's key every kept update sealed under `old_key` or kept
        as plain JSON (for `cardbot documents rekey`); returns how many. Safe to run again."""
        if self._sealer is None:
            raise ValueError("the inbox has no key to seal with")
        old = TextSealer(old_key, SEAL_PURPOSE)
        changed = []
        with self._engine.begin() as connection:
            rows = connection.execute(select(InboxRow.bot_id, InboxRow.update_id, InboxRow.data))
            for bot_id, update_id, data in rows.all():
                context = _context(bot_id, update_id)
                if is_sealed(data):
                    try:
                        self._sealer.open(data, context)
                        continue  # sealed under the new key already
                    except DocumentKeyError:
                        pass
                    try:
                        data = old.open(data, context)
                    except (DocumentKeyError, DocumentCorruptError) as exc:
                        log.warning("kept update %s cannot be read (%s)", update_id, exc)
                        continue
                sealed = self._sealer.seal(data, context)
                changed.append({"bot": bot_id, "update": update_id, "sealed": sealed})
            if changed:
                connection.execute(RESEAL, changed)
        return len(changed)

    def _seal(self, bot_id: int, update_id: int, data: str) -> str:
        if self._sealer is None:
            return data
        return self._sealer.seal(data, _context(bot_id, update_id))

    def _readable(self, bot_id: int, rows: Iterable[Any]) -> list[str]:
        """The JSON of each kept row that can be read, in order; the others are logged."""
        found = []
        for update_id, data in rows:
            if not is_sealed(data):
                found.append(data)  # kept by a version before sealing
                continue
            try:
                if self._sealer is None:
                    raise DocumentKeyError("no key configured for the inbox")
                found.append(self._sealer.open(data, _context(bot_id, update_id)))
            except (DocumentKeyError, DocumentCorruptError) as exc:
                log.warning(
                    "kept update %s cannot be read (%s); it stays in the inbox: check "
                    "CARDBOT_SECRET_KEY (`cardbot documents rekey` seals kept updates again)",
                    update_id,
                    exc,
                )
        return found


def _context(bot_id: int, update_id: int) -> str:
    """What a sealed update is bound to: its row."""
    return f"telegram_inbox:{bot_id}:{update_id}"


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
