"""The python-telegram-bot Application: one handler that hands every update to the core."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    TypeHandler,
)

from cardbot.content.render import LANGUAGES, RenderedMessage
from cardbot.core.conversation import COMMANDS
from cardbot.core.replies import Reply
from cardbot.runtime import Runtime
from cardbot.telegram.mapping import to_incoming, update_key, user_ref
from cardbot.telegram.processor import PerUserUpdateProcessor

log = logging.getLogger(__name__)
SEND_RETRIES = 5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
BotApplication = Application[Any, Any, Any, Any, Any, Any]


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

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update: acknowledge a button press, apply the event, send replies."""
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError as exc:
                log.info("callback not answered: %s", exc.__class__.__name__)
        workdir = Path(tempfile.mkdtemp(dir=self.incoming_dir))
        try:
            incoming = await to_incoming(
                update,
                context.bot,
                workdir,
                self.runtime.service.spec.documents.max_bytes,
                self.runtime.settings.support_chat_id,
            )
            if incoming is None:
                return
            loop = asyncio.get_running_loop()
            replies = await loop.run_in_executor(
                self.runtime.executor, self.runtime.service.handle, incoming
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await self.send(context, replies)

    async def send(self, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
        """Render and send each reply, in order."""
        for reply in replies:
            message = self.runtime.renderer.render(reply)
            for attempt in range(SEND_RETRIES + 1):
                try:
                    await context.bot.send_message(
                        chat_id=message.chat_id,
                        text=message.text,
                        parse_mode=ParseMode.HTML,
                        reply_markup=keyboard(message),
                        link_preview_options=NO_PREVIEW,
                    )
                    break
                except (BadRequest, Forbidden):
                    raise
                except NetworkError as exc:
                    # 5xx and dropped connections are transient: wait and send again.
                    if attempt == SEND_RETRIES:
                        raise
                    log.info("send failed (%s), retrying", exc.__class__.__name__)
                    await asyncio.sleep(min(0.5 * 2**attempt, 8))

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


def build_application(runtime: Runtime) -> BotApplication:
    """The Application, pointed at the configured Bot API server, with retries on 429."""
    settings = runtime.settings
    bridge = TelegramBridge(runtime)

    async def post_init(application: BotApplication) -> None:
        await register_commands(application, runtime)

    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(f"{settings.bot_api_url}/bot")
        .base_file_url(f"{settings.bot_api_url}/file/bot")
        .concurrent_updates(PerUserUpdateProcessor())
        .rate_limiter(
            AIORateLimiter(overall_max_rate=settings.messages_per_second, max_retries=SEND_RETRIES)
        )
        .post_init(post_init)
        .updater(None)
        .build()
    )
    application.add_handler(TypeHandler(Update, bridge.on_update))
    application.add_error_handler(bridge.on_error)
    return application
