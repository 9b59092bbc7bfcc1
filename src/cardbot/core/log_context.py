"""What the log lines being written are about: the update in hand and its application."""

from __future__ import annotations

from contextvars import ContextVar

UPDATE: ContextVar[str | None] = ContextVar("cardbot_update", default=None)
APPLICATION: ContextVar[str | None] = ContextVar("cardbot_application", default=None)


def about_application(number: str | None) -> None:
    """Say which application the current work concerns (its number, never personal data)."""
    if number:
        APPLICATION.set(number)
