"""Transcripts: what each person does and what they then see, as Telegram would display it.

A `Play` drives the core through a Harness as people would (typing, tapping a button of the
message in front of them, sending files, replying in a group) and writes down every action and
every reply: the text after Telegram has parsed its HTML, the buttons under it, toasts, edits.
The written transcripts are kept in tests/golden/ and reviewed like code (see
tests/unit/test_golden_transcripts.py); `screen_problems` checks every message for faults a
reader would notice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cardbot.content.render import RenderedMessage
from cardbot.content.telegram_html import utf16_length
from cardbot.core.events import (
    ButtonPress,
    Command,
    Event,
    FileUpload,
    GroupReply,
    Incoming,
    IncomingFile,
    Text,
    Unsupported,
    UserRef,
)
from cardbot.core.replies import Reply
from tests.support.botapi_standin import html_to_plain
from tests.support.harness import Harness

MAX_TEXT = 4096
MAX_TOAST = 200
MAX_CALLBACK_DATA = 64


@dataclass
class Person:
    """Someone in the play: who they are, where they write, and what they are called."""

    name: str
    user: UserRef
    chat_name: str


@dataclass
class Play:
    """People acting on one Harness; every action and reply is written to `lines`."""

    chat: Harness
    chats: dict[int, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    templates: set[str] = field(default_factory=set)
    messages: list[RenderedMessage] = field(default_factory=list)
    last_in: dict[int, RenderedMessage] = field(default_factory=dict)
    # Messages of an adapter-side maker (the background report maker), which posts them to
    # the outbox itself: they never pass through the service's outbox in a play.
    made_elsewhere: list[RenderedMessage] = field(default_factory=list)
    actor: Person | None = None
    _keys: int = 0

    def person(self, name: str, user_id: int, language_code: str = "zh-hans") -> Person:
        """Someone writing to the bot in a private chat."""
        self.chats[user_id] = name
        return Person(name, UserRef(user_id, user_id, language_code, name), name)

    def member(self, name: str, user_id: int, chat_id: int, chat_name: str) -> Person:
        """Someone writing in a group (the review or support group)."""
        self.chats[chat_id] = chat_name
        return Person(name, UserRef(user_id, chat_id, "zh-hans", name), chat_name)

    def note(self, text: str) -> None:
        """A heading in the transcript."""
        self.lines += ["", f"## {text}"]

    def as_(self, person: Person) -> Play:
        """Carry on as `person`."""
        self.actor = person
        return self

    # -- actions ---------------------------------------------------------------------------

    def say(self, text: str) -> list[RenderedMessage]:
        """Type a message."""
        return self._act(f"types: {text}", Text(text))

    def command(self, name: str, args: str = "") -> list[RenderedMessage]:
        """Send a slash command."""
        shown = f"/{name} {args}".rstrip()
        return self._act(f"sends {shown}", Command(name, args))

    def tap(self, data_prefix: str) -> list[RenderedMessage]:
        """Tap the newest button in the chat whose data starts with `data_prefix`.

        People tap the buttons of the last message, and sometimes of one further up: the
        transcript says so when the button is not on the last message.
        """
        actor = self._actor()
        shown = [m for m in self.messages if m.chat_id == actor.user.chat_id and not m.toast]
        assert shown, f"nothing in front of {actor.name} to tap"
        for age, message in enumerate(reversed(shown)):
            for row in message.buttons:
                for label, data in row:
                    if data.startswith(data_prefix):
                        where = "" if age == 0 else " on an earlier message"
                        return self._act(f"taps [{label}]{where}", ButtonPress(data))
        raise AssertionError(f"no button {data_prefix!r} in {shown[-1].buttons}")

    def press(self, data: str, why: str) -> list[RenderedMessage]:
        """Press a button that is not on the last message (an old one, or a forged one)."""
        return self._act(f"presses {why} ({data})", ButtonPress(data))

    def upload(
        self,
        data: bytes,
        name: str,
        *,
        group: str | None = None,
        declared_size: int | None = None,
        lost: bool = False,
    ) -> list[RenderedMessage]:
        """Send a file named `name` (`lost`: the download from Telegram failed)."""
        self._keys += 1
        path = self.chat.workdir / f"transcript-upload-{self._keys}"
        path.write_bytes(data)
        size = len(data) if declared_size is None else declared_size
        shown = f"sends the file {name}" + (" (in an album)" if group else "")
        if declared_size is not None:
            shown += f" of {declared_size // (1024 * 1024)} MB"
        incoming = IncomingFile(None if lost else path, size, name, None, group)
        return self._act(shown, FileUpload(incoming))

    def photos_read(
        self,
        values: dict[str, dict[str, str]],
        *,
        unreadable: bool = False,
        blurry: bool = False,
    ) -> list[RenderedMessage]:
        """Hand the core what reading found on the actor's photos it wants read, as the
        reading job does after an upload (slot → step → text read; a slot not given: none;
        `unreadable` and `blurry` describe every photo read)."""
        user_id = self._actor().user.user_id
        wanted = self.chat.service.readings_wanted(user_id)
        event = self.chat.documents_read_event(
            user_id, values, unreadable=unreadable, blurry=blurry, poor=frozenset(wanted)
        )
        found = "; ".join(
            f"{slot}: " + (", ".join(f"{k} {v}" for k, v in values.get(slot, {}).items()) or "-")
            for slot in wanted
        )
        how = " · no text" * unreadable + " · blurry" * blurry
        return self._act("", event, line=f"🔎 the photos are read ({found or 'none wanted'}{how})")

    def edit(self, text: str) -> list[RenderedMessage]:
        """Edit a message sent earlier (Telegram sends the edited text as a new update)."""
        return self._act(f"edits an earlier message to: {text}", Unsupported("edited"))

    def sticker(self) -> list[RenderedMessage]:
        """Send a sticker."""
        return self._act("sends a sticker", Unsupported("sticker"))

    def reply(self, to: RenderedMessage, text: str) -> list[RenderedMessage]:
        """Reply (in a group) to one of the bot's messages."""
        first = html_to_plain(to.text).splitlines()[0]
        return self._act(f"replies to “{first}”: {text}", GroupReply(to.text, text))

    # -- recording --------------------------------------------------------------------------

    def _actor(self) -> Person:
        assert self.actor is not None, "say who acts first: play.as_(person)"
        return self.actor

    def _act(self, action: str, event: Event, *, line: str | None = None) -> list[RenderedMessage]:
        actor = self._actor()
        self.chat.user = actor.user
        self._keys += 1
        where = "" if actor.chat_name == actor.name else f" in {actor.chat_name}"
        self.lines += ["", line or f"👤 {actor.name}{where} {action}"]
        replies = self.chat.service.handle(Incoming(f"play:{self._keys}", actor.user, event))
        rendered = [self.show(reply) for reply in replies]
        if not rendered:
            self.lines.append("   (no reply)")
        return rendered

    def show_made_elsewhere(self, reply: Reply) -> RenderedMessage:
        """Render and write down a message an adapter-side maker sends (see `made_elsewhere`)."""
        message = self.show(reply)
        self.made_elsewhere.append(message)
        return message

    def show(self, reply: Reply) -> RenderedMessage:
        """Render one reply and write down what its chat sees (also for replies a job sends)."""
        self.templates.add(f"{reply.language}/{reply.template}")
        message = self.chat.renderer.render(reply)
        self.messages.append(message)
        chat = self.chats.get(message.chat_id, str(message.chat_id))
        if message.toast:
            kind = "alert" if message.alert else "toast"
            self.lines.append(f"🤖 {kind} to {self._actor().name}: {message.text}")
            return message
        how = "edits its message" if message.edit else "says"
        self.lines.append(f"🤖 {how} to {chat}:")
        self.lines += [f"   {line}".rstrip() for line in html_to_plain(message.text).split("\n")]
        for row in message.buttons:
            self.lines.append("   " + "  ".join(f"[{label}]" for label, _data in row))
        for attachment in message.attachments:
            self.lines.append(f"   📎 {attachment.mime_type}: {attachment.caption}")
        if message.force_reply:
            self.lines.append("   (reply box opened)")
        if not message.toast:
            self.last_in[message.chat_id] = message
        return message

    def transcript(self) -> str:
        """The whole transcript, as kept in tests/golden/."""
        return "\n".join(self.lines).strip() + "\n"


