"""The Bot API stand-in, exercised through the real python-telegram-bot HTTP stack."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser

# RetryAfter warns about retry_after becoming a timedelta unless PTB_TIMEDELTA is set.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Deprecated since version v22.2:telegram.warnings.PTBDeprecationWarning"
)

ALICE = FakeUser(1001, "Alice", username="alice")
BOB = FakeUser(1002, "Bob", language_code="en")
GROUP = FakeChat(-1001234567890, "supergroup", "Card shop")
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("✅ 确认", callback_data="confirm:1"),
            InlineKeyboardButton("Help", url="https://example.com/help"),
        ]
    ]
)


def png(width: int = 200, height: int = 120, color: str = "red") -> bytes:
    """Return a PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_bot(standin: BotApiStandIn, token: str | None = None) -> Bot:
    """Return a python-telegram-bot Bot talking to the stand-in."""
    return Bot(
        token or standin.token,
        base_url=f"{standin.base_url}/bot",
        base_file_url=f"{standin.base_url}/file/bot",
    )


def seconds(error: RetryAfter) -> float:
    """Return RetryAfter.retry_after in seconds, whichever type PTB chose."""
    retry_after = error.retry_after
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as server:
        yield server


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[Bot]:
    async with make_bot(standin) as client:
        yield client


# --------------------------------------------------------------------------- bot and transport


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "cardbot_test_bot", True)


async def test_wrong_token_is_rejected(standin: BotApiStandIn) -> None:
    bot = make_bot(standin, "999:WRONG")
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    finally:
        await bot.shutdown()


async def test_raw_http_encodings_and_errors(standin: BotApiStandIn) -> None:
    standin.add_chat(ALICE)
    api = f"{standin.base_url}/bot{standin.token}"
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{api}/GETME")
        assert response.json()["result"]["username"] == "cardbot_test_bot"
        response = await client.post(
            f"{api}/sendMessage",
            json={"chat_id": ALICE.id, "text": "json body", "reply_markup": KEYBOARD.to_dict()},
        )
        assert response.json()["result"]["reply_markup"] == KEYBOARD.to_dict()
        response = await client.post(
            f"{api}/sendMessage", data={"chat_id": "1001", "text": "form"}
        )
        assert response.json()["ok"] is True
        response = await client.post(f"{api}/noSuchMethod")
        assert (response.status_code, response.json()) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )
        response = await client.post(f"{standin.base_url}/bot1:BAD/getMe")
        assert (response.status_code, response.json()["description"]) == (401, "Unauthorized")
        response = await client.get(f"{standin.base_url}/file/bot{standin.token}/photos/x.jpg")
        assert response.status_code == 404
    assert [m.text for m in standin.messages] == ["json body", "form"]
    assert standin.calls[-1] == ("sendMessage", {"chat_id": ALICE.id, "text": "form"})


# --------------------------------------------------------------------------- getUpdates


async def test_offset_confirms_and_unconfirmed_updates_come_again(
    standin: BotApiStandIn, bot: Bot
) -> None:
    first = standin.send_text(ALICE, "hello")
    second = standin.send_text(ALICE, "/start ref_42")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    command = updates[1].message
    assert command is not None and command.from_user is not None
    assert command.text == "/start ref_42"
    assert command.entities[0].type == "bot_command" and command.entities[0].length == 6
    assert (command.chat.id, command.chat.type) == (ALICE.id, "private")
    assert command.from_user.language_code == "zh-hans"
    assert command.message_id == updates[0].message.message_id + 1  # type: ignore[union-attr]

    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert await bot.get_updates(offset=second + 1) == ()

    standin.redeliver(second)  # as if the bot had crashed before confirming
    assert [u.update_id for u in await bot.get_updates()] == [second]

    more = [standin.send_text(ALICE, str(i)) for i in range(3)]
    assert [u.update_id for u in await bot.get_updates(offset=second + 1, limit=2)] == more[:2]


async def polling(standin: BotApiStandIn) -> None:
    """Wait until a getUpdates call has reached the stand-in."""
    await standin.wait_until(
        lambda: any(method == "getUpdates" for method, _ in standin.calls), what="a long poll"
    )


