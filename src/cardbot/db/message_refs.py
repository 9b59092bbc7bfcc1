"""Which Telegram message each named message became, so it can be edited in place later.

Each call is one statement built once, on an engine connection: the sender calls these for
most messages it sends, and an ORM session's set-up cost more than the statement.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select

from cardbot.db.models import MessageRefRow
from cardbot.db.session import dialect_insert

REF = MessageRefRow
GET = select(REF.chat_id, REF.message_id).where(REF.tag == bindparam("tag"))
TAKE = (
    delete(REF)
    .where(REF.tag == bindparam("tag"))
    .returning(REF.chat_id, REF.message_id)
    .execution_options(synchronize_session=False)
)


@functools.cache
def _put(dialect: str) -> Any:
    """INSERT … ON CONFLICT (tag) DO UPDATE: the message now named `tag`, built once."""
    insert = dialect_insert(dialect, REF)
    return insert.on_conflict_do_update(
        index_elements=[REF.tag],
        set_={"chat_id": insert.excluded.chat_id, "message_id": insert.excluded.message_id},
    )


def remember(connection: Connection, tag: str, chat_id: int, message_id: int) -> None:
    """Name the message `tag` within the connection's transaction, replacing an earlier one."""
    put = _put(connection.dialect.name)
    connection.execute(put, {"tag": tag, "chat_id": chat_id, "message_id": message_id})


class SqlMessageRefs:
    """Named messages (e.g. review cards) and their chat and message ids."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, tag: str) -> tuple[int, int] | None:
        """The (chat id, message id) remembered under `tag`, if any."""
        with self._engine.connect() as connection:
            row = connection.execute(GET, {"tag": tag}).first()
        return (int(row[0]), int(row[1])) if row is not None else None

    def put(self, tag: str, chat_id: int, message_id: int) -> None:
        """Remember the message under `tag`, replacing an earlier one."""
        with self._engine.begin() as connection:
            remember(connection, tag, chat_id, message_id)

    def take(self, tag: str) -> tuple[int, int] | None:
        """The (chat id, message id) remembered under `tag`, forgotten as it is returned."""
        with self._engine.begin() as connection:
            row = connection.execute(TAKE, {"tag": tag}).first()
        return (int(row[0]), int(row[1])) if row is not None else None
