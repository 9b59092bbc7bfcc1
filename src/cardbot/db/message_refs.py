"""Which Telegram message each named message became, so it can be edited in place later."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from cardbot.db.models import MessageRefRow


class SqlMessageRefs:
    """Named messages (e.g. review cards) and their chat and message ids."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, tag: str) -> tuple[int, int] | None:
        """The (chat id, message id) remembered under `tag`, if any."""
        with self._sessions() as session:
            row = session.get(MessageRefRow, tag)
            return (row.chat_id, row.message_id) if row is not None else None

    def put(self, tag: str, chat_id: int, message_id: int) -> None:
        """Remember the message under `tag`, replacing an earlier one."""
        with self._sessions() as session:
            session.merge(MessageRefRow(tag=tag, chat_id=chat_id, message_id=message_id))
            session.commit()

    def take(self, tag: str) -> tuple[int, int] | None:
        """The (chat id, message id) remembered under `tag`, forgotten as it is returned."""
        with self._sessions() as session:
            row = session.get(MessageRefRow, tag)
            if row is None:
                return None
            ref = (row.chat_id, row.message_id)
            session.delete(row)
            session.commit()
            return ref