async def test_long_poll_wakes_up_on_user_action(standin: BotApiStandIn, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=40))
    await polling(standin)
    assert not poll.done()
    update_id = standin.send_text(ALICE, "wake up")
    updates = await asyncio.wait_for(poll, 20)  # well before the poll's own 40 s
    assert [u.update_id for u in updates] == [update_id]

    started = time.monotonic()
    assert await bot.get_updates(offset=update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_second_poller_terminates_the_first(standin: BotApiStandIn, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await polling(standin)
    async with make_bot(standin) as second_instance:  # PTB allows one getUpdates per Bot
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 1)


async def test_allowed_updates_filter(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    await bot.send_message(ALICE.id, "pick")
    standin.send_text(ALICE, "text")
    press = standin.press_button(ALICE, standin.messages[-1], "x")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in updates] == [press]


async def test_update_shapes(standin: BotApiStandIn, bot: Bot) -> None:
    album = standin.send_album(ALICE, [png(color="red"), png(color="blue")])
    standin.send_sticker(ALICE)
    standin.send_voice(ALICE)
    standin.send_location(ALICE)
    standin.send_contact(ALICE)
    original = standin.send_text(ALICE, "typo")
    edit = standin.edit_text(ALICE, original, "fixed")
    standin.inject_update(
        {"message": {"message_id": 99, "date": 0, "chat": {"id": 5, "type": "private"}}}
    )
    updates = {u.update_id: u for u in await bot.get_updates()}
    groups = {updates[i].message.media_group_id for i in album}  # type: ignore[union-attr]
    assert len(groups) == 1 and None not in groups
    kinds = [
        u.message.effective_attachment.__class__.__name__
        for u in updates.values()
        if u.message and u.message.effective_attachment
    ]
    assert kinds == ["tuple", "tuple", "Sticker", "Voice", "Location", "Contact"]
    edited = updates[edit].edited_message
    assert edited is not None and edited.text == "fixed" and edited.edit_date is not None
    assert edited.message_id == updates[original].message.message_id  # type: ignore[union-attr]
    assert max(updates) == edit + 1


async def test_wait_idle_reports_updates_nobody_fetched(standin: BotApiStandIn) -> None:
    standin.send_text(ALICE, "anyone there?")
    with pytest.raises(TimeoutError, match=r"unfetched updates \[10001\]"):
        await standin.wait_idle(timeout=0.2)


# --------------------------------------------------------------------------- sendMessage


async def test_send_message_is_recorded(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    text = "<b>Hi</b> &amp; <i>welcome</i>, 1 &lt; 2"
    message = await bot.send_message(
        ALICE.id, text, parse_mode=ParseMode.HTML, reply_markup=KEYBOARD
    )
    assert message.text == "Hi & welcome, 1 < 2"
    assert message.reply_markup == KEYBOARD
    assert message.from_user is not None and message.from_user.id == 123456

    sent = await standin.next_message(ALICE.id)
    assert (sent.message_id, sent.kind, sent.text, sent.parse_mode) == (
        message.message_id,
        "text",
        text,
        "HTML",
    )
    assert sent.plain == "Hi & welcome, 1 < 2"
    assert sent.buttons == [[("✅ 确认", "confirm:1"), ("Help", None)]]
    assert sent.button_data("确认") == "confirm:1"
    with pytest.raises(AssertionError, match="Help"):
        sent.button_data("Cancel")
    name, params = standin.calls[-1]
    assert name == "sendMessage" and params["chat_id"] == ALICE.id
    assert params["reply_markup"] == KEYBOARD.to_dict()
    with pytest.raises(TimeoutError, match="Hi & welcome"):
        await standin.next_message(ALICE.id, timeout=0.1)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("Tom & Jerry", "Unsupported HTML entity at byte offset 4"),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
        ("x</b>", "Unexpected end tag"),
        ('<a href="x>', "Unclosed start tag"),
    ],
)
async def test_invalid_html_is_rejected(
    standin: BotApiStandIn, bot: Bot, text: str, error: str
) -> None:
    standin.add_chat(ALICE)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as info:
        await bot.send_message(ALICE.id, text, parse_mode=ParseMode.HTML)
    assert error.lower() in info.value.message.lower()  # PTB: "Bad Request: x Y" -> "X y"
    await bot.send_message(ALICE.id, text)  # without parse_mode the same text is fine
    assert len(standin.messages) == 1


