"""The daily counts of applicants' trouble (pre-screening refusals, FAQ questions), added to
in the transaction of the update that caused them, so a repeated delivery never counts twice."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cardbot.core.ports import Tally
from cardbot.db.models import TroubleTallyRow
from cardbot.db.session import UPSERT_DIALECTS, dialect_insert


@functools.cache
def _adding(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE SET count = count + the new count, built once."""
    insert = dialect_insert(dialect, TroubleTallyRow)
    return insert.on_conflict_do_update(
        index_elements=["day", "kind", "key", "detail"],
        set_={"count": TroubleTallyRow.count + insert.excluded["count"]},
    )


def add_tally(connection: Connection, day: date, tally: Tally) -> None:
    """Add the counts to the day's rows (made when missing)."""
    rows = [
        {"day": day, "kind": kind, "key": key[:64], "detail": detail[:32], "count": count}
        for (kind, key, detail), count in sorted(tally.items())
        if count
    ]
    if not rows:
        return
    if connection.dialect.name in UPSERT_DIALECTS:
        connection.execute(_adding(connection.dialect.name), rows)
        return
    t = TroubleTallyRow
    for row in rows:
        at = (t.day == day, t.kind == row["kind"], t.key == row["key"], t.detail == row["detail"])
        if connection.execute(select(t.count).where(*at)).first() is None:
            connection.execute(insert(t).values(row))
        else:
            connection.execute(update(t).where(*at).values(count=t.count + row["count"]))
