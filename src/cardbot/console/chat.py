"""`cardbot chat`: talk to cardbot in a terminal, or script it with plain lines on stdin."""

from __future__ import annotations

import html
import itertools
import re
import shlex
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from cardbot.content.render import RenderedMessage, Renderer
from cardbot.core.conversation import ConversationService
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

_TAG = re.compile(r"<[^>]+>")
CONSOLE_USER_ID = 1


def html_to_plain(text: str) -> str:
    """Telegram HTML as plain terminal text."""
    return html.unescape(_TAG.sub("", text))


def parse_files(line: str) -> list[Path] | None:
    """The files named on a line (paths separated by spaces, quoted if needed), or None."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    if words and words[0] == "/file":
        words = words[1:]
    paths = [Path(w).expanduser() for w in words]
    if paths and all(p.is_file() for p in paths):
        return paths
    return None


class ConsoleChat:
    """One applicant talking to the core through a terminal."""

    def __init__(
        self,
        service: ConversationService,
        renderer: Renderer,
        out: TextIO,
        *,
        user_id: int = CONSOLE_USER_ID,
        language_code: str | None = None,
    ) -> None:
        self.service = service
        self.renderer = renderer
        self.out = out
        self.user = UserRef(user_id=user_id, chat_id=user_id, language_code=language_code)
        self.buttons: list[tuple[str, str]] = []
        self._session = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)

    def run(self, lines: Iterable[str]) -> None:
        """Handle each input line in turn until the input ends."""
        self.out.write(
            "cardbot chat — type /start; #1, #2… press the buttons of the last message; "
            "a file path uploads a file; Ctrl-D quits.\n"
        )
        for line in lines:
            self.send_line(line.rstrip("\n"))

    def send_line(self, line: str) -> None:
        """Turn one typed line into events and print the replies."""
        line = line.strip()
        if not line:
            return
        files = parse_files(line)
        if files is not None:
            group = uuid.uuid4().hex if len(files) > 1 else None
            for path in files:
                self._send_file(path, group)
            return
        number = line[1:]
        if line.startswith("#") and number.isdigit() and 1 <= int(number) <= len(self.buttons):
            self.dispatch(ButtonPress(self.buttons[int(number) - 1][1]))
        elif line.startswith("/"):
            name, _, args = line[1:].partition(" ")
            self.dispatch(Command(name.lower(), args.strip()))
        else:
            self.dispatch(Text(line))

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
