"""Neutral replies: a template id and its context, plus buttons; adapters render them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """An inline button: a label key from dialogs/labels (or a text as is) and its data."""

    label: str
    data: str
    text: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to send, to `chat_id` in `language`.

    `template` names a file in dialogs/templates; `source`, when given, is a template text
    (an FAQ answer) rendered in its place with the same environment.
    """

    template: str
    chat_id: int
    language: str
    context: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    source: str | None = None
