"""In-process stand-in for the Telegram Bot API, served over HTTP for end-to-end tests.

python-telegram-bot talks to it exactly as it talks to api.telegram.org: build the bot with
``base_url=f"{standin.base_url}/bot"`` and ``base_file_url=f"{standin.base_url}/file/bot"``.
Tests play the users (``send_text``, ``press_button``, ...) and observe what the bot did
(``messages``, ``next_message``, ``calls``).  Validation, error wording and rate limits follow
the real Bot API closely, so a bot that passes here behaves the same on Telegram.

Deliberate differences from Telegram:

* a bare ``&`` that does not start ``&lt;``/``&gt;``/``&amp;``/``&quot;``/``&#NN;``/``&#xHH;``
  is rejected (Telegram tolerates it, its documentation forbids it);
* group messages that privacy mode hides from the bot are not queued; the user action returns -1;
* a photo keeps the uploaded bytes as its largest size (Telegram re-encodes to JPEG);
* ``redeliver`` re-queues an update with its old id, so a bot still polling with a higher
  offset drops it at once (as Telegram would): it models a restarted bot;
* Markdown parse modes are accepted without validation;
* ``setWebhook`` accepts http URLs and any port (as a self-hosted Bot API server does), and
  a webhook that fails is retried after a short delay (``webhook_retry_delay``, doubling up to
  ``webhook_max_retry_delay``) rather than Telegram's minutes.

Fault injection: ``fail`` (error answers), ``answer_slowly`` (late answers), ``hold_download``
and ``stall`` (hold the nth call of a method, not carried out or carried out with its answer
held, until released or dropped: a test kills the bot while ``Stall.held`` says it waits).

Webhooks: after ``setWebhook``, queued updates are POSTed to the URL in update_id order with
the ``X-Telegram-Bot-Api-Secret-Token`` header (at most ``max_connections`` at once, never two
of one user at once), each removed once answered 2xx and retried later otherwise;
``getUpdates`` then fails with 409 Conflict, as on Telegram, until ``deleteWebhook``.
``webhook_deliveries`` records every attempt.

Typical use::

    async with BotApiStandIn() as telegram:
        application = build_application(bot_api_url=telegram.base_url)  # however the bot does it
        ...  # start polling
        telegram.send_text(FakeUser(1001), "/start")
        reply = await telegram.next_message(1001)
        telegram.press_button(FakeUser(1001), reply, reply.button_data("确认"))
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import io
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp
from aiohttp import web
from PIL import Image

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
THUMBNAIL_SIDE = 90

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Methods that send or edit messages: rate limited, and matched by ``fail("*")``.
SENDING_METHODS = _words(
    "sendMessage sendPhoto sendDocument sendMediaGroup editMessageText editMessageReplyMarkup"
)
API_METHODS = SENDING_METHODS | _words(
    "getMe getUpdates setWebhook deleteWebhook getWebhookInfo setMyCommands getMyCommands "
    "deleteMyCommands deleteMessage answerCallbackQuery getFile"
)
DEFAULT_UPDATE_TYPES = _words(
    "message edited_message callback_query channel_post edited_channel_post"
)
BUTTON_ACTIONS = _words(
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat copy_text callback_game pay"
)
HTML_TAGS = _words(
    "a b strong i em u ins s strike del span tg-spoiler code pre blockquote tg-emoji"
)
_JSON_FIELDS = _words(
    "reply_markup reply_parameters link_preview_options entities caption_entities media "
    "allowed_updates commands scope"
)
_INT_FIELDS = _words(
    "chat_id message_id offset limit cache_time reply_to_message_id message_thread_id "
    "max_connections"
)
_BOOL_FIELDS = _words(
    "disable_notification protect_content show_alert drop_pending_updates has_spoiler "
    "allow_sending_without_reply disable_content_type_detection show_caption_above_media"
)
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot);|#([0-9]{1,7});|#[xX]([0-9a-fA-F]{1,6});)")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?![A-Za-z0-9_@])")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_TAG_STOP = frozenset(" \t\n\r\f>")
_TAG_END_RE = re.compile(r"\s*>")
_ATTRIBUTE_RE = re.compile(r"""\s+([^\s=>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[\w.-]*))?""")


# --------------------------------------------------------------------------- public data types


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user played by a test."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "zh-hans"
    username: str | None = None

    def to_json(self) -> JSON:
        """Return the User object Telegram would send."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username is not None:
            user["username"] = self.username
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user


