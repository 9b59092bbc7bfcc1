"""The python-telegram-bot Application: one handler that hands every update to the core."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import html
import logging
import mimetypes
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)

from cardbot.content.render import LANGUAGES, RenderedMessage
from cardbot.content.telegram_html import split_message
from cardbot.core.events import ButtonPress, Command, Event, FileUpload, UserRef
from cardbot.core.log_context import UPDATE
from cardbot.core.replies import Reply
from cardbot.core.router import COMMANDS
from cardbot.db.leases import worker_name
from cardbot.db.reply_outbox import RENEW_EVERY, Named, PendingReply
from cardbot.runtime import Runtime
from cardbot.storage.leftovers import remove_leftovers
from cardbot.telegram.flood import FloodGate
from cardbot.telegram.mapping import carries_file, to_incoming, update_key, user_ref
from cardbot.telegram.processor import PerUserUpdateProcessor
from cardbot.telegram.retry import retrying
from cardbot.telegram.send_pace import (
    BACKGROUND,
    MemoryLedger,
    Paces,
    SendLedger,
    SharedRateLimiter,
)

log = logging.getLogger(__name__)
MAX_TOAST = 200
# An upload is downloaded, checked and stored within seconds; a folder this old was abandoned.
STALE_DOWNLOAD_SECONDS = 600.0
MAX_ALBUM = 10
MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
BRIDGE = "cardbot.bridge"
BotApplication = Application[Any, Any, Any, Any, Any, Any]
# A send that times out may still have been delivered, and sending it again shows it twice.
# So the client waits for as long as an overloaded Bot API may take to answer (it answers a
# sendMessage in well under a second normally), rather than PTB's default 5 s; a document of
# up to 20 MB gets as long to upload. See docs/deploy.md.
READ_TIMEOUT = 30.0
WRITE_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
POOL_TIMEOUT = 10.0


def sweep_downloads(folder: Path, older_than: float = STALE_DOWNLOAD_SECONDS) -> int:
    """Remove download folders a killed process left behind (plain copies of uploads)."""
    return remove_leftovers(folder, older_than)


def keyboard(message: RenderedMessage) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a rendered message, if it has buttons."""
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in message.buttons
        ]
    )


