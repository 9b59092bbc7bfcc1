"""What Telegram's HTML parse mode accepts: the check applied before staff text is published,
and the cutting of over-long messages into pieces Telegram takes."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

MAX_MESSAGE_LENGTH = 4096
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "a",
        "tg-spoiler",
        "span",
        "blockquote",
    }
)


_BARE_LT = re.compile(r"<(?![a-zA-Z/])")


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problem: str | None = None
        self.text_length = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problem = self.problem or f"tag <{tag}> is not allowed by Telegram"
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problem = self.problem or f"</{tag}> does not close the tag opened last"
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text_length += utf16_length(data)

    def handle_entityref(self, name: str) -> None:
        self.text_length += 1

    def handle_charref(self, name: str) -> None:
        self.text_length += 2  # at most a surrogate pair


def telegram_html_problem(text: str) -> str | None:
    """Why Telegram would refuse this HTML message (bad tags, bare < or &, too long), or None."""
    if _BARE_LT.search(text):
        return "a bare < must be written &lt;"
    checker = _TagChecker()
    stripped = (
        text.replace("&lt;", "").replace("&gt;", "").replace("&amp;", "").replace("&quot;", "")
    )
    if "&" in stripped and html.unescape(stripped) == stripped:
        return "a bare & must be written &amp;"
    checker.feed(text)
    checker.close()
    if checker.problem:
        return checker.problem
    if checker.open:
        return f"<{checker.open[-1]}> is never closed"
    if checker.text_length > MAX_MESSAGE_LENGTH:
        return (
            f"the message is {checker.text_length} characters; "
            f"Telegram allows {MAX_MESSAGE_LENGTH}"
        )
    return None


def utf16_length(text: str) -> int:
    """The length of the text in UTF-16 units, as Telegram counts it (tags included)."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(text: str) -> int:
    """How long Telegram counts an HTML message: its text without tags, in UTF-16 units."""
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    return checker.text_length


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain(text: str) -> str:
    parser = _PlainText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def _open_tags(text: str) -> bool:
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    return bool(checker.open)


def _blocks(text: str) -> list[str]:
    """The message's lines, with lines inside one tag (a <pre> block, say) kept together."""
    blocks: list[str] = []
    pending: list[str] = []
    for line in text.split("\n"):
        pending.append(line)
        if not _open_tags("\n".join(pending)):
            blocks.append("\n".join(pending))
            pending = []
    if pending:
        blocks.append("\n".join(pending))
    return blocks


def _cut_plain(text: str, limit: int) -> list[str]:
    """Plain text cut into pieces of at most `limit` UTF-16 units, escaped for HTML."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if length + size > limit:
            pieces.append("".join(current))
            current, length = [], 0
        current.append(char)
        length += size
    if current:
        pieces.append("".join(current))
    return [html.escape(piece, quote=False) for piece in pieces]


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """An HTML message as pieces Telegram accepts: cut between lines where no tag is open; a
    single block longer than `limit` is sent as plain text, cut where it must be."""
    if utf16_length(text) <= limit or visible_length(text) <= limit:
        return [text]  # (tags and entities only shorten the text: most messages end here)
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for block in _blocks(text):
        size = visible_length(block)
        if current and length + 1 + size > limit:
            pieces.append("\n".join(current))
            current, length = [], 0
        if size > limit:
            pieces += _cut_plain(_plain(block), limit)
            continue
        length += size + (1 if current else 0)
        current.append(block)
    if current:
        pieces.append("\n".join(current))
    return [piece for piece in pieces if piece.strip()] or ["…"]
