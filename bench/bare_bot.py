"""The floor: a bare python-telegram-bot bot that answers every update with one message.

Run with BENCH_TOKEN and BENCH_API_URL set; it polls like cardbot does (same library, same
Bot API server) and only replies, so the difference to cardbot is cardbot's own work.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press, then send one message to the chat."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, "ok")


def main() -> None:
    """Poll until interrupted."""
    api = os.environ["BENCH_API_URL"]
    application = (
        Application.builder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(TypeHandler(Update, reply))
    application.run_polling(poll_interval=0.0, timeout=10)


if __name__ == "__main__":
    main()
