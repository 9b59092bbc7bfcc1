"""Named messages remember which Telegram message they became, on every database."""

from __future__ import annotations

from cardbot.db.message_refs import SqlMessageRefs
from cardbot.db.migrate import upgrade
from cardbot.db.session import make_engine


def test_a_name_points_at_its_latest_message_until_it_is_taken(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    refs = SqlMessageRefs(engine)
    assert refs.get("card:1") is None and refs.take("card:1") is None
    refs.put("card:1", -100123, 10)
    refs.put("card:1", -100123, 11)  # the card posted anew takes the name
    refs.put("ask:7", 7, 3)
    assert refs.get("card:1") == (-100123, 11)
    assert refs.take("card:1") == (-100123, 11)
    assert refs.get("card:1") is None and refs.take("card:1") is None
    assert refs.get("ask:7") == (7, 3), "other names are kept"
    engine.dispose()
