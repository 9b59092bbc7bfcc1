"""A message too long for Telegram reaches the chat in valid pieces, buttons on the last."""

from __future__ import annotations

from cardbot.content.render import RenderedMessage
from cardbot.telegram.bot import TelegramBridge
from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.support.botapi_standin import BotApiStandIn, FakeUser


async def test_an_over_long_message_arrives_in_pieces_with_its_buttons_last(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(731, "L", language_code="zh-hans"))
    await person.say("/start", replies=2)
    assert bot.runtime is not None
    lines = [f"<b>{n}</b> {'<i>长</i>' * 20} &lt;user text&gt;" for n in range(400)]
    message = RenderedMessage(person.user.id, "\n".join(lines), [[("OK", "nav:start")]])

    await TelegramBridge(bot.runtime).deliver(bot.application.bot, message)

    pieces = api.messages_to(person.user.id)[2:]
    assert len(pieces) >= 3
    assert [bool(p.buttons) for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert "\n".join(p.text for p in pieces) == message.text
    assert not api.errors, api.errors
