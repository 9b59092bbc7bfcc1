"""Neutral replies: a template id and its context, plus buttons; adapters render them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """An inline button: a label key from dialogs/labels (or a text as is) and its data;
    `selected` shows a tick box (ticked or not) before the label."""

    label: str
    data: str
    text: str | None = None
    selected: bool | None = None


@dataclass(frozen=True)
class Attachment:
    """A stored document sent after a message, captioned with a label key."""

    storage_key: str
    mime_type: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message to send, to `chat_id` in `language`.

    `template` names a file in dialogs/templates; `source`, when given, is a template text
    (an FAQ answer) rendered in its place with the same environment. `attachments` follow the
    message as replies to it. `tag` names the sent message so a later reply with `edit` can
    change it in place (a new message is sent when there is nothing to edit); `retire` names an
    earlier message whose buttons are taken away before this one is sent (the question it
    asked has been answered, so its buttons would no longer mean what they said). `force_reply`
    opens the reply box (how a reviewer in a group types a comment); `toast` shows the text
    briefly to whoever pressed the button instead of posting it (`alert`: in a box that stays
    until dismissed).
    """

    template: str
    chat_id: int
    language: str
    context: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    source: str | None = None
    attachments: tuple[Attachment, ...] = ()
    tag: str | None = None
    edit: bool = False
    retire: str | None = None
    force_reply: bool = False
    toast: bool = False
    alert: bool = False
