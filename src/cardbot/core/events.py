"""Neutral events that adapters turn the outside world into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class UserRef:
    """Who sent an event, and where replies go."""

    user_id: int
    chat_id: int
    language_code: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Text:
    """A typed message."""

    text: str


@dataclass(frozen=True)
class Command:
    """A slash command such as /start, without the slash."""

    name: str
    args: str = ""


@dataclass(frozen=True)
class ButtonPress:
    """A tap on an inline button; `data` is untrusted."""

    data: str


@dataclass(frozen=True)
class IncomingFile:
    """A photo or file the applicant sent, already saved to a local temporary path.

    `path` is None when the file was not fetched (too large to download, or the download
    failed); `declared_size` is what the sender claimed.
    """

    path: Path | None
    declared_size: int
    declared_name: str | None = None
    unique_id: str | None = None
    group_id: str | None = None


@dataclass(frozen=True)
class FileUpload:
    """One uploaded photo or file (albums arrive as one event per item)."""

    file: IncomingFile


@dataclass(frozen=True)
class Unsupported:
    """Anything the bot cannot use: sticker, voice, location, an edit, …"""

    kind: str


@dataclass(frozen=True)
class GroupReply:
    """A reply in a staff group (support or review) to one of the bot's messages there."""

    replied_to: str
    text: str


@dataclass(frozen=True)
class DocumentRead:
    """What reading one stored document photo found: `values` maps each answer it fills in
    (a step id) to the text read; `unreadable` when no text at all could be found on it,
    `blurry` when the photo measured too blurry to read."""

    slot: str
    sha256: str
    values: Mapping[str, str] = field(default_factory=dict)
    unreadable: bool = False
    blurry: bool = False


@dataclass(frozen=True)
class DocumentsRead:
    """The applicant's document photos were read (off the update path, after their upload):
    not something the applicant did, so it changes nothing they left pending."""

    documents: tuple[DocumentRead, ...]


Event = Text | Command | ButtonPress | FileUpload | Unsupported | GroupReply | DocumentsRead


@dataclass(frozen=True)
class Incoming:
    """One event from one user; `key` identifies the delivery, so a repeat is applied once."""

    key: str
    user: UserRef
    event: Event