@dataclass(frozen=True)
class FakeChat:
    """A chat; groups have negative ids and type "group" or "supergroup"."""

    id: int
    type: str = "private"
    title: str | None = None


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, as recorded in ``BotApiStandIn.calls``."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class SentMessage:
    """A message the bot sent, in the form it was sent."""

    message_id: int
    chat_id: int
    kind: str
    text: str
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    media: bytes | None = field(default=None, repr=False)
    media_group_id: str | None = None
    edits: list[str] = field(default_factory=list)
    file_id: str | None = None
    deleted: bool = False

    @property
    def plain(self) -> str:
        """Return the text with HTML tags stripped and entities decoded."""
        if self.parse_mode is not None and self.parse_mode.lower() == "html":
            return html_to_plain(self.text)
        return self.text

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Return the inline keyboard as rows of (text, callback_data)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]

    def button_data(self, label_substring: str) -> str:
        """Return the callback_data of the first button whose text contains the substring."""
        for row in self.buttons:
            for text, data in row:
                if label_substring in text and data is not None:
                    return data
        raise AssertionError(
            f"no callback button containing {label_substring!r} in message "
            f"{self.message_id} ({self.plain[:60]!r}); buttons: {self.buttons}"
        )


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook: the HTTP status, or the failure."""

    update_id: int
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the bot acknowledged the update (2xx)."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Webhook:
    """What ``setWebhook`` was given."""

    url: str
    secret_token: str | None
    max_connections: int = 40


# --------------------------------------------------------------------------- errors and parsing


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """Return the JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def utf16_length(text: str) -> int:
    """Return the length of text in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(match: re.Match[str]) -> str | None:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _NAMED_ENTITIES[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else None


def html_to_plain(text: str) -> str:
    """Validate Telegram HTML like the Bot API does and return the plain text."""

    def fail(detail: str) -> ApiError:
        return _bad_request(f"can't parse entities: {detail}")

    def offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    out: list[str] = []
    open_tags: list[str] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "&":
            match = _ENTITY_RE.match(text, i)
            decoded = _decode_entity(match) if match else None
            if match is None or decoded is None:
                raise fail(f"Unsupported HTML entity at byte offset {offset(i)}")
            out.append(decoded)
            i = match.end()
            continue
        if char != "<":
            out.append(char)
            i += 1
            continue
        begin, i = i, i + 1
        if i < end and text[i] == "/":
            if not open_tags:
                raise fail(f"Unexpected end tag at byte offset {offset(begin)}")
            j = i + 1
            while j < end and text[j] not in _TAG_STOP:
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < end and text[j].isspace():
                j += 1
            if j >= end or text[j] != ">":
                raise fail(f"Unclosed end tag at byte offset {offset(begin)}")
            name = open_tags.pop()
            if end_name and end_name != name:
                raise fail(
                    f'Unmatched end tag at byte offset {offset(begin)}, expected "</{name}>", '
                    f'found "</{end_name}>"'
                )
            i = j + 1
            continue
        j = i
        while j < end and text[j] not in _TAG_STOP:
            j += 1
        if j >= end:
            raise fail(f"Unclosed start tag at byte offset {offset(begin)}")
        name = text[i:j].lower()
        if name not in HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {offset(begin)}')
        attributes, i = _parse_attributes(text, j, name, offset(begin))
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset(begin)}')
        open_tags.append(name)
    if open_tags:
        raise fail(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse the attributes of a start tag from index i; return them and the index after '>'."""
    attributes: dict[str, str] = {}
    while (closing := _TAG_END_RE.match(text, i)) is None:
        match = _ATTRIBUTE_RE.match(text, i)
        if match is None:
            raise _bad_request(f"can't parse entities: Unclosed start tag at byte offset {begin}")
        name, raw = match.group(1).lower(), match.group(2)
        if raw is None and not (tag == "blockquote" and name == "expandable"):
            raise _bad_request(
                "can't parse entities: Expected equal sign in declaration of an attribute of the "
                f'tag "{tag}" at byte offset {begin}'
            )
        if raw and raw[0] in "'\"":
            attributes[name] = _ENTITY_RE.sub(lambda m: _decode_entity(m) or m.group(0), raw[1:-1])
        else:
            attributes[name] = (raw or "").lower()
        i = match.end()
    return attributes, closing.end()


def render_text(text: str, parse_mode: str | None) -> str:
    """Return the text a user would see, validating HTML markup."""
    if parse_mode is None:
        return text
    if parse_mode.lower() == "html":
        return html_to_plain(text)
    if parse_mode.lower() in ("markdown", "markdownv2"):
        return text
    raise _bad_request(f"unsupported parse_mode {parse_mode!r}")


def _coerce(name: str, value: Any) -> Any:
    """Turn a form-encoded parameter into the value python-telegram-bot meant."""
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif name in _INT_FIELDS:
        with contextlib.suppress(ValueError):
            return int(value)
    elif name in _BOOL_FIELDS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    elif name == "timeout":
        with contextlib.suppress(ValueError):
            return float(value)
    return value


def _command_entities(text: str) -> list[JSON]:
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}]


def _image_info(data: bytes) -> tuple[int, int, bytes, int, int] | None:
    """Return (width, height, thumbnail JPEG, thumbnail width, height) or None if no image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            thumb = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG")
    return width, height, buffer.getvalue(), thumb.width, thumb.height


def _message_key(params: JSON) -> tuple[int, int]:
    chat_id, message_id = params.get("chat_id"), params.get("message_id")
    if not isinstance(chat_id, int) or not isinstance(message_id, int):
        raise _bad_request("message identifier is not specified")
    return chat_id, message_id


def _chat_instance(chat_id: int) -> str:
    digest = hashlib.sha256(f"chat-instance:{chat_id}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big", signed=True))


# --------------------------------------------------------------------------- internal state


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes = field(repr=False)
    size: int
    folder: str
    extension: str
    number: int
    file_path: str | None = None


@dataclass
class _Fault:
    method: str
    status: int
    remaining: int
    retry_after: int
    description: str | None


class Stall:
    """One Bot API call held on purpose: the `nth` call of a method (to one chat, if given).

    Unless `carried_out`, the held call is not carried out: ``release`` lets it through as if
    nothing happened, ``drop`` gives it up (a Telegram that never got it: nothing is sent, and
    a bot still listening is answered 502). When `carried_out`, Telegram carries the call out at
    once and only its answer is held (``release`` sends it; a bot killed meanwhile never learns
    the message went out). ``held`` waits until the call is being held and returns its
    parameters, so a test can kill the bot at exactly that point.
    """

    def __init__(self, method: str, nth: int, chat_id: int | None, carried_out: bool) -> None:
        self.method = method
        self.nth = nth
        self.chat_id = chat_id
        self.carried_out = carried_out
        self.seen = 0
        self.params: JSON | None = None
        self.dropped = False
        self._holding = asyncio.Event()
        self._released = asyncio.Event()

    def matches(self, method: str, params: JSON) -> bool:
        """Count a call; True when it is the one to hold."""
        if method != self.method or self.params is not None:
            return False
        if self.chat_id is not None and params.get("chat_id") != self.chat_id:
            return False
        self.seen += 1
        return self.seen == self.nth

    @property
    def is_held(self) -> bool:
        """True while the call is held (and not yet released or dropped)."""
        return self._holding.is_set() and not self._released.is_set()

    async def held(self, timeout: float = 30.0) -> JSON:
        """Wait until the call is being held; return its parameters."""
        try:
            await asyncio.wait_for(self._holding.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"call {self.nth} of {self.method} not held within {timeout}s ({self.seen} seen)"
            ) from None
        assert self.params is not None
        return self.params

    def release(self) -> None:
        """Let the held call (or its answer) through."""
        self._released.set()

    def drop(self) -> None:
        """Give the held call up: not carried out (if it was not already), not answered."""
        self.dropped = True
        self._released.set()

    async def block(self, params: JSON, notify: Callable[[], None]) -> None:
        """Hold the call now being made until released or dropped (used by the stand-in)."""
        self.params = params
        self._holding.set()
        notify()
        await self._released.wait()


class _RateLimiter:
    """Telegram's flood limits: global per second, per group per minute, per private chat."""

    def __init__(
        self, private_rate: float, private_burst: int, global_rate: int, group_per_minute: int
    ) -> None:
        self.private_rate = private_rate
        self.private_burst = private_burst
        self.global_rate = global_rate
        self.group_per_minute = group_per_minute
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._private: dict[int, tuple[float, float]] = {}

    @staticmethod
    def _window_wait(
        stamps: deque[float], now: float, window: float, limit: int, count: int
    ) -> float:
        while stamps and stamps[0] <= now - window:
            stamps.popleft()
        excess = len(stamps) + count - limit
        if excess <= 0:
            return 0.0
        if excess > len(stamps):
            return window
        return stamps[excess - 1] + window - now

    def _private_level(self, chat_id: int, now: float) -> float:
        level, at = self._private.get(chat_id, (0.0, now))
        if math.isinf(self.private_rate):
            return 0.0
        return max(0.0, level - (now - at) * self.private_rate)

    def check(self, chat_id: int, count: int) -> None:
        """Raise a 429 error if sending count messages to chat_id now exceeds a limit."""
        now = time.monotonic()
        waits = [self._window_wait(self._global, now, 1.0, self.global_rate, count)]
        if chat_id < 0:
            stamps = self._groups.setdefault(chat_id, deque())
            waits.append(self._window_wait(stamps, now, 60.0, self.group_per_minute, count))
        elif self.private_rate > 0:
            excess = self._private_level(chat_id, now) + count - self.private_burst
            waits.append(excess / self.private_rate if excess > 0 else 0.0)
        wait = max(waits)
        if wait > 0:
            raise _too_many_requests(max(1, math.ceil(wait)))

    def record(self, chat_id: int, count: int) -> None:
        """Account for count messages sent to chat_id."""
        now = time.monotonic()
        self._global.extend([now] * count)
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).extend([now] * count)
        else:
            self._private[chat_id] = (self._private_level(chat_id, now) + count, now)


