"""Render neutral replies into Telegram HTML text and button labels, per language."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from cardbot.content.loader import ContentError, read_yaml
from cardbot.content.telegram_html import telegram_html_problem
from cardbot.core.replies import Button, Reply
from cardbot.core.text import mask_id_number

LANGUAGES = ("zh", "en")
MAX_CACHED_SOURCES = 512


MAX_SANDBOX_OPERAND = 100_000


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """A sandbox that also refuses to build huge strings or numbers with * and **."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Multiply or raise only small operands."""
        for operand in (left, right):
            size = len(operand) if isinstance(operand, str | list | tuple) else operand
            if isinstance(size, int) and abs(size) > MAX_SANDBOX_OPERAND:
                raise SecurityError("operand too large")
        return super().call_binop(context, operator, left, right)


@dataclass(frozen=True)
class RenderedAttachment:
    """A document to send after a message, with its caption."""

    storage_key: str
    mime_type: str
    caption: str


@dataclass(frozen=True)
class RenderedMessage:
    """A reply ready to send: HTML text and rows of (label, callback data) buttons.

    For a toast, `text` is plain text; the delivery fields are those of the Reply.
    """

    chat_id: int
    text: str
    buttons: list[list[tuple[str, str]]]
    attachments: tuple[RenderedAttachment, ...] = ()
    tag: str | None = None
    edit: bool = False
    force_reply: bool = False
    toast: bool = False
    alert: bool = False


def _flatten(prefix: str, value: Any, into: dict[str, str], path: Path) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, into, path)
    elif isinstance(value, str | int | float):
        into[prefix] = str(value)
    else:
        raise ContentError(f"{path}: {prefix}: a label must be text")


def load_labels(dialogs_dir: Path) -> dict[str, dict[str, str]]:
    """Every language's labels as flat dotted keys, e.g. labels['zh']['button.back']."""
    labels: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        path = dialogs_dir / "labels" / f"{lang}.yaml"
        flat: dict[str, str] = {}
        _flatten("", read_yaml(path) or {}, flat, path)
        labels[lang] = flat
    return labels


class Renderer:
    """One Jinja2 environment with HTML autoescaping and StrictUndefined, plus the labels."""

    def __init__(self, dialogs_dir: Path) -> None:
        self.dialogs_dir = dialogs_dir
        self.labels = load_labels(dialogs_dir)
        self.env = Environment(
            loader=FileSystemLoader(dialogs_dir / "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are read once: no stat() of the file on every message.
            auto_reload=False,
        )
        self.env.filters["mask"] = mask_id_number
        # FAQ answers are edited by staff through the bot: they render in a sandbox, so a
        # template can reach nothing but the variables it is given.
        self.sandbox = LimitedSandbox(autoescape=True, undefined=StrictUndefined)
        self.sandbox.filters["mask"] = mask_id_number
        self._sources: dict[str, Template] = {}

    def label(self, language: str, key: str, default: str | None = None) -> str:
        """The text of a label in `language`; `default` names a fallback key."""
        table = self.labels[language]
        if key not in table and default is not None:
            key = default
        try:
            text = table[key]
        except KeyError:
            raise ContentError(
                f"{self.dialogs_dir / 'labels' / f'{language}.yaml'}: {key}: label missing"
            ) from None
        return text

    def render_text(self, template: str, language: str, context: Mapping[str, Any]) -> str:
        """Render `templates/<language>/<template>.j2` with the context and a `label` helper."""
        try:
            tpl = self.env.get_template(f"{language}/{template}.j2")
        except TemplateNotFound:
            raise ContentError(
                f"{self.dialogs_dir / 'templates' / language / template}.j2: template missing"
            ) from None

        def label(key: str, default: str | None = None) -> str:
            return self.label(language, key, default)

        return tpl.render(**context, label=label, lang=language).strip()

    def render_source(self, source: str, language: str, context: Mapping[str, Any]) -> str:
        """Render a template text (an FAQ answer) like a template file."""
        template = self._sources.get(source)
        if template is None:
            if len(self._sources) > MAX_CACHED_SOURCES:
                self._sources.clear()
            template = self._sources[source] = self.sandbox.from_string(source)

        def label(key: str, default: str | None = None) -> str:
            return self.label(language, key, default)

        return template.render(**context, label=label, lang=language).strip()

    def source_problem(self, source: str, language: str, context: Mapping[str, Any]) -> str | None:
        """Why a template text cannot be sent as a Telegram message, or None when it can."""
        try:
            text = self.render_source(source, language, context)
        except (TemplateError, ContentError, OverflowError, MemoryError) as exc:
            return f"{exc.__class__.__name__}: {exc}"
        if not text:
            return "the answer is empty"
        return telegram_html_problem(text)

    def _button_label(self, language: str, button: Button) -> str:
        label = self.label(language, button.label) if button.label else ""
        text = label if button.text is None else label + button.text
        if button.selected is None:
            return text
        return ("☑ " if button.selected else "☐ ") + text

    def render(self, reply: Reply) -> RenderedMessage:
        """Render one reply into its text and buttons."""
        if reply.source is not None:
            text = self.render_source(reply.source, reply.language, reply.context)
        else:
            text = self.render_text(reply.template, reply.language, reply.context)
        language = reply.language
        buttons = [
            [(self._button_label(language, b), b.data) for b in row] for row in reply.buttons
        ]
        if reply.toast:
            text = html.unescape(re.sub(r"<[^>]*>", "", text))
        attachments = tuple(
            RenderedAttachment(a.storage_key, a.mime_type, self.label(reply.language, a.label))
            for a in reply.attachments
        )
        return RenderedMessage(
            chat_id=reply.chat_id,
            text=text,
            buttons=buttons,
            attachments=attachments,
            tag=reply.tag,
            edit=reply.edit,
            force_reply=reply.force_reply,
            toast=reply.toast,
            alert=reply.alert,
        )
