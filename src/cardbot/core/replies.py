"""Neutral replies: a template id and its context, plus buttons; adapters render them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Button:
    """An inline button: a label key from dialogs/labels and its data; `text`, shown as is,
    follows the label (or stands alone when the key is empty); `selected` shows a tick box
    (ticked or not) before it."""

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


# -- serialising replies (the outbox keeps them until sent) ----------------------------------

_TYPE = "$t"


def encode_reply(reply: Reply) -> str:
    """The reply as JSON text; `decode_reply` gives it back equal (dates, times, decimals,
    tuples and nested mappings in its context included)."""
    data = {
        "template": reply.template,
        "chat_id": reply.chat_id,
        "language": reply.language,
        "context": _encode(dict(reply.context)),
        "buttons": [[[b.label, b.data, b.text, b.selected] for b in row] for row in reply.buttons],
        "source": reply.source,
        "attachments": [[a.storage_key, a.mime_type, a.label] for a in reply.attachments],
        "tag": reply.tag,
        "edit": reply.edit,
        "retire": reply.retire,
        "force_reply": reply.force_reply,
        "toast": reply.toast,
        "alert": reply.alert,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode_reply(text: str) -> Reply:
    """The reply `encode_reply` wrote as `text`."""
    data = json.loads(text)
    return Reply(
        template=data["template"],
        chat_id=data["chat_id"],
        language=data["language"],
        context=_decode(data["context"]),
        buttons=tuple(
            tuple(Button(label, value, shown, selected) for label, value, shown, selected in row)
            for row in data["buttons"]
        ),
        source=data["source"],
        attachments=tuple(Attachment(*attachment) for attachment in data["attachments"]),
        tag=data["tag"],
        edit=data["edit"],
        retire=data["retire"],
        force_reply=data["force_reply"],
        toast=data["toast"],
        alert=data["alert"],
    )


def _encode(value: Any) -> Any:
    """A JSON-ready form of a context value; types JSON lacks are tagged."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_TYPE: "float", "v": repr(value)}
    if isinstance(value, Decimal):
        return {_TYPE: "decimal", "v": str(value)}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {_TYPE: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TYPE: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {_TYPE: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {_TYPE: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Enum):
        return _encode(value.value)
    if isinstance(value, Mapping):
        items = [[_encode(k), _encode(v)] for k, v in value.items()]
        if all(isinstance(k, str) for k in value) and _TYPE not in value:
            return {k: v for k, v in items}
        return {_TYPE: "map", "v": items}
    if isinstance(value, tuple):
        return {_TYPE: "tuple", "v": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, set | frozenset):
        return {_TYPE: "set", "v": [_encode(v) for v in value]}
    if is_dataclass(value) and not isinstance(value, type):
        return _encode({f.name: getattr(value, f.name) for f in fields(value)})
    raise TypeError(f"a reply context cannot hold a {type(value).__name__}")


def _decode(value: Any) -> Any:
    """The context value `_encode` turned into `value`."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(_TYPE)
    if kind is None:
        return {k: _decode(v) for k, v in value.items()}
    raw = value["v"]
    match kind:
        case "float":
            return float(raw)
        case "decimal":
            return Decimal(raw)
        case "datetime":
            return datetime.fromisoformat(raw)
        case "date":
            return date.fromisoformat(raw)
        case "time":
            return time.fromisoformat(raw)
        case "timedelta":
            return timedelta(days=raw[0], seconds=raw[1], microseconds=raw[2])
        case "map":
            return {_hashable(_decode(k)): _decode(v) for k, v in raw}
        case "tuple":
            return tuple(_decode(v) for v in raw)
        case "set":
            return {_hashable(_decode(v)) for v in raw}
    raise ValueError(f"unknown value kind {kind!r} in a stored reply")


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value