# -- what a reader would notice ----------------------------------------------------------------

_DATE_GLUED = re.compile(r"\d{4}-\d{2}-\d{2}(?:\s\d{2}:\d{2})?[^\W\d_]")
_MARKUP = re.compile(r"{{|}}|{%|%}|{#|#}|&(?:lt|gt|amp|quot|#\d+);")
_ENGLISH_PLURAL_HACK = re.compile(r"\w\(s\)")


def screen_problems(message: RenderedMessage, user_texts: Iterable[str] = ()) -> list[str]:
    """What a reader would notice is wrong with one rendered message as Telegram shows it."""
    plain = message.text if message.toast else html_to_plain(message.text)
    return shown_problems(plain, message.buttons, user_texts, toast=message.toast)


def shown_problems(
    plain: str,
    buttons: Iterable[Iterable[tuple[str, str]]],
    user_texts: Iterable[str] = (),
    *,
    toast: bool = False,
) -> list[str]:
    """What a reader would notice is wrong with a message shown as `plain` with `buttons`."""
    problems: list[str] = []
    limit = MAX_TOAST if toast else MAX_TEXT
    if not plain.strip():
        problems.append("empty message")
    if utf16_length(plain) > limit:
        problems.append(f"longer than {limit} characters")
    # What the people in the play typed may contain anything; judge only the bot's own words.
    own = plain
    for text in user_texts:
        own = own.replace(text, "…")
    for line in own.split("\n"):
        stripped = line.strip()
        if stripped.count("•") > int(stripped.startswith("•")):
            problems.append(f"a bullet inside a line: {line!r}")
        if stripped in ("•", "-", "·") or re.fullmatch(r"•\s*\S{0,2}：?\s*", stripped):
            problems.append(f"an empty bullet: {line!r}")
        if _DATE_GLUED.search(line):
            problems.append(f"a date runs into the next word: {line!r}")
        if line != line.rstrip():
            problems.append(f"trailing space: {line!r}")
    if _MARKUP.search(own):
        problems.append("template syntax or an HTML entity left unrendered")
    if _ENGLISH_PLURAL_HACK.search(own):
        problems.append("an '(s)' plural")
    if "\n\n\n" in plain:
        problems.append("two empty lines in a row")
    for row in buttons:
        for label, data in row:
            if not label.strip():
                problems.append("a button without a label")
            if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                problems.append(f"callback data of {len(data.encode())} bytes: {data!r}")
    return problems


def golden_path(folder: Path, name: str) -> Path:
    """Where the transcript called `name` is kept."""
    return folder / f"{name}.txt"
