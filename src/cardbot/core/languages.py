"""The languages the bot speaks, and the one a new person is greeted in."""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def language_for(language_code: str | None) -> str:
    """The bot language for a Telegram language code: English for en-*, Chinese otherwise."""
    if language_code and language_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE
