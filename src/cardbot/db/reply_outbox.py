"""The reply outbox: every message the bot says, written in the transaction of the change it
follows and deleted once Telegram accepted it.

A reply carries names, ID numbers and answers, so with the secret key each one is kept sealed
(AES-256-GCM, storage/sealed.py), bound to its row. `SqlReplyOutbox` writes rows inside a unit of
work; `ReplyQueue` is the sender's side: it claims one chat's rows in order for a while (so two
senders, in one process or in several workers, never send the same row or mix up a chat's
order), deletes each row once it was sent and releases what it could not send.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cardbot.core.ports import Clock
from cardbot.core.replies import Reply, decode_reply, encode_reply
from cardbot.db.message_refs import remember
from cardbot.db.models import ReplyOutboxRow
from cardbot.storage.encrypted import DocumentCorruptError, DocumentKeyError
from cardbot.storage.sealed import TextSealer, is_sealed

log = logging.getLogger(__name__)

Named = tuple[str, int, int]  # a message's name, its chat id and message id
SEAL_PURPOSE = "reply outbox"
# A sender renews its claim while it sends (every RENEW_EVERY seconds and after each message),
# so only a sender that died leaves it to run out: then another sends the rows.
CLAIM_LEASE = timedelta(seconds=10)
RENEW_EVERY = 3.0
CLAIM_BATCH = 50
# A row that failed this often (a document gone, a chat that refuses) is dropped, logged.
MAX_ATTEMPTS = 5


# The sender's statements, built once: it runs them for every message it sends.
_ROW = ReplyOutboxRow
CLAIM_SELECT = (
    select(
        _ROW.id,
        _ROW.ref,
        _ROW.payload,
        _ROW.attempts,
        _ROW.claimed_by,
        _ROW.claimed_until,
        _ROW.update_key,
    )
    .where(_ROW.chat_id == bindparam("chat"))
    .order_by(_ROW.id)
    .limit(bindparam("limit"))
    .with_for_update()
)
MARK_CLAIMED = (
    update(_ROW)
    .where(_ROW.id.in_(bindparam("ids", expanding=True)))
    .values(
        claimed_by=bindparam("holder"),
        claimed_until=bindparam("until"),
        attempts=_ROW.attempts + 1,
    )
)
DELETE_ONE = delete(_ROW).where(_ROW.id == bindparam("row"))
DELETE_SOME = delete(_ROW).where(_ROW.id.in_(bindparam("ids", expanding=True)))
RENEW = (
    update(_ROW)
    .where(_ROW.claimed_by == bindparam("holder"))
    .values(claimed_until=bindparam("until"))
)
ADD = insert(_ROW)


def _context(ref: str, chat_id: int) -> str:
    """What a sealed reply is bound to: its row."""
    return f"reply_outbox:{ref}:{chat_id}"


class _Codec:
    """Seals (with a key) and opens the JSON of replies."""

    def __init__(self, key: bytes | None) -> None:
        self.sealer = TextSealer(key, SEAL_PURPOSE) if key is not None else None

    def seal(self, reply: Reply, ref: str) -> str:
        text = encode_reply(reply)
        if self.sealer is None:
            return text
        return self.sealer.seal(text, _context(ref, reply.chat_id))

    def open(self, payload: str, ref: str, chat_id: int) -> Reply:
        """The reply of a row; DocumentKeyError or DocumentCorruptError if it cannot be read."""
        if not is_sealed(payload):
            return decode_reply(payload)
        if self.sealer is None:
            raise DocumentKeyError("no key configured for the reply outbox")
        return decode_reply(self.sealer.open(payload, _context(ref, chat_id)))


class SqlReplyOutbox:
    """The replies of one unit of work, added to its session (kept only if it commits)."""

    def __init__(self, session: Session, clock: Clock, key: bytes | None = None) -> None:
        self.session = session
        self.clock = clock
        self._codec = _Codec(key)

    def add(self, reply: Reply, update_key: str | None) -> None:
        """Queue one message answering the delivery `update_key` (None: a background job)."""
        ref = uuid.uuid4().hex
        row = {
            "chat_id": reply.chat_id,
            "update_key": update_key,
            "ref": ref,
            "payload": self._codec.seal(reply, ref),
            "created_at": self.clock.now(),
            "attempts": 0,
        }
        # A prebuilt insert on the transaction's connection, not an ORM object to flush.
        self.session.connection().execute(ADD, row)

    def pending_for(self, update_key: str) -> list[Reply]:
        """The messages answering `update_key` that are not sent yet, in order."""
        rows = self.session.execute(
            select(ReplyOutboxRow.ref, ReplyOutboxRow.chat_id, ReplyOutboxRow.payload)
            .where(ReplyOutboxRow.update_key == update_key)
            .order_by(ReplyOutboxRow.id)
        ).all()
        found = []
        for ref, chat_id, payload in rows:
            try:
                found.append(self._codec.open(payload, ref, chat_id))
            except (DocumentKeyError, DocumentCorruptError) as exc:
                log.warning("a waiting reply cannot be read (%s)", exc.__class__.__name__)
        return found


@dataclass(frozen=True)
class PendingReply:
    """A claimed outbox row: its id, the reply to send, and whether it is background work
    (no update of someone waiting for it: a reminder, a notification from a job)."""

    id: int
    reply: Reply
    background: bool = False
    ref: str = ""  # the row's own name (e.g. to remember how far a card with documents got)


class ReplyQueue:
    """The sender's side of the outbox, on engine connections (one short transaction each)."""

    def __init__(
        self,
        engine: Engine,
        key: bytes | None = None,
        now: Callable[[], datetime] | None = None,
        lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self._engine = engine
        self._codec = _Codec(key)
        self._now = now or (lambda: datetime.now(UTC))
        self._lease = lease

    def chats_waiting(self, created_before: datetime | None = None, limit: int = 100) -> list[int]:
        """Chats with rows nobody is sending (written before `created_before`, when given)."""
        now = self._now()
        query = select(ReplyOutboxRow.chat_id).where(
            or_(ReplyOutboxRow.claimed_until.is_(None), ReplyOutboxRow.claimed_until < now)
        )
        if created_before is not None:
            query = query.where(ReplyOutboxRow.created_at <= created_before)
        query = (
            query.group_by(ReplyOutboxRow.chat_id)
            .order_by(func.min(ReplyOutboxRow.id))
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [int(chat) for chat in connection.execute(query).scalars()]

    def claim(self, chat_id: int, holder: str, limit: int = CLAIM_BATCH) -> list[PendingReply]:
        """The chat's first rows in order, now claimed by `holder`; none while another sender
        holds a claim on the chat (it sends them, and what follows, itself)."""
        with self._engine.begin() as connection:
            return self._claim(connection, chat_id, holder, limit)

    def sent_then_claim(
        self,
        row_id: int,
        holder: str,
        chat_id: int,
        named: Named | None = None,
        limit: int = CLAIM_BATCH,
    ) -> list[PendingReply]:
        """Delete the last row of a batch Telegram accepted (naming the message it became, if
        `named`) and claim the chat's next rows, in one transaction (what another update added
        meanwhile is this sender's to send)."""
        with self._engine.begin() as connection:
            connection.execute(DELETE_ONE, {"row": row_id})
            if named is not None:
                remember(connection, *named)
            return self._claim(connection, chat_id, holder, limit)

    def _claim(
        self, connection: Connection, chat_id: int, holder: str, limit: int
    ) -> list[PendingReply]:
        now = self._now()
        dropped: list[int] = []
        rows = connection.execute(CLAIM_SELECT, {"chat": chat_id, "limit": limit}).all()
        if any(
            row.claimed_by not in (None, holder)
            and row.claimed_until is not None
            and row.claimed_until > now
            for row in rows
        ):
            return []
        claimed: list[PendingReply] = []
        for row in rows:
            if row.attempts >= MAX_ATTEMPTS:
                log.error("a reply to chat %s failed %d times: dropped", chat_id, row.attempts)
                dropped.append(row.id)
                continue
            try:
                reply = self._codec.open(row.payload, row.ref, chat_id)
            except (DocumentKeyError, DocumentCorruptError, ValueError) as exc:
                log.error("a reply cannot be read (%s): dropped", exc.__class__.__name__)
                dropped.append(row.id)
                continue
            claimed.append(PendingReply(row.id, reply, row.update_key is None, row.ref))
        if dropped:
            connection.execute(DELETE_SOME, {"ids": dropped})
        if claimed:
            ids = [p.id for p in claimed]
            until = now + self._lease
            connection.execute(MARK_CLAIMED, {"ids": ids, "holder": holder, "until": until})
        return claimed

    def sent(self, row_id: int, holder: str, named: Named | None = None) -> None:
        """Delete a row Telegram accepted (naming the message it became, if `named`), and
        renew `holder`'s claim on the rest."""
        with self._engine.begin() as connection:
            connection.execute(DELETE_ONE, {"row": row_id})
            if named is not None:
                remember(connection, *named)
            connection.execute(RENEW, {"holder": holder, "until": self._now() + self._lease})

    def renew(self, holder: str) -> None:
        """Keep `holder`'s claims for another lease."""
        with self._engine.begin() as connection:
            connection.execute(RENEW, {"holder": holder, "until": self._now() + self._lease})

    def release(self, holder: str) -> None:
        """Give up `holder`'s claims: another round sends those rows."""
        with self._engine.begin() as connection:
            connection.execute(
                update(ReplyOutboxRow)
                .where(ReplyOutboxRow.claimed_by == holder)
                .values(claimed_by=None, claimed_until=None)
            )

    def discard_for(self, update_key: str) -> int:
        """Delete the rows answering `update_key` (shown another way: the terminal chat prints
        the replies as the core returns them); returns how many."""
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(ReplyOutboxRow).where(ReplyOutboxRow.update_key == update_key)
            )
            return int(result.rowcount)

    def release_all(self) -> int:
        """Give up every claim (at the start of the only process on a SQLite database: whoever
        held them is dead); returns how many rows were claimed."""
        with self._engine.begin() as connection:
            result = connection.execute(
                update(ReplyOutboxRow)
                .where(ReplyOutboxRow.claimed_by.is_not(None))
                .values(claimed_by=None, claimed_until=None)
            )
            return int(result.rowcount)

    def rekey(self, old_key: bytes) -> int:
        """Seal again under this queue's key every waiting reply sealed under `old_key` or kept
        in clear (for `cardbot documents rekey`); returns how many. Safe to run again."""
        sealer = self._codec.sealer
        if sealer is None:
            raise ValueError("the reply outbox has no key to seal with")
        old = TextSealer(old_key, SEAL_PURPOSE)
        changed = []
        with self._engine.begin() as connection:
            rows = connection.execute(
                select(
                    ReplyOutboxRow.id,
                    ReplyOutboxRow.ref,
                    ReplyOutboxRow.chat_id,
                    ReplyOutboxRow.payload,
                ).with_for_update()
            ).all()
            for row_id, ref, chat_id, payload in rows:
                context = _context(ref, chat_id)
                if is_sealed(payload):
                    try:
                        sealer.open(payload, context)
                        continue  # sealed under the new key already
                    except DocumentKeyError:
                        pass
                    try:
                        payload = old.open(payload, context)
                    except (DocumentKeyError, DocumentCorruptError) as exc:
                        log.warning("a waiting reply cannot be read (%s)", exc.__class__.__name__)
                        continue
                changed.append((row_id, sealer.seal(payload, context)))
            for row_id, sealed in changed:
                connection.execute(
                    update(ReplyOutboxRow)
                    .where(ReplyOutboxRow.id == row_id)
                    .values(payload=sealed)
                )
        return len(changed)

    @property
    def single_process(self) -> bool:
        """True on SQLite, which one process uses at a time."""
        return self._engine.dialect.name == "sqlite"

    def count(self, chat_id: int | None = None) -> int:
        """How many rows wait (in one chat, when given)."""
        query = select(func.count()).select_from(ReplyOutboxRow)
        if chat_id is not None:
            query = query.where(ReplyOutboxRow.chat_id == chat_id)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