class TelegramBridge:
    """Receives updates, runs the core off the event loop, sends the replies."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.incoming_dir = runtime.settings.data_dir / "incoming"
        self.incoming_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # One process per data folder: whatever is here is a plain upload a killed run left.
        sweep_downloads(self.incoming_dir, older_than=0)
        if runtime.replies.single_process:  # SQLite: claims on the outbox are a killed run's
            runtime.replies.release_all()
        settings = runtime.settings
        self.flood = FloodGate(settings.flood_burst, settings.flood_per_second)
        self.limiter = SharedRateLimiter(send_ledger(runtime), paces_of(runtime), runtime.metrics)
        self.prefill = runtime.prefill_reader()
        self._reading: set[asyncio.Task[None]] = set()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update: apply the event, acknowledge a button press, then send what
        waits in the outbox for the chats concerned."""
        await self._slow_down_floods(update, context)
        query = update.callback_query
        answered = False
        # Only an upload needs a folder of its own (text and buttons are most updates).
        workdir = Path(tempfile.mkdtemp(dir=self.incoming_dir)) if carries_file(update) else None
        try:
            settings = self.runtime.settings
            incoming = await to_incoming(
                update,
                context.bot,
                workdir or self.incoming_dir,
                self.runtime.service.spec.documents.max_bytes,
                settings.support_chat_id,
                settings.review_chat_id,
            )
            if incoming is None:
                return
            loop = asyncio.get_running_loop()
            UPDATE.set(str(update.update_id))
            # The worker thread sees this task's context, so its log lines name the update.
            replies = await loop.run_in_executor(
                self.runtime.executor,
                contextvars.copy_context().run,
                self.runtime.service.handle,
                incoming,
            )
            if self.runtime.closed:  # stopped while it was applied: the next start sends it all
                answered = True
                return
            self.runtime.metrics.observe_replies(replies)
            # Everything but toasts waits in the outbox, committed with the change: sent from
            # there, in order per chat, and deleted once Telegram accepted it.
            toasts = [self.runtime.renderer.render(r) for r in replies if r.toast]
            if query is not None:
                answered = await self._answer(query, toasts[0] if toasts else None)
            else:
                for toast in toasts:  # no button press to answer (a command): a plain message
                    await self.deliver(context.bot, toast)
            if self.prefill is not None and may_bring_photos_to_read(incoming.event):
                self._read_soon(context.bot, incoming.user)
            # Chats in the order the replies first speak to them (a question handed to the
            # support group goes there before the applicant hears it went).
            chats = [*(r.chat_id for r in replies if not r.toast), incoming.user.chat_id]
            await self.flush(context.bot, dict.fromkeys(chats))
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            if query is not None and not answered:
                await self._answer(query, None)

    def _read_soon(self, bot: Bot, user: UserRef) -> None:
        """Read the applicant's new photos in the background, then send what the core
        proposes from them; the conversation does not wait for it."""
        task = asyncio.create_task(self._propose_from_photos(bot, user))
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def _propose_from_photos(self, bot: Bot, user: UserRef) -> None:
        reader = self.prefill
        assert reader is not None
        try:
            loop = asyncio.get_running_loop()
            replies = await loop.run_in_executor(reader.executor, reader.read_and_propose, user)
        except RuntimeError:  # stopping: the reading threads no longer take work
            return
        except Exception as exc:  # the database away: the applicant types, as without reading
            log.warning("photos not read for a proposal: %s", exc.__class__.__name__)
            return
        if replies and not self.runtime.closed:
            await self.flush(bot, [user.chat_id])

    async def _slow_down_floods(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Make a user who sends too fast wait their turn, telling them once per flood."""
        user = user_ref(update)
        if user is None:
            return
        admission = self.flood.admit(user.user_id)
        if admission.warn:
            language = await asyncio.to_thread(self.runtime.service.language_of, user)
            try:
                await self.send(context, [Reply("slow_down", user.chat_id, language)])
            except TelegramError as exc:
                log.info("flood notice not sent: %s", exc.__class__.__name__)
        if admission.wait > 0:
            await asyncio.sleep(admission.wait)

    @staticmethod
    async def _answer(query: CallbackQuery, toast: RenderedMessage | None) -> bool:
        """Stop the button's spinner, showing the toast if there is one."""
        try:
            if toast is None:
                await retrying(query.answer)
            else:
                text, alert = toast.text[:MAX_TOAST], toast.alert
                await retrying(lambda: query.answer(text=text, show_alert=alert))
        except TelegramError as exc:
            log.info("callback not answered: %s", exc.__class__.__name__)
        return True

    async def send(self, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
        """Render and send each reply, in order, now (for notices that change no state and are
        not kept in the outbox: a flood warning, an error)."""
        for reply in replies:
            await self.deliver(context.bot, self.runtime.renderer.render(reply))

    async def flush(self, bot: Bot, chats: Iterable[int]) -> int:
        """Send what waits in the outbox for these chats, each chat's messages in order;
        returns how many were sent. What cannot be sent now is left for a later round."""
        sent = 0
        for chat_id in chats:
            if self.runtime.closed:  # stopped meanwhile: the next start sends them
                break
            sent += await self._flush_chat(bot, chat_id)
        return sent

    async def _flush_chat(self, bot: Bot, chat_id: int) -> int:
        """Claim the chat's waiting rows batch by batch and send them; none while another
        sender holds the chat (it sends what follows too)."""
        queue = self.runtime.replies
        holder = f"{worker_name()}:{uuid.uuid4().hex[:12]}"
        sent = 0
        renewing = asyncio.create_task(self._renew_claims(holder))
        try:
            batch = await asyncio.to_thread(queue.claim, chat_id, holder)
            while batch and not self.runtime.closed:
                following = await self._send_batch(bot, batch, holder, chat_id)
                sent += len(batch)  # counted once sent: a failed round must end the job's loop
                batch = following
            if batch:  # stopped meanwhile: the next start sends them
                await self._release(holder)
        except Exception as exc:  # Telegram or the database away: the next round sends them
            log.warning("replies to a chat left for later: %s", exc.__class__.__name__)
            await self._release(holder)
        except BaseException:  # cancelled (stopping): leave the rows to the next sender now
            await self._release(holder)
            raise
        finally:
            renewing.cancel()
        return sent

    async def _release(self, holder: str) -> None:
        """Give up a sender's claims (shielded: also while its task is being cancelled)."""
        with contextlib.suppress(BaseException):
            await asyncio.shield(asyncio.to_thread(self.runtime.replies.release, holder))

    async def _renew_claims(self, holder: str) -> None:
        """Keep the claims of a sender alive while it waits on a slow or failing Bot API."""
        while True:
            await asyncio.sleep(RENEW_EVERY)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.runtime.replies.renew, holder)

    async def _send_batch(
        self, bot: Bot, batch: list[PendingReply], holder: str, chat_id: int
    ) -> list[PendingReply]:
        """Send claimed rows in order, deleting each once Telegram accepted it (the last one
        together with claiming the chat's next rows, which are returned), then take the
        buttons away from the messages the replies retire (answered questions). Each of those
        is looked up just before the reply that retires it, as a new question takes over its
        name; they are edited last, so the new question is never held up by it."""
        refs = self.runtime.message_refs
        queue = self.runtime.replies
        retired = []
        following: list[PendingReply] = []
        for pending in batch:
            reply = pending.reply
            if reply.retire is not None:
                ref = await asyncio.to_thread(refs.take, reply.retire)
                if ref is not None:
                    retired.append((reply.retire, ref))
            # Nobody is waiting for a background message: it goes after the replies that are.
            background = BACKGROUND.set(pending.background)
            progress = f"sent:{pending.ref}" if pending.ref else None
            named: Named | None = None
            try:
                rendered = self.runtime.renderer.render(reply)
                named = await self.deliver(bot, rendered, progress, name_later=True)
            except (BadRequest, Forbidden) as exc:  # refused for good: sending again won't help
                log.warning("a reply was refused (%s): dropped", exc.__class__.__name__)
                if progress is not None and reply.attachments:
                    await asyncio.to_thread(refs.take, progress)
            finally:
                BACKGROUND.reset(background)
            # The row goes, and the message it became takes its name, in one transaction.
            if pending is batch[-1]:
                following = await asyncio.to_thread(
                    queue.sent_then_claim, pending.id, holder, chat_id, named
                )
            else:
                await asyncio.to_thread(queue.sent, pending.id, holder, named)
        for tag, (retired_chat, message_id) in retired:
            if not await self.limiter.has_room(retired_chat):
                log.info("buttons of %s left: the chat is busy", tag)
                continue
            try:
                await bot.edit_message_reply_markup(
                    chat_id=retired_chat, message_id=message_id, reply_markup=None
                )
            except TelegramError as exc:  # gone, or without buttons already: left as it is
                log.info("buttons of %s not removed: %s", tag, exc.__class__.__name__)
        return following

    async def deliver(
        self,
        bot: Bot,
        message: RenderedMessage,
        progress: str | None = None,
        *,
        name_later: bool = False,
    ) -> Named | None:
        """Send (or edit in place) one rendered message, then its attachments. With
        `progress` (an outbox row's name) the message id of a text that went out is kept under
        it until the attachments did too: sent again after a crash in between, the text is not
        repeated and the attachments follow the first one (a card keeps its documents). A
        tagged message sent anew takes the tag's name; with `name_later` that (tag, chat id,
        message id) is returned for the caller to store, else stored here."""
        refs = self.runtime.message_refs
        if message.attachments and progress is not None:
            earlier = await asyncio.to_thread(refs.get, progress)
            if earlier is not None:
                await self._send_attachments(bot, message, earlier[1])
                await asyncio.to_thread(refs.take, progress)
                self.runtime.metrics.reply_sent()
                resumed = (message.tag, *earlier) if message.tag is not None else None
                if resumed is not None and not name_later:
                    await asyncio.to_thread(refs.put, *resumed)
                return resumed if name_later else None
        markup: InlineKeyboardMarkup | ForceReply | None = keyboard(message)
        if message.force_reply:
            markup = ForceReply(selective=True)
        if message.toast:
            # A toast with no button press to answer (a command): post it as a plain message.
            message = replace(message, text=html.escape(message.text))
        pieces = split_message(message.text)
        if message.edit and message.tag is not None and len(pieces) == 1:
            ref = await asyncio.to_thread(refs.get, message.tag)
            if ref is not None and await self._edit(bot, ref, message):
                self.runtime.metrics.reply_sent()
                return None
        for piece in pieces[:-1]:  # too long for one message: the buttons go with the last
            await self._send_text(bot, message.chat_id, piece, None)
        sent = await self._send_text(bot, message.chat_id, pieces[-1], markup)
        named = None
        if message.tag is not None:
            named = (message.tag, message.chat_id, sent.message_id)
            if not name_later:
                await asyncio.to_thread(refs.put, *named)
        if message.attachments:
            if progress is not None:
                await asyncio.to_thread(refs.put, progress, message.chat_id, sent.message_id)
            await self._send_attachments(bot, message, sent.message_id)
            if progress is not None:
                await asyncio.to_thread(refs.take, progress)
        self.runtime.metrics.reply_sent()
        return named if name_later else None

    @staticmethod
    async def _send_text(
        bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | ForceReply | None
    ) -> Message:
        """Send one HTML message, retrying transient failures."""
        return await retrying(
            lambda: bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        )

    async def _edit(self, bot: Bot, ref: tuple[int, int], message: RenderedMessage) -> bool:
        """Edit the remembered message; False when it cannot be (then a new one is sent)."""
        chat_id, message_id = ref
        try:
            await retrying(
                lambda: bot.edit_message_text(
                    chat_id=chat_id,
                    message_id=message_id,
                    text=message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(message),
                    link_preview_options=NO_PREVIEW,
                )
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.info("message %s not edited (%s); sending a new one", message.tag, exc.message)
            return False
        return True

    async def _send_attachments(self, bot: Bot, message: RenderedMessage, reply_to: int) -> None:
        """Send documents after a message, as replies to it: photos and PDFs in albums."""
        store = self.runtime.service.documents
        photos: list[InputMediaPhoto] = []
        files: list[InputMediaDocument] = []
        for attachment in message.attachments:
            data = await asyncio.to_thread(store.read, attachment.storage_key)
            is_photo = attachment.mime_type in PHOTO_TYPES and len(data) <= MAX_PHOTO_BYTES
            if is_photo:
                photos.append(InputMediaPhoto(data, caption=attachment.caption))
            else:
                extension = mimetypes.guess_extension(attachment.mime_type) or ""
                files.append(
                    InputMediaDocument(
                        data, caption=attachment.caption, filename=attachment.caption + extension
                    )
                )
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        chat_id = message.chat_id
        for group in (photos, files):
            for start in range(0, len(group), MAX_ALBUM):
                chunk = group[start : start + MAX_ALBUM]
                call: Callable[[], Awaitable[object]]
                if len(chunk) > 1:
                    call = partial(bot.send_media_group, chat_id, chunk, reply_parameters=reply)
                elif isinstance(chunk[0], InputMediaPhoto):
                    call = partial(
                        bot.send_photo,
                        chat_id,
                        chunk[0].media,
                        caption=chunk[0].caption,
                        reply_parameters=reply,
                    )
                else:
                    call = partial(
                        bot.send_document,
                        chat_id,
                        chunk[0].media,
                        caption=chunk[0].caption,
                        reply_parameters=reply,
                    )
                await retrying(call)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a failed update without its content, and tell the applicant to try again."""
        key = update_key(update, context.bot.id) if isinstance(update, Update) else "-"
        error = context.error
        log.error(
            "update %s failed: %s",
            key,
            error.__class__.__name__,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )
        if not isinstance(update, Update):
            return
        user = user_ref(update)
        if user is None:
            return
        language = await asyncio.to_thread(self.runtime.service.language_of, user)
        reply = Reply(template="error", chat_id=user.chat_id, language=language)
        try:
            await self.send(context, [reply])
        except TelegramError as exc:
            log.warning("error notice not sent: %s", exc.__class__.__name__)


async def register_commands(application: BotApplication, runtime: Runtime) -> None:
    """Show the command menu in Chinese by default and in English for English users."""
    for language in LANGUAGES:
        commands = [
            BotCommand(name, runtime.renderer.label(language, f"command.{name}"))
            for name in COMMANDS
        ]
        await application.bot.set_my_commands(
            commands,
            scope=BotCommandScopeAllPrivateChats(),
            language_code=None if language == "zh" else language,
        )


def send_ledger(runtime: Runtime) -> SendLedger:
    """Where the sending limits are kept: in the database when several workers may share it
    (PostgreSQL), else in this process."""
    if runtime.engine.dialect.name == "postgresql":
        from cardbot.db.send_ledger import SqlSendLedger

        return SqlSendLedger(runtime.engine)
    return MemoryLedger()


def paces_of(runtime: Runtime) -> Paces:
    """The sending limits the settings allow."""
    settings = runtime.settings
    return Paces.for_limits(
        settings.messages_per_second,
        settings.private_chat_burst,
        settings.group_messages_per_minute,
    )


def may_bring_photos_to_read(event: Event) -> bool:
    """True for an upload; for a choice that may make a stored photo the one asked for (a
    passport chosen instead of the ID card, or the other way round); and for /start, which
    takes up a reading a restart cut off."""
    return (
        isinstance(event, FileUpload)
        or (isinstance(event, ButtonPress) and event.data.startswith("pick:"))
        or event == Command("start")
    )


def build_application(runtime: Runtime) -> BotApplication:
    """The Application, pointed at the configured Bot API server, with the deployment's
    sending limits (and retries on 429)."""
    settings = runtime.settings
    bridge = TelegramBridge(runtime)

    async def post_init(application: BotApplication) -> None:
        await register_commands(application, runtime)

    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(f"{settings.bot_api_url}/bot")
        .base_file_url(f"{settings.bot_api_url}/file/bot")
        .read_timeout(READ_TIMEOUT)
        .write_timeout(WRITE_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_timeout(POOL_TIMEOUT)
        .concurrent_updates(PerUserUpdateProcessor())
        .rate_limiter(bridge.limiter)
        .post_init(post_init)
        .updater(None)
        .build()
    )
    application.bot_data[BRIDGE] = bridge  # the background jobs send through the same bridge
    application.add_handler(TypeHandler(Update, bridge.on_update))
    application.add_error_handler(bridge.on_error)
    return application
