"""`cardbot chat`: talk to cardbot in a terminal, or script it with plain lines on stdin.

Each line is one of: a command (`/start`), a button press (`#2`), files to upload, or a typed
answer or question. A line is taken for files when each of its words (quoted as in a shell)
names an existing file or looks like a path: it ends in a file extension such as .jpg, .png
or .pdf, or it starts with /, ./, ../ or ~/ and has a further / in it (`/tmp/id.jpg`, not
`/start`); `/file PATH…` says so outright. A path that names no file is answered in the
terminal ("file not found: PATH") and never reaches the bot.
"""

from __future__ import annotations

import html
import itertools
import re
import shlex
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from cardbot.console import CONSOLE_USER_ID, is_text
from cardbot.content.render import RenderedMessage, Renderer
from cardbot.core.events import (
    ButtonPress,
    Command,
    Event,
    FileUpload,
    Incoming,
    IncomingFile,
    Text,
    UserRef,
)
from cardbot.core.languages import language_for
from cardbot.core.replies import Reply

_TAG = re.compile(r"<[^>]+>")
# Endings that make a single word a file name rather than an answer.
FILE_EXTENSIONS = frozenset(
    ".jpg .jpeg .png .pdf .gif .webp .heic .heif .bmp .tif .tiff .doc .docx .txt .zip".split()
)
_PATH_STARTS = ("/", "./", "../", "~")


class ChatCore(Protocol):
    """What the terminal chat needs of the conversation service."""

    def handle(self, incoming: Incoming) -> Sequence[Reply]:
        """Apply one event and return the replies."""
        ...

    def language_of(self, user: UserRef) -> str:
        """The language the applicant chose, or the one their settings suggest."""
        ...


def html_to_plain(text: str) -> str:
    """Telegram HTML as plain terminal text."""
    return html.unescape(_TAG.sub("", text))


def looks_like_path(word: str) -> bool:
    """True for a word meant as a file: it ends in a file extension (.jpg, .png, .pdf…), or
    starts with /, ./, ../ or ~ and has a further / in it (so /start is a command)."""
    if Path(word).suffix.lower() in FILE_EXTENSIONS:
        return True
    return word.startswith(_PATH_STARTS) and "/" in word[1:]


def file_words(line: str) -> list[str] | None:
    """The words of a line that names files to upload (`/file PATH…`, or every word an
    existing file or path-like), or None when the line is a command, a button or text."""
    try:
        words = shlex.split(line)
    except ValueError:  # an unbalanced quote: typed text, not paths
        return None
    if words and words[0] == "/file":
        return words[1:]
    if words and all(_what_is(w) == "file" or looks_like_path(w) for w in words):
        return words
    return None


def _path(word: str) -> Path:
    """`word` as a path, with ~ expanded where it can be."""
    try:
        return Path(word).expanduser()
    except RuntimeError:  # ~name of no known user
        return Path(word)


def _what_is(word: str) -> str | None:
    """ "file", "other" (a folder, a device…) or None (nothing) at the path `word`."""
    try:
        path = _path(word)
        if path.is_file():
            return "file"
        return "other" if path.exists() else None
    except (OSError, ValueError):  # a name too long for the file system, say
        return None


class ConsoleChat:
    """One applicant talking to the core through a terminal."""

    def __init__(
        self,
        service: ChatCore,
        renderer: Renderer,
        out: TextIO,
        *,
        user_id: int = CONSOLE_USER_ID,
        language_code: str | None = None,
        after_upload: Callable[[UserRef], Sequence[Reply]] | None = None,
    ) -> None:
        self.service = service
        # Reads the photos just sent (waiting for it) and returns what the bot then says.
        self.after_upload = after_upload
        self.renderer = renderer
        self.out = out
        self.user = UserRef(user_id=user_id, chat_id=user_id, language_code=language_code)
        self.buttons: list[tuple[str, str]] = []
        self._session = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)

    def run(self, lines: Iterable[str]) -> None:
        """Handle each input line in turn until the input ends."""
        self.out.write(
            f"cardbot chat as user {self.user.user_id} — type /start; #1, #2… press the buttons "
            "of the last message; a file path uploads a file (see cardbot chat --help); "
            "Ctrl-D quits.\n"
        )
        self._note_kept_language()
        for line in lines:
            self.send_line(line.rstrip("\n"))

    def _note_kept_language(self) -> None:
        """Say so when --lang is not the language this applicant already has (stored when
        they first wrote, or chosen with /lang): it only applies to a new applicant."""
        asked = self.user.language_code
        if asked is None:
            return
        kept = self.service.language_of(self.user)
        if kept != language_for(asked):
            self.out.write(
                f"note: user {self.user.user_id} already talks with cardbot in {kept} (set when "
                f"they first wrote, or with /lang) and keeps it: --lang {asked} only sets the "
                "language a new applicant starts in; type /lang to change it\n"
            )

    def send_line(self, line: str) -> None:
        """Turn one typed line into events and print the replies."""
        line = line.strip()
        if not line:
            return
        if not is_text(line):
            self._say("not UTF-8 text: line ignored")
            return
        words = file_words(line)
        if words is not None:
            self._send_files(words)
            return
        number = line[1:]
        if line.startswith("#") and number.isdigit() and 1 <= int(number) <= len(self.buttons):
            self.dispatch(ButtonPress(self.buttons[int(number) - 1][1]))
        elif line.startswith("/"):
            name, _, args = line[1:].partition(" ")
            self.dispatch(Command(name.lower(), args.strip()))
        else:
            self.dispatch(Text(line))

    def _send_files(self, words: list[str]) -> None:
        """Upload the named files (several as one album), or say which cannot be sent."""
        if not words:
            self._say("usage: /file PATH [PATH …]")
            return
        kinds = [_what_is(word) for word in words]
        problems = [
            f"not a file: {word}" if kind else f"file not found: {word}"
            for word, kind in zip(words, kinds, strict=True)
            if kind != "file"
        ]
        if problems:
            for problem in problems:
                self._say(problem)
            return
        group = uuid.uuid4().hex if len(words) > 1 else None
        for word in words:
            self._send_file(_path(word), group)
        if self.after_upload is not None:
            for reply in self.after_upload(self.user):
                self.show(self.renderer.render(reply))

    def _say(self, line: str) -> None:
        """Print a line of the terminal's own (not from the bot)."""
        self.out.write(line + "\n")
        self.out.flush()

    def _send_file(self, path: Path, group: str | None) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="cardbot-chat-"))
        try:
            copy = workdir / "upload"
            shutil.copyfile(path, copy)
            size = copy.stat().st_size
            self.dispatch(FileUpload(IncomingFile(copy, size, path.name, None, group)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def dispatch(self, event: Event) -> None:
        """Hand one event to the core and print what it answers."""
        key = f"console:{self._session}:{next(self._counter)}"
        for reply in self.service.handle(Incoming(key, self.user, event)):
            self.show(self.renderer.render(reply))

    def show(self, message: RenderedMessage) -> None:
        """Print one message with its buttons numbered (a message to a group is only shown)."""
        if message.chat_id != self.user.chat_id:
            if not message.toast:
                text = html_to_plain(message.text)
                self.out.write(f"\n[to group {message.chat_id}]\n{text}\n")
                self.out.flush()
            return
        self.out.write("\n" + html_to_plain(message.text) + "\n")
        self.buttons = [button for row in message.buttons for button in row]
        for number, (label, _data) in enumerate(self.buttons, start=1):
            self.out.write(f"  [#{number}] {label}\n")
        self.out.flush()