# --------------------------------------------------------------------------- the stand-in


class BotApiStandIn:
    """A local Bot API server that plays Telegram for python-telegram-bot."""

    _METHODS: ClassVar[dict[str, str]] = {name.lower(): name for name in API_METHODS}

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 123456,
        bot_username: str = "cardbot_test_bot",
        private_chat_rate: float = 1.0,
        private_chat_burst: int = 20,
        global_rate: int = 30,
        group_chat_per_minute: int = 20,
        webhook_retry_delay: float = 0.2,
        webhook_max_retry_delay: float = 2.0,
    ) -> None:
        self.token = token
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "CardBot Test",
            "username": bot_username,
        }
        self.messages: list[SentMessage] = []
        self.calls: list[tuple[str, JSON]] = []
        self.errors: list[tuple[str, int, str]] = []
        self.callback_answers: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.downloads: list[str] = []
        self._limiter = _RateLimiter(
            private_chat_rate, private_chat_burst, global_rate, group_chat_per_minute
        )
        self._chats: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._last_message_id: dict[int, int] = {}
        self._bot_messages: dict[tuple[int, int], JSON] = {}
        self._sent: dict[tuple[int, int], SentMessage] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._next_update_id = 10_001
        self._history: dict[int, JSON] = {}
        self._queue: list[JSON] = []
        self._fetched: set[int] = set()
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._query_serial = 0
        self._open_queries: set[str] = set()
        self._media_group_serial = 0
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._photo_sizes: dict[str, list[JSON]] = {}
        self._documents: dict[str, JSON] = {}
        self._faults: list[_Fault] = []
        self._slow: dict[str, list[float]] = {}
        self._stalls: list[Stall] = []
        self.held_downloads: list[str] = []
        self._held: set[str] = set()
        self._release = asyncio.Event()
        self._cursors: dict[int, int] = {}
        self._changed = asyncio.Event()
        self._last_activity = time.monotonic()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_retry_delay = webhook_max_retry_delay
        self._webhook_error: tuple[int, str] | None = None
        self._delivering: dict[int, Any] = {}  # update id -> its user (or chat) key
        self._delivery_tasks: set[asyncio.Task[None]] = set()
        self._retry_at: dict[int, tuple[int, float]] = {}  # update id -> (failures, when)
        self._webhook_task: asyncio.Task[None] | None = None
        self._client: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start serving on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self._webhook_task = asyncio.create_task(self._deliver_webhook_updates())

    async def stop(self) -> None:
        """Answer pending long polls and shut the server down."""
        self._closing = True
        for stall in self._stalls:
            stall.drop()
        self._notify()
        tasks = [*self._delivery_tasks, *([self._webhook_task] if self._webhook_task else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._webhook_task = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Return "http://127.0.0.1:PORT" of the running server."""
        if self._base_url is None:
            raise RuntimeError("BotApiStandIn is not started")
        return self._base_url

    # ------------------------------------------------------------------ chats

    def add_chat(self, chat: FakeChat | FakeUser) -> None:
        """Make a chat known so the bot may send to it (a user stands for their private chat)."""
        if isinstance(chat, FakeUser):
            self._register(chat, None)
        else:
            self._register(FakeUser(chat.id), chat)

    def block_bot(self, user: FakeUser) -> None:
        """Let the user block the bot: sending to their private chat then fails with 403."""
        self._blocked.add(user.id)

    def _register(self, user: FakeUser, chat: FakeChat | None) -> JSON:
        if chat is None or chat.type == "private":
            chat_json: JSON = {"id": chat.id if chat else user.id, "type": "private"}
            chat_json["first_name"] = user.first_name
            if user.username is not None:
                chat_json["username"] = user.username
        else:
            title = chat.title or f"Group {chat.id}"
            chat_json = {"id": chat.id, "type": chat.type, "title": title}
        self._chats.setdefault(chat_json["id"], chat_json)
        return self._chats[chat_json["id"]]

    def _new_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    # ------------------------------------------------------------------ user actions

    def send_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        reply_to: SentMessage | None = None,
    ) -> int:
        """Let the user send a text message; "/cmd args" carries a bot_command entity."""
        content: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(user, chat, content, reply_to=reply_to)

    def send_photo(
        self,
        user: FakeUser,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        chat: FakeChat | None = None,
    ) -> int:
        """Let the user send a photo (thumbnail plus full size)."""
        content: JSON = {"photo": self._store_photo(data)}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user, chat, content, media_group_id=media_group_id)

    def send_document(
        self,
        user: FakeUser,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        media_group_id: str | None = None,
        chat: FakeChat | None = None,
        declared_size: int | None = None,
    ) -> int:
        """Let the user send a file; declared_size claims a file_size without storing it."""
        document = self._store_document(data, file_name, mime_type, declared_size)
        return self._user_message(
            user, chat, {"document": document}, media_group_id=media_group_id
        )

    def send_album(
        self, user: FakeUser, photos: list[bytes], *, chat: FakeChat | None = None
    ) -> list[int]:
        """Let the user send 2..10 photos as one album (one update per photo)."""
        if not 2 <= len(photos) <= 10:
            raise ValueError("an album has 2 to 10 photos")
        group_id = self._new_media_group_id()
        return [self.send_photo(user, data, media_group_id=group_id, chat=chat) for data in photos]

    def send_sticker(self, user: FakeUser, *, chat: FakeChat | None = None) -> int:
        """Let the user send a sticker."""
        stored = self._store_file(b"RIFF\x00\x00\x00\x00WEBPVP8 sticker", "stickers", "webp")
        sticker = self._file_json(stored) | {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\N{GRINNING FACE}",
        }
        return self._user_message(user, chat, {"sticker": sticker})

    def send_voice(self, user: FakeUser, *, chat: FakeChat | None = None) -> int:
        """Let the user send a voice note."""
        stored = self._store_file(b"OggS\x00\x02voice", "voice", "oga")
        voice = self._file_json(stored) | {"duration": 2, "mime_type": "audio/ogg"}
        return self._user_message(user, chat, {"voice": voice})

    def send_location(
        self,
        user: FakeUser,
        *,
        chat: FakeChat | None = None,
        latitude: float = 31.2304,
        longitude: float = 121.4737,
    ) -> int:
        """Let the user share a location."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(user, chat, {"location": location})

    def send_contact(
        self, user: FakeUser, *, chat: FakeChat | None = None, phone_number: str = "8613800138000"
    ) -> int:
        """Let the user share their own contact."""
        contact = {"phone_number": phone_number, "first_name": user.first_name, "user_id": user.id}
        return self._user_message(user, chat, {"contact": contact})

    def edit_text(self, user: FakeUser, original_update_id: int, new_text: str) -> int:
        """Let the user edit a text message they sent; enqueues an edited_message update."""
        original = self._history.get(original_update_id, {}).get("message")
        if original is None or "text" not in original:
            raise ValueError(f"update {original_update_id} is not a text message")
        if original["from"]["id"] != user.id:
            raise ValueError("users can only edit their own messages")
        key = (original["chat"]["id"], original["message_id"])
        edited = copy.deepcopy(self._user_messages[key])
        edited.pop("entities", None)
        edited |= {"text": new_text, "edit_date": int(time.time())}
        entities = _command_entities(new_text)
        if entities:
            edited["entities"] = entities
        self._user_messages[key] = edited
        if not self._visible_to_bot(edited):
            return -1
        return self._enqueue({"edited_message": edited})

    def press_button(self, user: FakeUser, message: SentMessage, callback_data: str) -> int:
        """Let the user press an inline button; the data need not match a real button."""
        key = (message.chat_id, message.message_id)
        if message.deleted or key not in self._bot_messages:
            raise ValueError(f"message {key} does not exist (any more)")
        self._query_serial += 1
        query_id = str(4_417_000_000_000_000_000 + self._query_serial)
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": copy.deepcopy(self._bot_messages[key]),
            "chat_instance": _chat_instance(message.chat_id),
            "data": callback_data,
        }
        return self._enqueue({"callback_query": query})

    def redeliver(self, update_id: int) -> None:
        """Put an already delivered update back in the queue with the same update_id."""
        if update_id not in self._history:
            raise ValueError(f"no update {update_id}")
        if all(update["update_id"] != update_id for update in self._queue):
            self._queue.append(self._history[update_id])
            self._queue.sort(key=lambda update: update["update_id"])
        self._fetched.discard(update_id)
        self._touch()
        self._notify()

    def inject_update(self, update: dict[str, Any]) -> int:
        """Enqueue a raw update; an update_id is assigned when missing."""
        update = copy.deepcopy(update)
        update_id = update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._open_queries.add(str(query["id"]))
        for value in update.values():
            if isinstance(value, dict):
                chat = value.get("chat") or (value.get("message") or {}).get("chat")
                if isinstance(chat, dict) and "id" in chat:
                    self._chats.setdefault(chat["id"], chat)
        self._history[update_id] = update
        self._queue.append(update)
        self._queue.sort(key=lambda item: item["update_id"])
        self._touch()
        self._notify()
        return int(update_id)

    def _user_message(
        self,
        user: FakeUser,
        chat: FakeChat | None,
        content: JSON,
        *,
        reply_to: SentMessage | None = None,
        media_group_id: str | None = None,
    ) -> int:
        chat_json = self._register(user, chat)
        chat_id = chat_json["id"]
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": user.to_json(),
            "chat": dict(chat_json),
            "date": int(time.time()),
        }
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if reply_to is not None:
            if reply_to.chat_id != chat_id:
                raise ValueError("reply_to must be a message of the same chat")
            reply_key = (reply_to.chat_id, reply_to.message_id)
            message["reply_to_message"] = copy.deepcopy(self._bot_messages[reply_key])
        message |= content
        self._user_messages[(chat_id, message["message_id"])] = message
        if not self._visible_to_bot(message):
            return -1
        return self._enqueue({"message": message})

    def _visible_to_bot(self, message: JSON) -> bool:
        """Apply group privacy mode: commands and replies to the bot only."""
        if message["chat"]["type"] in ("private", "channel"):
            return True
        reply = message.get("reply_to_message") or {}
        if reply.get("from", {}).get("id") == self.bot_user["id"]:
            return True
        match = _COMMAND_RE.match(message.get("text", ""))
        if match is None:
            return False
        target = match.group(2)
        return target is None or target.lower() == self.bot_user["username"].lower()

    def _enqueue(self, body: JSON) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **body}
        self._history[update_id] = update
        self._queue.append(update)
        self._touch()
        self._notify()
        return update_id

    def _new_media_group_id(self) -> str:
        self._media_group_serial += 1
        return str(13_600_000_000_000_000 + self._media_group_serial)

    # ------------------------------------------------------------------ files

    def _store_file(
        self,
        data: bytes,
        folder: str,
        extension: str,
        *,
        size: int | None = None,
        variant: str = "",
    ) -> _StoredFile:
        """Store bytes under a fresh file_id; the file_unique_id derives from the content."""
        number = len(self._files) + 1
        digest = hashlib.sha256(f"{folder}:{variant}:".encode() + data).digest()
        unique_id = "AgAD" + base64.urlsafe_b64encode(digest[:12]).decode()
        file_id = f"{folder[:2].upper()}ACAgIAAxkBAA{number:05d}" + digest[12:18].hex()
        stored = _StoredFile(
            file_id,
            unique_id,
            data,
            len(data) if size is None else size,
            folder,
            extension,
            number,
        )
        self._files[file_id] = stored
        return stored

    @staticmethod
    def _file_json(stored: _StoredFile) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }

    def _store_photo(self, data: bytes) -> list[JSON]:
        info = _image_info(data)
        width, height, thumb, thumb_width, thumb_height = info or (0, 0, data, 0, 0)
        small = self._store_file(thumb, "photos", "jpg", variant="thumbnail")
        big = self._store_file(data, "photos", "jpg")
        sizes = [
            self._file_json(small) | {"width": thumb_width, "height": thumb_height},
            self._file_json(big) | {"width": width, "height": height},
        ]
        for size in sizes:
            self._photo_sizes[size["file_id"]] = sizes
        return sizes

    def _store_document(
        self, data: bytes, file_name: str, mime_type: str, declared_size: int | None = None
    ) -> JSON:
        extension = file_name.rpartition(".")[2] if "." in file_name else ""
        stored = self._store_file(data, "documents", extension, size=declared_size)
        document = self._file_json(stored) | {"file_name": file_name, "mime_type": mime_type}
        self._documents[stored.file_id] = document
        return document

    # ------------------------------------------------------------------ observation

    @property
    def pending_updates(self) -> list[int]:
        """The ids of updates still queued: not yet confirmed by polling or acknowledged by
        the webhook."""
        return [update["update_id"] for update in self._queue]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Return everything the bot sent to the chat, in order."""
        return [message for message in self.messages if message.chat_id == chat_id]

    async def next_message(self, chat_id: int, timeout: float = 10.0) -> SentMessage:
        """Return the next message to the chat not yet returned, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.messages_to(chat_id)
            cursor = self._cursors.get(chat_id, 0)
            if cursor < len(sent):
                self._cursors[chat_id] = cursor + 1
                return sent[cursor]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(self._describe(chat_id, timeout))
            await self._wait_for_change(remaining)

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until predicate() is true, re-checking whenever the bot calls the API."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what} not reached within {timeout}s; {self._summary()}")
            await self._wait_for_change(min(remaining, 0.05))

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until all updates were fetched and the bot made no call for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            unfetched = [
                u["update_id"] for u in self._queue if u["update_id"] not in self._fetched
            ]
            idle_for = now - self._last_activity
            if not unfetched and idle_for >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"bot not idle within {timeout}s: unfetched updates {unfetched}, last call "
                    f"{idle_for:.2f}s ago; {self._summary()}"
                )
            wait = deadline - now if unfetched else min(quiet - idle_for, deadline - now)
            await self._wait_for_change(max(wait, 0.005))

    def _describe(self, chat_id: int, timeout: float) -> str:
        sent = self.messages_to(chat_id)
        lines = [f"no new message to chat {chat_id} within {timeout}s."]
        lines.append(f"Sent to this chat ({len(sent)}, all already returned):")
        lines += [f"  #{m.message_id} {m.kind}: {m.plain[:100]!r}" for m in sent] or ["  nothing"]
        lines.append(self._summary())
        return "\n".join(lines)

    def _summary(self) -> str:
        unfetched = sum(u["update_id"] not in self._fetched for u in self._queue)
        errors = "; ".join(f"{m} -> {s} {d}" for m, s, d in self.errors[-5:]) or "none"
        recent = ", ".join(name for name, _ in self.calls[-8:]) or "none"
        summary = (
            f"unfetched updates: {unfetched}; recent calls: {recent}; recent errors: {errors}"
        )
        if self.webhook is not None:
            failed = [d for d in self.webhook_deliveries[-5:] if not d.ok]
            summary += (
                f"; webhook {self.webhook.url}, recent failed deliveries: {failed or 'none'}"
            )
        return summary

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_for_change(self, timeout: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    # ------------------------------------------------------------------ webhook delivery

    @staticmethod
    def _update_owner(update: JSON) -> Any:
        """Who an update is from: at most one of theirs is delivered at a time, in order."""
        for key, value in update.items():
            if key != "update_id" and isinstance(value, dict):
                sender = value.get("from") or value.get("chat") or {}
                if isinstance(sender, dict) and "id" in sender:
                    return sender["id"]
        return ("update", update["update_id"])

    def _due_webhook_updates(self, hook: Webhook) -> tuple[list[JSON], float | None]:
        """The updates to POST now (oldest first), and when the next retry falls due."""
        self._queue = [u for u in self._queue if not self._allowed_updates.isdisjoint(u)]
        now = time.monotonic()
        busy = set(self._delivering.values())
        due: list[JSON] = []
        next_retry: float | None = None
        for update in self._queue:
            update_id, owner = update["update_id"], self._update_owner(update)
            if update_id in self._delivering or owner in busy:
                busy.add(owner)  # a user's later updates wait for the earlier ones
                continue
            busy.add(owner)
            retry = self._retry_at.get(update_id)
            if retry is not None and retry[1] > now:
                next_retry = retry[1] if next_retry is None else min(next_retry, retry[1])
                continue
            if len(self._delivering) + len(due) >= hook.max_connections:
                break
            due.append(update)
        return due, next_retry

    async def _deliver_webhook_updates(self) -> None:
        """While a webhook is set, POST queued updates to it."""
        while not self._closing:
            hook = self.webhook
            if hook is None:
                await self._wait_for_change(1.0)
                continue
            due, next_retry = self._due_webhook_updates(hook)
            for update in due:
                self._delivering[update["update_id"]] = self._update_owner(update)
                task = asyncio.create_task(self._post_update(hook, update))
                self._delivery_tasks.add(task)
                task.add_done_callback(self._delivery_tasks.discard)
            if not due:
                wait = 1.0 if next_retry is None else max(next_retry - time.monotonic(), 0.001)
                await self._wait_for_change(min(wait, 1.0))

    async def _post_update(self, hook: Webhook, update: JSON) -> None:
        """POST one update; forget it when acknowledged, else try again later."""
        assert self._client is not None
        update_id = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if hook.secret_token is not None:
            headers[SECRET_TOKEN_HEADER] = hook.secret_token
        status: int | None = None
        error: str | None = None
        try:
            async with self._client.post(
                hook.url, data=json.dumps(update).encode(), headers=headers
            ) as response:
                await response.read()
                status = response.status
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {exc.__class__.__name__}"
        finally:
            self._delivering.pop(update_id, None)
        delivery = WebhookDelivery(update_id, status, error)
        self.webhook_deliveries.append(delivery)
        if delivery.ok:
            self._queue = [u for u in self._queue if u["update_id"] != update_id]
            self._fetched.add(update_id)
            self._retry_at.pop(update_id, None)
        else:
            failures = self._retry_at.get(update_id, (0, 0.0))[0] + 1
            delay = min(
                self.webhook_retry_delay * 2 ** (failures - 1), self.webhook_max_retry_delay
            )
            self._retry_at[update_id] = (failures, time.monotonic() + delay)
            self._webhook_error = (int(time.time()), error or "failed")
        self._touch()
        self._notify()

    # ------------------------------------------------------------------ fault injection

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next `times` calls of method ("*": any sending method) fail with status."""
        if method != "*" and method.lower() not in self._METHODS:
            raise ValueError(f"unknown method {method!r}")
        name = "*" if method == "*" else self._METHODS[method.lower()]
        self._faults.append(_Fault(name, status, times, retry_after, description))

    def recover(self) -> None:
        """Telegram is back: drop every failure still planned with `fail`."""
        self._faults.clear()

    def answer_slowly(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next `times` calls of `method` at once, but answer them only after
        `seconds` (an overloaded Telegram: the message is delivered, the answer is late)."""
        self._slow.setdefault(self._METHODS[method.lower()], []).extend([seconds] * times)

    def stall(
        self,
        method: str,
        nth: int = 1,
        *,
        chat_id: int | None = None,
        carried_out: bool = False,
    ) -> Stall:
        """Hold the `nth` call of `method` from now on (counting only calls to `chat_id`, when
        given) until the returned Stall is released or dropped; see `Stall`."""
        if nth < 1:
            raise ValueError("nth counts from 1")
        stall = Stall(self._METHODS[method.lower()], nth, chat_id, carried_out)
        self._stalls.append(stall)
        return stall

    def hold_download(self, data: bytes) -> None:
        """Keep the bot waiting when it downloads a file with these bytes, until released.

        The file path is added to ``held_downloads`` when the bot starts the download, so a
        test can, e.g., kill the bot while it is in the middle of receiving an upload.
        """
        self._held.add(hashlib.sha256(data).hexdigest())

    def release_downloads(self) -> None:
        """Let held downloads (and any later ones) complete."""
        self._held.clear()
        self._release.set()
        self._release = asyncio.Event()

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method or (fault.method == "*" and method in SENDING_METHODS):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        method = self._METHODS.get(request.match_info["method"].lower())
        if method is None:
            self.errors.append((request.match_info["method"], 404, "Not Found"))
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        try:
            params = await self._read_params(request)
            self.calls.append((method, params))
            if method != "getUpdates":
                self._touch()
            stall = next((st for st in self._stalls if st.matches(method, params)), None)
            if stall is not None and not stall.carried_out:
                await stall.block(params, self._notify)
                if stall.dropped:
                    raise ApiError(502, "Bad Gateway")
            result = await self._call(method, params)
            if stall is not None and stall.carried_out:
                await stall.block(params, self._notify)
                if stall.dropped:
                    raise ApiError(502, "Bad Gateway")
            delays = self._slow.get(method)
            if delays:
                await asyncio.sleep(delays.pop(0))
        except ApiError as error:
            self.errors.append((method, error.status, error.description))
            if error.status == 502:
                return web.Response(status=502, text=NGINX_502, content_type="text/html")
            return web.json_response(error.body(), status=error.status)
        finally:
            self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _call(self, method: str, params: JSON) -> Any:
        fault = self._take_fault(method)
        if fault is not None:
            if fault.status == 429:
                error = _too_many_requests(fault.retry_after)
                error.description = fault.description or error.description
                raise error
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            raise ApiError(fault.status, fault.description or phrase)
        chat_id, media = params.get("chat_id"), params.get("media")
        limited = chat_id if method in SENDING_METHODS and isinstance(chat_id, int) else None
        count = max(len(media) if method == "sendMediaGroup" and isinstance(media, list) else 1, 1)
        if limited is not None:
            self._limiter.check(limited, count)
        handler = "_" + re.sub(r"([A-Z])", r"_\1", method).lower()  # sendMessage: _send_message
        result = await getattr(self, handler)(params)
        if limited is not None:
            self._limiter.record(limited, count)
        return result

    async def _read_params(self, request: web.Request) -> JSON:
        raw: JSON = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad_request("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise _bad_request("JSON request body must be an object")
                raw.update(body)
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        raw[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        raw[key] = value
        return {key: _coerce(key, value) for key, value in raw.items()}

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["file_path"]
        stored = self._files_by_path.get(path)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        self.downloads.append(path)
        while hashlib.sha256(stored.data).hexdigest() in self._held:
            self.held_downloads.append(path)
            self._notify()
            await self._release.wait()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ parameter helpers

    def _chat(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise _bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self._chats[chat_id]

    @staticmethod
    def _parse_mode(params: JSON) -> str | None:
        parse_mode = params.get("parse_mode")
        return parse_mode if isinstance(parse_mode, str) and parse_mode else None

    @staticmethod
    def _checked_text(text: Any, parse_mode: str | None, *, caption: bool) -> str:
        """Validate a message text or caption; return the plain text Telegram would keep."""
        if text is None or text == "":
            if caption:
                return ""
            raise _bad_request("message text is empty")
        if not isinstance(text, str):
            raise _bad_request("can't parse message text")
        plain = render_text(text, parse_mode).strip()
        if not plain and not caption:
            raise _bad_request("message text is empty")
        if caption and utf16_length(plain) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        if not caption and utf16_length(plain) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        return plain

    @staticmethod
    def _reply_markup(params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"])
        elif "keyboard" in markup:
            _check_reply_keyboard(markup["keyboard"])
        elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
            raise _bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _bot_message(self, chat: JSON, content: JSON, markup: JSON | None) -> JSON:
        sender = {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": sender,
            "chat": dict(chat),
            "date": int(time.time()),
        }
        message |= content
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _record(self, sent: SentMessage, message: JSON) -> None:
        key = (sent.chat_id, sent.message_id)
        self.messages.append(sent)
        self._sent[key] = sent
        self._bot_messages[key] = message

    def _input_file(self, params: JSON, value: Any, what: str) -> Upload | str:
        """Resolve an upload, attach:// reference or file_id given for a file parameter."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
            if value is None:
                raise _bad_request(f"there is no {what} in the request")
        if isinstance(value, Upload):
            if not value.data:
                raise _bad_request("file must be non-empty")
            return value
        if value is None or value == "":
            raise _bad_request(f"there is no {what} in the request")
        if not isinstance(value, str):
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if value.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        if value not in self._files:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return value

    def _photo(self, params: JSON, value: Any) -> tuple[list[JSON], bytes | None]:
        source = self._input_file(params, value, "photo")
        if isinstance(source, Upload):
            if _image_info(source.data) is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            return self._store_photo(source.data), source.data
        if source not in self._photo_sizes:
            raise _bad_request("type of file mismatch")
        return copy.deepcopy(self._photo_sizes[source]), None

    def _document(self, params: JSON, value: Any) -> tuple[JSON, bytes | None]:
        source = self._input_file(params, value, "document")
        if isinstance(source, Upload):
            name = source.filename or "document"
            mime = source.content_type or mimetypes.guess_type(name)[0]
            document = self._store_document(source.data, name, mime or "application/octet-stream")
            return document, source.data
        if source not in self._documents:
            raise _bad_request("type of file mismatch")
        return dict(self._documents[source]), None

    # ------------------------------------------------------------------ methods: bot and updates

    async def _get_me(self, params: JSON) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise _bad_request('parameter "url" is required')
        if not url:
            return await self._delete_webhook(params)
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in ("http", "https") or not rest or " " in url:
            raise _bad_request("bad webhook: invalid webhook URL specified")
        secret = params.get("secret_token")
        if secret in (None, ""):
            secret = None
        elif not isinstance(secret, str) or not _SECRET_TOKEN_RE.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        connections = params.get("max_connections", 40)
        if not isinstance(connections, int) or not 1 <= connections <= 100:
            raise _bad_request("bad webhook: invalid max_connections specified")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or DEFAULT_UPDATE_TYPES
        if params.get("drop_pending_updates") is True:
            self._queue.clear()
        self.webhook = Webhook(url, secret, connections)
        self._webhook_error = None
        self._retry_at.clear()
        self._poll_generation += 1  # a long poll still waiting ends with 409 Conflict
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        self._webhook_error = None
        if params.get("drop_pending_updates") is True:
            self._queue.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self.webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["allowed_updates"] = sorted(self._allowed_updates)
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is None or scope == "":
            scope = {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise _bad_request("can't parse BotCommandScope JSON object")
        scope_key = scope["type"]
        for extra in ("chat_id", "user_id"):
            if extra in scope:
                scope_key += f":{scope[extra]}"
        language = params.get("language_code")
        return scope_key, language if isinstance(language, str) else ""

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for command in commands:
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_RE.fullmatch(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("command description must be 1-256 characters")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [dict(c) for c in commands]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or DEFAULT_UPDATE_TYPES
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting now ends with 409 Conflict
        if isinstance(offset, int):
            if offset < 0:
                self._queue = self._queue[offset:]
            else:
                self._queue = [u for u in self._queue if u["update_id"] >= offset]
        deadline = time.monotonic() + min(timeout, 50.0)
        while True:
            if self.webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            self._queue = [u for u in self._queue if not self._allowed_updates.isdisjoint(u)]
            batch = self._queue[:limit]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                break
            await self._wait_for_change(remaining)
        if batch:
            self._fetched.update(update["update_id"] for update in batch)
            self._touch()
        return copy.deepcopy(batch)

    # ------------------------------------------------------------------ methods: messages

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._chat(params)
        parse_mode = self._parse_mode(params)
        plain = self._checked_text(params.get("text"), parse_mode, caption=False)
        text = str(params["text"])
        markup = self._reply_markup(params)
        message = self._bot_message(chat, {"text": plain}, markup)
        sent = SentMessage(message["message_id"], chat["id"], "text", text, parse_mode, markup)
        self._record(sent, message)
        return message

    async def _send_photo(self, params: JSON) -> JSON:
        return self._send_media(params, "photo")

    async def _send_document(self, params: JSON) -> JSON:
        return self._send_media(params, "document")

    def _send_media(
        self, params: JSON, kind: str, *, item: JSON | None = None, group_id: str | None = None
    ) -> JSON:
        """Send one photo or document; item is an InputMedia of a media group."""
        chat = self._chat(params)
        source = item if item is not None else params
        caption, parse_mode = source.get("caption"), self._parse_mode(source)
        plain = self._checked_text(caption, parse_mode, caption=True)
        markup = self._reply_markup(params) if item is None else None
        value = source.get("media" if item is not None else kind)
        content: JSON
        if kind == "photo":
            sizes, data = self._photo(params, value)
            content, file_id = {"photo": sizes}, sizes[-1]["file_id"]
        else:
            document, data = self._document(params, value)
            content, file_id = {"document": document}, document["file_id"]
        if plain:
            content["caption"] = plain
        if group_id is not None:
            content["media_group_id"] = group_id
        message = self._bot_message(chat, content, markup)
        sent = SentMessage(message["message_id"], chat["id"], kind, caption or "", parse_mode)
        sent.reply_markup, sent.media, sent.media_group_id = markup, data, group_id
        sent.file_id = file_id
        self._record(sent, message)
        return message

    async def _send_media_group(self, params: JSON) -> list[JSON]:
        self._chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise _bad_request("can't parse media JSON object")
        if not 2 <= len(media) <= 10:
            raise _bad_request("wrong number of media items: must be 2-10")
        kinds = {item.get("type") for item in media}
        if not kinds <= {"photo", "document"}:
            raise _bad_request(f"unsupported media type in {sorted(map(str, kinds))}")
        if len(kinds) > 1:
            raise _bad_request("documents can't be mixed with other media types")
        for item in media:  # validate everything before sending anything
            self._checked_text(item.get("caption"), self._parse_mode(item), caption=True)
            self._input_file(params, item.get("media"), str(item.get("type")))
        group_id = self._new_media_group_id()
        return [
            self._send_media(params, item["type"], item=item, group_id=group_id) for item in media
        ]

    def _editable(self, params: JSON) -> SentMessage:
        if "inline_message_id" in params:
            raise _bad_request("inline messages are not supported by the stand-in")
        key = _message_key(params)
        sent = self._sent.get(key)
        if sent is None or sent.deleted:
            if key in self._user_messages:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        return sent

    def _apply_edit(
        self, sent: SentMessage, params: JSON, text: str, parse_mode: str | None
    ) -> JSON:
        """Replace text and inline keyboard (removed when not given), as Telegram does."""
        markup = self._reply_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        old_plain, new_plain = sent.plain, render_text(text, parse_mode)
        old_html = sent.text if (sent.parse_mode or "").lower() == "html" else old_plain
        new_html = text if (parse_mode or "").lower() == "html" else new_plain
        if (new_plain, new_html, markup) == (old_plain, old_html, sent.reply_markup):
            raise _bad_request(NOT_MODIFIED)
        if text != sent.text:
            sent.edits.append(sent.text)
        sent.text, sent.parse_mode, sent.reply_markup = text, parse_mode, markup
        key = (sent.chat_id, sent.message_id)
        edited = {k: v for k, v in self._bot_messages[key].items() if k != "reply_markup"}
        edited["edit_date"] = int(time.time())
        if "text" in edited:
            edited["text"] = new_plain.strip()
        if markup is not None:
            edited["reply_markup"] = markup
        self._bot_messages[key] = edited
        return edited

    async def _edit_message_text(self, params: JSON) -> JSON:
        sent = self._editable(params)
        if sent.kind != "text":
            raise _bad_request("there is no text in the message to edit")
        parse_mode = self._parse_mode(params)
        self._checked_text(params.get("text"), parse_mode, caption=False)
        return self._apply_edit(sent, params, str(params["text"]), parse_mode)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        sent = self._editable(params)
        return self._apply_edit(sent, params, sent.text, sent.parse_mode)

    async def _delete_message(self, params: JSON) -> bool:
        key = _message_key(params)
        sent = self._sent.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            return True
        user_message = self._user_messages.get(key)
        if user_message is not None:
            if user_message["chat"]["type"] != "private":
                raise _bad_request("message can't be deleted")
            del self._user_messages[key]
            return True
        raise _bad_request("message to delete not found")

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or query_id not in self._open_queries:
            raise _bad_request(QUERY_INVALID)
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.callback_answers.append(dict(params))
        return True

    async def _get_file(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_SIZE:
            raise _bad_request("file is too big")
        if stored.file_path is None:
            suffix = f".{stored.extension}" if stored.extension else ""
            stored.file_path = f"{stored.folder}/file_{stored.number}{suffix}"
            self._files_by_path[stored.file_path] = stored
        return self._file_json(stored) | {"file_path": stored.file_path}


# --------------------------------------------------------------------------- keyboard validation


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if sum(len(row) for row in rows) > 100:
        raise _bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise _bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
            actions = sorted(BUTTON_ACTIONS.intersection(button))
            if not actions:
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise _bad_request(
                    f"can't parse inline keyboard button: exactly one of {actions} is allowed"
                )
            data = button.get("callback_data")
            if "callback_data" in button and (
                not isinstance(data, str)
                or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if "url" in button and (not isinstance(url, str) or not url or " " in url):
                raise _bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text.strip():
                raise _bad_request("can't parse keyboard button: Text must be non-empty")
