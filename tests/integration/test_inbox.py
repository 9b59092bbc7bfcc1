"""The update inbox on SQLite and PostgreSQL: kept until handled, handled ones forgotten in
the same transaction as the next batch; with the secret key, kept sealed: the names and texts
of an update are not readable in the database, and not left on disk once it is handled."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from cardbot.db.inbox import SqlInbox
from cardbot.db.migrate import upgrade
from cardbot.db.models import InboxRow
from cardbot.db.session import make_engine
from cardbot.storage.keys import decode_key, generate_key

BOT = 123456
KEY = decode_key(generate_key(), "test")
# A name and a text no other test uses, to look for in the database.
SENDER = "Zhuge Wolongxiansheng"
SAID = "my secret passphrase is plumblossom-4471"
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)


def update_json(update_id: int, user_id: int, said: str = "hello") -> str:
    message = {"message_id": 1, "date": 0, "chat": {"id": user_id, "type": "private"}}
    sender = {"id": user_id, "is_bot": False, "first_name": SENDER}
    return json.dumps(
        {"update_id": update_id, "message": message | {"from": sender, "text": said}}
    )


def kept_ids(inbox: SqlInbox) -> list[int]:
    return [json.loads(data)["update_id"] for data in inbox.pending(BOT)]


def stored_column(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(InboxRow.data)).scalars())


@pytest.mark.parametrize("key", [KEY, None], ids=["sealed", "plain"])
def test_handled_updates_leave_with_the_next_batch_and_nothing_else_does(
    database_url: str, key: bytes | None
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    inbox = SqlInbox(engine, key)
    inbox.store(BOT, {3: update_json(3, 7), 1: update_json(1, 7), 2: update_json(2, 8)})
    inbox.store(BOT, {2: update_json(2, 8)})  # delivered again: kept once
    assert kept_ids(inbox) == [1, 2, 3]
    inbox.store(BOT, {4: update_json(4, 7)}, forget={1, 2})
    assert kept_ids(inbox) == [3, 4]
    assert [json.loads(d)["update_id"] for d in inbox.earlier_of_user(BOT, 7, 4)] == [3]
    inbox.store(BOT, {}, forget={3})  # nothing new: only forgetting
    inbox.remove(BOT, 4)
    assert kept_ids(inbox) == [] and not inbox.holds(BOT, 4)
    engine.dispose()


def test_a_kept_update_is_sealed_in_the_database_and_handled_after_a_restart(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sent = update_json(10, 7, SAID)
    SqlInbox(engine, KEY).store(BOT, {10: sent})
    (column,) = stored_column(engine)
    engine.dispose()  # the process is killed with the update kept

    assert SENDER not in column and SAID not in column and "plumblossom" not in column
    engine = make_engine(database_url)
    restarted = SqlInbox(engine, KEY)
    assert restarted.pending(BOT) == [sent]
    assert restarted.earlier_of_user(BOT, 7, 11) == [sent]
    assert restarted.holds(BOT, 10)
    restarted.remove(BOT, 10)
    assert restarted.pending(BOT) == []
    engine.dispose()


def test_an_update_is_in_no_byte_of_the_sqlite_files_while_kept_or_once_handled(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cardbot.db'}"
    upgrade(url)
    engine = make_engine(url)
    inbox = SqlInbox(engine, KEY)
    inbox.store(BOT, {20 + i: update_json(20 + i, 7, f"{SAID} #{i}") for i in range(5)})

    def on_disk() -> list[str]:
        found = []
        for path in sorted(p for p in tmp_path.iterdir() if p.is_file()):
            content = path.read_bytes()
            for value in (SENDER, SAID):
                for encoding in ("utf-8", "utf-16-le"):
                    if value.encode(encoding) in content:
                        found.append(f"{value} ({encoding}) in {path.name}")
        return found

    assert len(inbox.pending(BOT)) == 5
    assert on_disk() == []
    inbox.store(BOT, {}, forget={20, 21})
    for update_id in (22, 23, 24):
        inbox.remove(BOT, update_id)
    assert inbox.pending(BOT) == []
    engine.dispose()
    assert on_disk() == []


def test_updates_kept_as_plain_json_by_an_earlier_version_are_still_handled(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    legacy = update_json(30, 7)
    with engine.begin() as connection:
        connection.execute(
            insert(InboxRow).values(
                bot_id=BOT, update_id=30, data=legacy, received_at=RECEIVED, user_id=7
            )
        )
    inbox = SqlInbox(engine, KEY)
    inbox.store(BOT, {31: update_json(31, 7)})

    assert kept_ids(inbox) == [30, 31]
    assert inbox.earlier_of_user(BOT, 7, 31) == [legacy]
    assert inbox.rekey(KEY) == 1  # `cardbot documents rekey` seals it too
    assert SqlInbox(engine, KEY).pending(BOT)[0] == legacy
    assert not any(value.startswith("{") for value in stored_column(engine))
    engine.dispose()


def test_rekey_seals_kept_updates_again_under_the_new_key_and_can_run_again(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    new_key = decode_key(generate_key(), "test")
    sent = update_json(40, 7, SAID)
    SqlInbox(engine, KEY).store(BOT, {40: sent})
    renewed = SqlInbox(engine, new_key)

    assert renewed.rekey(KEY) == 1
    assert renewed.rekey(KEY) == 0
    assert renewed.pending(BOT) == [sent]
    engine.dispose()


def test_an_update_sealed_under_another_key_or_moved_to_another_row_is_not_handed_out(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    SqlInbox(engine, decode_key(generate_key(), "test")).store(BOT, {50: update_json(50, 7)})
    inbox = SqlInbox(engine, KEY)
    inbox.store(BOT, {51: update_json(51, 8), 52: update_json(52, 8, SAID)})
    with engine.begin() as connection:  # row 52's sealed update copied over row 51's
        sealed = connection.execute(select(InboxRow.data).where(InboxRow.update_id == 52))
        moved = sealed.scalar_one()
        connection.execute(update(InboxRow).where(InboxRow.update_id == 51).values(data=moved))

    with caplog.at_level(logging.WARNING, logger="cardbot.db.inbox"):
        assert kept_ids(inbox) == [52]

    assert [r.getMessage().split(" cannot")[0] for r in caplog.records] == [
        "kept update 50",
        "kept update 51",
    ]
    assert inbox.holds(BOT, 50) and inbox.holds(BOT, 51)  # kept, for the right key
    engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_kept_update_is_unreadable_in_its_column(postgres_database: str) -> None:
    upgrade(postgres_database)
    engine = make_engine(postgres_database)
    inbox = SqlInbox(engine, KEY)
    inbox.store(BOT, {60: update_json(60, 7, SAID)})

    with engine.connect() as connection:
        found = connection.execute(
            select(InboxRow.update_id).where(
                InboxRow.data.contains(SENDER) | InboxRow.data.contains("plumblossom")
            )
        ).all()
        as_bytes = connection.exec_driver_sql(
            "SELECT convert_to(data, 'UTF8') FROM telegram_inbox"
        ).scalar_one()
    assert found == []
    assert SAID.encode() not in bytes(as_bytes) and SENDER.encode() not in bytes(as_bytes)
    assert json.loads(inbox.pending(BOT)[0])["message"]["text"] == SAID
    engine.dispose()


def test_updates_kept_since_before_a_moment_are_found_for_a_surviving_worker(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    inbox = SqlInbox(engine, KEY)
    inbox.store(BOT, {5: update_json(5, 7), 6: update_json(6, 8)})
    with engine.begin() as connection:  # update 5 was kept a minute before update 6
        connection.execute(
            update(InboxRow).where(InboxRow.update_id == 5).values(received_at=RECEIVED)
        )
        connection.execute(
            update(InboxRow)
            .where(InboxRow.update_id == 6)
            .values(received_at=RECEIVED + timedelta(minutes=1))
        )

    def found(cutoff: datetime) -> list[int]:
        return [json.loads(d)["update_id"] for d in inbox.received_before(BOT, cutoff)]

    assert found(RECEIVED) == []
    assert found(RECEIVED + timedelta(seconds=30)) == [5]
    assert found(RECEIVED + timedelta(minutes=2)) == [5, 6]
    inbox.remove(BOT, 5)
    assert found(RECEIVED + timedelta(minutes=2)) == [6]
    engine.dispose()
