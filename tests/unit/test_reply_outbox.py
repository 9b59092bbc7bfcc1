"""Replies survive the outbox: stored as JSON and read back equal, whatever their context holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cardbot.core.replies import Attachment, Button, Reply, decode_reply, encode_reply
from tests.unit.test_golden_transcripts import LANGUAGES, SCENARIOS, played


def test_a_reply_with_dates_decimals_and_nested_values_comes_back_equal() -> None:
    reply = Reply(
        "review/card",
        -100777,
        "zh",
        {
            "due": date(2026, 12, 14),
            "at": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
            "fee": Decimal("12.50"),
            "wait": timedelta(days=3, seconds=5),
            "pair": (1, "a"),
            "items": [{"label": "身份证", "ok": True, "score": 0.5}, None],
            "by_number": {1: "one"},
            "tags": frozenset({"x"}),
            "$t": "a key that looks like a tag",
        },
        buttons=((Button("button.claim", "rv:1:claim", None, True),),),
        source="{{ answer }}",
        attachments=(Attachment("k" * 32, "image/jpeg", "id_front"),),
        tag="card:1",
        edit=True,
        retire="ask:1",
        force_reply=True,
    )

    assert decode_reply(encode_reply(reply)) == reply


def test_a_context_the_outbox_cannot_keep_is_refused_when_written() -> None:
    with pytest.raises(TypeError):
        encode_reply(Reply("x", 1, "zh", {"thing": object()}))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_message_of_the_golden_transcripts_survives_the_outbox(
    tmp_path: Path, scenario: str, lang: str
) -> None:
    play = played(tmp_path / scenario, scenario, lang)
    # The fake outbox checks each reply comes back equal as it is written; read back, they
    # render as what people read, in the order they read it (toasts never wait).
    stored = [decode_reply(text) for _id, _key, text in play.chat.db.messages]
    # The bridge's own notices (too fast, an error) change nothing and are sent at once.
    notices = [
        play.chat.renderer.render(Reply(template, chat_id, lang))
        for template in ("slow_down", "error")
        for chat_id in {m.chat_id for m in play.messages}
    ]
    shown = [m for m in play.messages if not m.toast and m not in notices + play.made_elsewhere]

    assert [play.chat.renderer.render(reply) for reply in stored] == shown
