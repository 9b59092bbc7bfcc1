"""Turning a Telegram update into a core event (downloading any file first)."""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from urllib.parse import quote

from telegram import Bot, Message, Update
from telegram.error import TelegramError
from telegram.warnings import PTBUserWarning

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
from cardbot.telegram.retry import retrying

log = logging.getLogger(__name__)

UNSUPPORTED_KINDS = (
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


def update_key(update: Update, bot_id: int) -> str:
    """The delivery key of an update (update ids are per bot), so a repeat is applied once."""
    return f"tg:{bot_id}:{update.update_id}"


def user_ref(update: Update) -> UserRef | None:
    """Who sent the update, when it comes from a person in a private chat."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot or chat.type != "private":
        return None
    return UserRef(user_id=user.id, chat_id=chat.id, language_code=user.language_code)


def command_of(message: Message) -> Command | None:
    """The command in a message such as "/start@cardbot_bot args", if it is one."""
    text = message.text or ""
    entity = message.entities[0] if message.entities else None
    if not text.startswith("/") or entity is None or entity.type != "bot_command":
        return None
    if entity.offset != 0:
        return None
    name = text[1 : entity.length].split("@", 1)[0].lower()
    return Command(name=name, args=text[entity.length :].strip())


def carries_file(update: Update) -> bool:
    """True when the update brings a photo or a document to download."""
    message = update.message
    return (
        message is not None
        and message.text is None
        and (bool(message.photo) or message.document is not None)
    )


async def to_event(update: Update, bot: Bot, workdir: Path, max_bytes: int) -> Event | None:
    """The core event for an update; None for updates the applicant flow ignores."""
    if update.callback_query is not None:
        data = update.callback_query.data
        return ButtonPress(data) if isinstance(data, str) else Unsupported("other")
    if update.edited_message is not None:
        return Unsupported("edited")
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        if message.forward_origin is not None:
            return Unsupported("forwarded")  # someone else's words are not an answer
        return command_of(message) or Text(message.text)
    if message.photo:
        photo = max(message.photo, key=lambda size: (size.width * size.height, size.file_size))
        return FileUpload(
            await fetch_file(
                bot,
                photo.file_id,
                photo.file_unique_id,
                photo.file_size,
                None,
                message.media_group_id,
                workdir,
                max_bytes,
            )
        )
    if message.document is not None:
        doc = message.document
        return FileUpload(
            await fetch_file(
                bot,
                doc.file_id,
                doc.file_unique_id,
                doc.file_size,
                doc.file_name,
                message.media_group_id,
                workdir,
                max_bytes,
            )
        )
    for kind in UNSUPPORTED_KINDS:
        if getattr(message, kind, None):
            return Unsupported(kind)
    return Unsupported("other")


async def fetch_file(
    bot: Bot,
    file_id: str,
    unique_id: str,
    declared_size: int | None,
    name: str | None,
    group_id: str | None,
    workdir: Path,
    max_bytes: int,
) -> IncomingFile:
    """Download a file into `workdir`; a file over the limit or that fails is left unfetched."""
    size = declared_size or 0

    def unfetched() -> IncomingFile:
        return IncomingFile(None, size, name, unique_id, group_id)

    if size > max_bytes:
        return unfetched()
    try:
        # Ask for the raw file_path: Bot.get_file treats a relative path that happens to
        # exist in our working directory as a local file, and would hand us that file instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBUserWarning)  # "use Bot.get_file": see above
            raw = await retrying(
                lambda: bot.do_api_request("getFile", api_kwargs={"file_id": file_id})
            )
        file_path = raw.get("file_path") if isinstance(raw, dict) else None
        if not isinstance(file_path, str) or not file_path:
            return unfetched()
        target = workdir / "upload"
        if Path(file_path).is_absolute():
            # A self-hosted Bot API server in --local mode hands out absolute local paths.
            shutil.copyfile(file_path, target)
        else:
            url = f"{bot.base_file_url}/{quote(file_path)}"
            target.write_bytes(await retrying(lambda: bot.request.retrieve(url)))
    except (TelegramError, OSError) as exc:
        log.info("file not fetched: %s", exc.__class__.__name__)
        if "too big" in str(exc).lower():
            size = max(size, max_bytes + 1)
        return unfetched()
    return IncomingFile(target, target.stat().st_size, name, unique_id, group_id)


def review_group_event(update: Update, bot_id: int) -> Incoming | None:
    """A reviewer's command, button press or reply to the bot in the review group."""
    sender, chat = update.effective_user, update.effective_chat
    if sender is None or chat is None or sender.is_bot:
        return None
    event: Event | None = None
    if update.callback_query is not None:
        data = update.callback_query.data
        event = ButtonPress(data if isinstance(data, str) else "")
    elif update.message is not None and update.message.text:
        message = update.message
        replied = message.reply_to_message
        event = command_of(message)
        author = replied.from_user if replied is not None else None
        if event is None and replied is not None and author is not None and author.id == bot_id:
            event = GroupReply(replied.text or replied.caption or "", message.text or "")
    if event is None:
        return None
    user = UserRef(
        user_id=sender.id,
        chat_id=chat.id,
        language_code=sender.language_code,
        name=sender.full_name,
    )
    return Incoming(key=update_key(update, bot_id), user=user, event=event)


def support_reply(update: Update, bot_id: int, support_chat_id: int | None) -> Incoming | None:
    """A staff member's reply, in the support group, to one of the bot's messages there."""
    message, chat = update.message, update.effective_chat
    if support_chat_id is None or message is None or chat is None or chat.id != support_chat_id:
        return None
    replied = message.reply_to_message
    sender = message.from_user
    if (
        replied is None
        or replied.from_user is None
        or replied.from_user.id != bot_id
        or sender is None
        or sender.is_bot
        or not message.text
    ):
        return None
    return Incoming(
        key=update_key(update, bot_id),
        user=UserRef(user_id=sender.id, chat_id=chat.id, language_code=sender.language_code),
        event=GroupReply(replied_to=replied.text or "", text=message.text),
    )


async def to_incoming(
    update: Update,
    bot: Bot,
    workdir: Path,
    max_bytes: int,
    support_chat_id: int | None = None,
    review_chat_id: int | None = None,
) -> Incoming | None:
    """The neutral envelope for an update from an applicant, a reviewer in the review group or
    a support reply; None for anything else."""
    chat = update.effective_chat
    if review_chat_id is not None and chat is not None and chat.id == review_chat_id:
        return review_group_event(update, bot.id)
    relayed = support_reply(update, bot.id, support_chat_id)
    if relayed is not None:
        return relayed
    user = user_ref(update)
    if user is None:
        return None
    event = await to_event(update, bot, workdir, max_bytes)
    if event is None:
        return None
    return Incoming(key=update_key(update, bot.id), user=user, event=event)
