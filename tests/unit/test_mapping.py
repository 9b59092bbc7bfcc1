"""Telegram updates to core events: only updates that download a file get a download folder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from cardbot.telegram.mapping import carries_file, to_event

USER = {"id": 5, "is_bot": False, "first_name": "A"}
CHAT = {"id": 5, "type": "private"}
PHOTO = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90, "file_size": 10}]
DOCUMENT = {"file_id": "d", "file_unique_id": "du", "file_name": "a.pdf", "file_size": 10}
STICKER = {
    "file_id": "s",
    "file_unique_id": "su",
    "width": 1,
    "height": 1,
    "is_animated": False,
    "is_video": False,
    "type": "regular",
}


class RecordingBot:
    """Answers getFile without a path (nothing is downloaded) and records who asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def do_api_request(self, endpoint: str, api_kwargs: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(endpoint)
        return {}


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 1, "date": 0, "chat": CHAT, "from": USER, **fields}


UPDATES = {
    "text": {"message": message(text="张三")},
    "command": {
        "message": message(
            text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}]
        )
    },
    "photo": {"message": message(photo=PHOTO)},
    "photo with caption": {"message": message(photo=PHOTO, caption="正面")},
    "document": {"message": message(document=DOCUMENT)},
    "sticker": {"message": message(sticker=STICKER)},
    "voice": {"message": message(voice={"file_id": "v", "file_unique_id": "vu", "duration": 1})},
    "edited photo": {"edited_message": message(photo=PHOTO)},
    "button": {
        "callback_query": {"id": "q", "from": USER, "chat_instance": "c", "data": "consent:yes"}
    },
}


@pytest.mark.parametrize("kind", list(UPDATES))
def test_a_download_folder_is_made_exactly_for_updates_that_download(
    kind: str, tmp_path: Path
) -> None:
    update = Update.de_json({"update_id": 1, **UPDATES[kind]}, None)
    bot = RecordingBot()
    asyncio.run(to_event(update, bot, tmp_path, 20 * 1024 * 1024))  # type: ignore[arg-type]
    assert carries_file(update) == (bot.asked == ["getFile"])
    assert carries_file(update) == (kind in {"photo", "photo with caption", "document"})
