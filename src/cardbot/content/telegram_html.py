"""What Telegram's HTML parse mode accepts: the check applied before staff text is published."""

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
        self.text_length += len(data.encode("utf-16-le")) // 2


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
