"""The terminal chat adapter: the same conversation on stdin and stdout; and the small pieces
the command line shares (its usage error, and how it prints)."""

from __future__ import annotations

# The Telegram user id `cardbot chat` plays unless given --user.
CONSOLE_USER_ID = 1


class UsageError(Exception):
    """A command was given something it cannot use; the message says what and why."""


def is_text(line: str) -> bool:
    """False when `line` holds bytes that were not UTF-8 (read with surrogateescape, as
    Python reads stdin and argv): such a line cannot be handed on as text."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def one_line(message: str) -> str:
    """A possibly multi-line message (a YAML parser's, say) as one line: its non-blank lines
    joined with "; ", the caret-only lines that point at a column dropped."""
    parts = [part.strip() for part in message.splitlines()]
    return "; ".join(part for part in parts if part and part.strip("^ ") != "")
