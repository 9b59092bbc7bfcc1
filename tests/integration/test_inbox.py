"""The update inbox on SQLite and PostgreSQL: kept until handled, handled ones forgotten in
the same transaction as the next batch."""

from __future__ import annotations

import json

from cardbot.db.inbox import SqlInbox
from cardbot.db.migrate import upgrade
from cardbot.db.session import make_engine

BOT = 123456


def update(update_id: int, user_id: int) -> str:
    message = {"message_id": 1, "date": 0, "chat": {"id": user_id, "type": "private"}}
    sender = {"id": user_id, "is_bot": False, "first_name": "A"}
    return json.dumps({"update_id": update_id, "message": message | {"from": sender}})


def kept_ids(inbox: SqlInbox) -> list[int]:
    return [json.loads(data)["update_id"] for data in inbox.pending(BOT)]


def test_handled_updates_leave_with_the_next_batch_and_nothing_else_does(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    inbox = SqlInbox(engine)
    inbox.store(BOT, {3: update(3, 7), 1: update(1, 7), 2: update(2, 8)})
    inbox.store(BOT, {2: update(2, 8)})  # delivered again: kept once
    assert kept_ids(inbox) == [1, 2, 3]
    inbox.store(BOT, {4: update(4, 7)}, forget={1, 2})
    assert kept_ids(inbox) == [3, 4]
    assert [json.loads(d)["update_id"] for d in inbox.earlier_of_user(BOT, 7, 4)] == [3]
    inbox.store(BOT, {}, forget={3})  # nothing new: only forgetting
    inbox.remove(BOT, 4)
    assert kept_ids(inbox) == [] and not inbox.holds(BOT, 4)
    engine.dispose()