async def test_valid_html_variety(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    text = (
        '<a href="https://x.y/?a=1&amp;b=2">link</a> <tg-spoiler>s</tg-spoiler> '
        '<span class="tg-spoiler">t</span> <blockquote expandable>q</blockquote> '
        '<pre><code class="language-python">x = 1</code></pre> <U>u</U> &#8364;&#x1F600;&quot;'
    )
    message = await bot.send_message(ALICE.id, text, parse_mode="html")
    assert message.text == 'link s t q x = 1 u €😀"'


async def test_message_length_counts_utf16_after_parsing(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    await bot.send_message(ALICE.id, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(ALICE.id, "😀" * 2048)
    for text in ("x" * 4097, "😀" * 2049):
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(ALICE.id, text)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ALICE.id, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_callback_data_limit_is_64_bytes(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)

    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])

    await bot.send_message(ALICE.id, "ok", reply_markup=keyboard("x" * 64))
    for data in ("x" * 65, "确" * 22):  # 22 characters but 66 bytes
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(ALICE.id, "too long", reply_markup=keyboard(data))
    text_only = InlineKeyboardMarkup([[InlineKeyboardButton("b")]])
    with pytest.raises(BadRequest, match=r"(?i)Text buttons are unallowed"):
        await bot.send_message(ALICE.id, "no action", reply_markup=text_only)


async def test_unknown_and_blocked_chats(standin: BotApiStandIn, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(4242, "hello?")
    standin.add_chat(BOB)
    standin.block_bot(BOB)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(BOB.id, "hello?")


async def test_edit_and_delete(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    message = await bot.send_message(ALICE.id, "v1", reply_markup=KEYBOARD)
    sent = standin.messages[-1]
    edited = await bot.edit_message_text(
        "<b>v2</b>", ALICE.id, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert isinstance(edited, type(message)) and edited.text == "v2"
    assert (sent.text, sent.plain, sent.edits) == ("<b>v2</b>", "v2", ["v1"])
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>v2</b>", ALICE.id, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD
        )
    # Like Telegram, editing the text without reply_markup removes the inline keyboard.
    await bot.edit_message_text("<b>v2</b>", ALICE.id, message.message_id, parse_mode="HTML")
    assert sent.buttons == [] and sent.edits == ["v1"]
    await bot.edit_message_reply_markup(ALICE.id, message.message_id, reply_markup=KEYBOARD)
    assert sent.button_data("确认") == "confirm:1"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", ALICE.id, 9999)
    assert await bot.delete_message(ALICE.id, message.message_id) is True
    assert sent.deleted
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ALICE.id, message.message_id)


# --------------------------------------------------------------------------- callback queries


async def test_callback_query_can_be_answered_once(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    await bot.send_message(ALICE.id, "pick one", reply_markup=KEYBOARD)
    sent = await standin.next_message(ALICE.id)
    standin.press_button(ALICE, sent, "forged:999")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "forged:999"
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert query.message.reply_markup == KEYBOARD
    assert await query.answer("收到") is True
    assert standin.callback_answers[-1]["text"] == "收到"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("12345")
    injected = {"id": "777", "from": BOB.to_json(), "chat_instance": "1", "data": "raw"}
    standin.inject_update({"callback_query": injected})
    (update,) = await bot.get_updates(offset=update.update_id + 1)
    assert update.callback_query is not None
    assert await update.callback_query.answer(show_alert=True) is True
    assert standin.callback_answers[-1] == {"callback_query_id": "777", "show_alert": True}


# --------------------------------------------------------------------------- group privacy


async def test_group_privacy_mode(standin: BotApiStandIn, bot: Bot) -> None:
    assert standin.send_text(ALICE, "just chatting", chat=GROUP) == -1
    assert standin.send_text(ALICE, "/status@other_bot", chat=GROUP) == -1
    assert standin.send_photo(ALICE, png(), chat=GROUP) == -1
    command = standin.send_text(ALICE, "/status", chat=GROUP)
    addressed = standin.send_text(ALICE, "/status@CardBot_Test_Bot now", chat=GROUP)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [command, addressed]
    chat = updates[0].effective_chat
    assert chat is not None and (chat.id, chat.type, chat.title) == (
        GROUP.id,
        "supergroup",
        "Card shop",
    )

    await bot.send_message(GROUP.id, "Reply with the number", reply_markup=KEYBOARD)
    sent = standin.messages_to(GROUP.id)[-1]
    reply = standin.send_text(BOB, "13800138000", chat=GROUP, reply_to=sent)
    press = standin.press_button(BOB, sent, "confirm:1")
    updates = await bot.get_updates(offset=addressed + 1)
    assert [u.update_id for u in updates] == [reply, press]
    assert updates[0].message.reply_to_message.message_id == sent.message_id  # type: ignore[union-attr]


# --------------------------------------------------------------------------- files


async def test_photo_download_round_trip(standin: BotApiStandIn, bot: Bot) -> None:
    data = png(200, 120)
    standin.send_photo(ALICE, data, caption="my card")
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.caption == "my card"
    small, big = update.message.photo
    assert (big.width, big.height, big.file_size) == (200, 120, len(data))
    assert max(small.width, small.height) <= 90 and small.file_unique_id != big.file_unique_id
    file = await bot.get_file(big.file_id)
    assert file.file_path is not None and file.file_path.endswith(".jpg")
    assert bytes(await file.download_as_bytearray()) == data
    thumbnail = await (await bot.get_file(small.file_id)).download_as_bytearray()
    assert Image.open(io.BytesIO(thumbnail)).size == (small.width, small.height)
    assert not Path("photos").exists()  # nothing written where PTB would read it locally

    standin.send_photo(ALICE, data)
    (again,) = await bot.get_updates(offset=update.update_id + 1)
    assert again.message is not None
    assert again.message.photo[-1].file_unique_id == big.file_unique_id
    assert again.message.photo[-1].file_id != big.file_id

    standin.send_photo(ALICE, b"not an image")
    (odd,) = await bot.get_updates(offset=again.update_id + 1)
    sizes = odd.message.photo  # type: ignore[union-attr]
    assert [(s.width, s.height) for s in sizes] == [(0, 0), (0, 0)]
    assert sizes[0].file_unique_id != sizes[1].file_unique_id


async def test_document_download_and_limits(standin: BotApiStandIn, bot: Bot) -> None:
    pdf = b"%PDF-1.4 fake contract"
    standin.send_document(ALICE, pdf, file_name="合同.pdf", mime_type="application/pdf")
    standin.send_document(
        ALICE,
        b"tiny",
        file_name="huge.zip",
        mime_type="application/zip",
        declared_size=25 * 1024 * 1024,
    )
    small, huge = (u.message.document for u in await bot.get_updates())  # type: ignore[union-attr]
    assert small is not None and huge is not None
    assert (small.file_name, small.mime_type, small.file_size) == (
        "合同.pdf",
        "application/pdf",
        len(pdf),
    )
    file = await bot.get_file(small.file_id)
    assert file.file_path is not None and file.file_path.endswith("/documents/file_1.pdf")
    assert bytes(await file.download_as_bytearray()) == pdf
    assert standin.downloads == ["documents/file_1.pdf"]
    assert huge.file_size == 25 * 1024 * 1024
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(huge.file_id)
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("no-such-file")


async def test_bot_uploads_and_media_groups(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    red, blue = png(color="red"), png(color="blue")
    messages = await bot.send_media_group(
        ALICE.id,
        [InputMediaPhoto(red, caption="<b>front</b>", parse_mode="HTML"), InputMediaPhoto(blue)],
    )
    assert len(messages) == 2 and messages[0].caption == "front"
    group_id = messages[0].media_group_id
    assert group_id is not None and messages[1].media_group_id == group_id
    front, back = standin.messages_to(ALICE.id)
    assert (front.kind, front.media, front.plain, front.media_group_id) == (
        "photo",
        red,
        "front",
        group_id,
    )
    assert back.media == blue and back.text == ""

    photo = await bot.send_photo(ALICE.id, messages[0].photo[-1].file_id, caption="again")
    assert standin.messages[-1].media is None
    assert photo.photo[-1].file_unique_id == messages[0].photo[-1].file_unique_id

    await bot.send_document(ALICE.id, b"a,b\n1,2\n", filename="report.csv", caption="report")
    document = standin.messages[-1]
    assert (document.kind, document.media, document.plain) == ("document", b"a,b\n1,2\n", "report")
    assert standin.calls[-1][1]["document"].filename == "report.csv"

    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(ALICE.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)2-10"):
        await bot.send_media_group(ALICE.id, [InputMediaPhoto(red)])
    with pytest.raises(BadRequest, match=r"(?i)mixed"):
        await bot.send_media_group(
            ALICE.id, [InputMediaPhoto(red), InputMediaDocument(b"doc", filename="a.txt")]
        )
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(ALICE.id, red, caption="x" * 1025)
    assert len(standin.messages) == 4


# --------------------------------------------------------------------------- faults and limits


async def test_injected_faults(standin: BotApiStandIn, bot: Bot) -> None:
    standin.add_chat(ALICE)
    standin.fail("sendmessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(ALICE.id, "first try")
    assert seconds(info.value) == 7
    await bot.send_message(ALICE.id, "second try")

    standin.fail("*", status=502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway") as network_error:
            await bot.send_photo(ALICE.id, png())
        assert not isinstance(network_error.value, BadRequest)
    assert (await bot.get_me()).id == 123456  # not a sending method: never affected
    await bot.send_message(ALICE.id, "third try")
    assert [m.text for m in standin.messages] == ["second try", "third try"]


async def test_private_chat_flood_limit() -> None:
    async with BotApiStandIn(private_chat_rate=0.2, private_chat_burst=5) as standin:
        standin.add_chat(ALICE)
        standin.add_chat(BOB)
        async with make_bot(standin) as bot:
            for i in range(5):
                await bot.send_message(ALICE.id, f"burst {i}")
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(ALICE.id, "one too many")
            assert 1 <= seconds(info.value) <= 5
            await bot.send_message(BOB.id, "other chats are unaffected")


async def test_group_and_global_flood_limits() -> None:
    async with BotApiStandIn(global_rate=25) as standin:
        standin.add_chat(GROUP)
        async with make_bot(standin) as bot:
            for i in range(20):
                await bot.send_message(GROUP.id, f"group {i}")
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(GROUP.id, "21st this minute")
            assert 50 <= seconds(info.value) <= 60
            users = [FakeUser(2000 + i) for i in range(6)]
            for user in users:
                standin.add_chat(user)
            with pytest.raises(RetryAfter):  # 25 per second over all chats
                for user in users:
                    await bot.send_message(user.id, "broadcast")
            assert len(standin.messages) == 25


# --------------------------------------------------------------------------- commands


async def test_my_commands_by_scope_and_language(standin: BotApiStandIn, bot: Bot) -> None:
    scope = BotCommandScopeAllPrivateChats()
    commands = [BotCommand("start", "开始"), BotCommand("status", "查询进度")]
    assert await bot.set_my_commands(commands, scope=scope, language_code="zh")
    await bot.set_my_commands([BotCommand("start", "Start")])
    assert standin.commands == {
        ("all_private_chats", "zh"): [
            {"command": "start", "description": "开始"},
            {"command": "status", "description": "查询进度"},
        ],
        ("default", ""): [{"command": "start", "description": "Start"}],
    }
    assert await bot.get_my_commands(scope=scope, language_code="zh") == tuple(commands)
    assert await bot.get_my_commands(scope=scope) == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start!", "bad")])
    assert await bot.delete_my_commands(scope=scope, language_code="zh")
    assert list(standin.commands) == [("default", "")]


# --------------------------------------------------------------------------- a whole application


async def test_application_polls_replies_and_goes_idle(standin: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        await update.message.reply_text(f"你好 <b>{update.effective_user.first_name}</b>", "HTML")

    app = (
        Application.builder()
        .token(standin.token)
        .base_url(f"{standin.base_url}/bot")
        .base_file_url(f"{standin.base_url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        standin.send_text(ALICE, "/start")
        reply = await standin.next_message(ALICE.id, timeout=15)
        assert reply.plain == "你好 Alice"
        standin.send_text(BOB, "/start")
        assert (await standin.next_message(BOB.id, timeout=15)).plain == "你好 Bob"
        await standin.wait_idle(quiet=0.2, timeout=15)
        assert [m.plain for m in standin.messages_to(BOB.id)] == ["你好 Bob"]
        await app.updater.stop()
        await app.stop()
