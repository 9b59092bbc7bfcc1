"""End to end: applicants complete applications through python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from cardbot.core.events import Incoming
from cardbot.core.replies import Reply
from cardbot.core.service import ConversationService
from cardbot.db.models import ProcessedUpdateRow
from cardbot.db.session import make_engine
from tests.e2e.conftest import RunningBot
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeUser, SentMessage
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC
from tests.support.waiting import PATIENCE, hold_until, until

# Long enough for a chat's pace to have room again after a few messages (telegram/send_pace.py).
READING_PAUSE = 5.0


class Person:
    """A Telegram user talking to the bot through the stand-in."""

    def __init__(self, api: BotApiStandIn, user: FakeUser) -> None:
        self.api = api
        self.user = user
        self.last: SentMessage | None = None
        self.presses = 0

    async def replies(self, count: int, timeout: float = 15.0) -> list[SentMessage]:
        """The next `count` messages the bot sends to this person, each within `timeout`."""
        got = [await self.api.next_message(self.user.id, timeout) for _ in range(count)]
        self.last = got[-1]
        return got

    async def say(self, text: str, replies: int = 1) -> list[SentMessage]:
        """Send a text message and wait for the replies."""
        self.api.send_text(self.user, text)
        return await self.replies(replies)

    async def tap(self, label: str, replies: int = 1) -> list[SentMessage]:
        """Press the button of the last message whose label contains `label`."""
        assert self.last is not None
        self.api.press_button(self.user, self.last, self.last.button_data(label))
        self.presses += 1
        return await self.replies(replies)

    async def photo(self, data: bytes, replies: int = 1) -> list[SentMessage]:
        """Send a photo."""
        self.api.send_photo(self.user, data)
        return await self.replies(replies)

    async def document(
        self, data: bytes, name: str, mime: str, replies: int = 1
    ) -> list[SentMessage]:
        """Send a file."""
        self.api.send_document(self.user, data, file_name=name, mime_type=mime)
        return await self.replies(replies)

    async def album(self, photos: list[bytes]) -> list[SentMessage]:
        """Send photos as one album; the bot answers once."""
        self.api.send_album(self.user, photos)
        return await self.replies(1)

    async def begin(self, category: str) -> None:
        """/start, consent, and choose the category whose button label contains `category`."""
        await self.say("/start", replies=2)
        await self.tap("同意")
        await self.tap(category)

    async def begin_with_resident_id(self, category: str) -> None:
        """Begin, then give a name, choose the resident ID card and type a valid number."""
        await self.begin(category)
        await self.say("张三")
        await self.tap("居民身份证")
        await self.say(VALID_ID)

    async def begin_with_passport(self, category: str) -> None:
        """Begin, then give a name, choose the passport, type its number and a phone."""
        await self.begin(category)
        await self.say("Lee Kim")
        await self.tap("护照")
        await self.say("M12345678")
        await self.say(VALID_PHONE)

    async def no_more_messages(self) -> None:
        """Nothing else arrives for this person."""
        await self.api.wait_idle(quiet=0.5)
        sent = self.api.messages_to(self.user.id)
        assert sent[-1] is self.last, [m.plain for m in sent[sent.index(self.last) + 1 :]]


async def test_enterprise_applicant_fixes_mistakes_and_submits(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(501, "王", language_code="zh-hans"))
    welcome, consent = await person.say("/start", replies=2)
    assert "电销卡审核助手" in welcome.plain
    assert "个人信息" in consent.plain
    await person.tap("同意")
    await person.tap("企业")
    await person.say("王小明")
    await person.tap("居民身份证")
    (error,) = await person.say("110105194912310021")
    assert "校验码" in error.plain
    await person.say(VALID_ID)
    await person.say(VALID_PHONE)
    (error,) = await person.say("<b>Acme</b> & Co 贸易有限公司")
    assert "网页代码" in error.plain
    await person.say("Acme & Co 贸易有限公司")
    await person.say(VALID_USCC)
    (prompt,) = await person.say("800")
    assert "身份证照片" in prompt.plain
    (error,) = await person.photo(files.truncated_photo())
    assert "无法打开" in error.plain
    (prompt,) = await person.album([files.photo(seed=1), files.photo(seed=2)])
    assert prompt.plain.startswith("✅ 身份证人像面（正面）、身份证国徽面（背面）已收到。\n\n")
    assert "营业执照" in prompt.plain
    await person.document(files.pdf(), "licence.pdf", "application/pdf")
    (summary,) = await person.document(files.photo(seed=3, fmt="PNG"), "tax.png", "image/png")
    assert summary.plain.startswith("✅ 税务登记证明已收到。\n\n📋 申请汇总")
    assert "Acme &amp; Co" in summary.text
    assert "Acme & Co" in summary.plain
    (done,) = await person.tap("确认提交")
    assert "DX-2026-000001" in done.plain or "DX-" in done.plain
    (status,) = await person.say("/status")
    assert "已提交" in status.plain
    await person.no_more_messages()
    assert len(api.callback_answers) == person.presses
    assert not api.errors, api.errors


async def test_small_business_in_english_skips_the_optional_tax_proof(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(502, "Ann", language_code="en"))
    await person.say("/start", replies=2)
    await person.tap("I agree")
    await person.tap("Small business")
    await person.say("Ann Lee")
    await person.tap("resident ID")
    await person.say(VALID_ID)
    await person.say("+86 138 0013 8000")
    await person.say("Ann's Corner Shop")
    await person.say(VALID_USCC)
    (front,) = await person.photo(files.photo(seed=4))
    assert front.plain.startswith("✅ ID card, photo side (front) received.")
    await person.photo(files.photo(seed=5))
    (prompt,) = await person.photo(files.photo(seed=6))
    assert prompt.plain.startswith("✅ Business licence copy received.\n\n")
    assert "optional" in prompt.plain
    (summary,) = await person.tap("Skip")
    assert "skipped" in summary.plain
    (done,) = await person.tap("Submit")
    assert "submitted" in done.plain
    await person.no_more_messages()
    assert not api.errors, api.errors


async def test_individual_with_a_passport_pdf_submits(api: BotApiStandIn, bot: RunningBot) -> None:
    person = Person(api, FakeUser(503, "Lee", language_code="zh-hans"))
    await person.begin_with_passport("个人")
    (summary,) = await person.document(files.pdf(2), "passport.pdf", "application/pdf")
    assert summary.plain.startswith("✅ 护照信息页已收到。\n\n📋 申请汇总")
    (done,) = await person.tap("确认提交")
    assert "DX-" in done.plain
    await person.no_more_messages()


async def test_command_menu_is_registered_in_both_languages(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    await api.wait_idle()
    scopes = {key: [c["command"] for c in commands] for key, commands in api.commands.items()}
    assert scopes[("all_private_chats", "")][:3] == ["start", "help", "status"]
    assert scopes[("all_private_chats", "en")] == scopes[("all_private_chats", "")]
    english = {c["command"]: c["description"] for c in api.commands[("all_private_chats", "en")]}
    assert english["cancel"] == "Cancel the application in progress"


async def test_two_rapid_messages_are_handled_in_order(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(504, "快", language_code="zh-hans"))
    await person.begin_with_resident_id("企业")
    api.send_text(person.user, VALID_PHONE)
    api.send_text(person.user, "Quick Trading Ltd")
    first, second = await person.replies(2)
    assert "公司名称" in first.plain
    assert "统一社会信用代码" in second.plain
    await person.no_more_messages()


async def test_stickers_get_a_kind_answer_and_an_edit_says_how_to_change_an_answer(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(505, "S", language_code="zh-hans"))
    await person.begin("个人")
    api.send_sticker(person.user)
    (answer,) = await person.replies(1)
    assert "贴纸" in answer.plain
    update = api.send_text(person.user, "张三")
    await person.replies(1)
    api.edit_text(person.user, update, "李四")
    (answer,) = await person.replies(1)
    assert answer.plain.startswith("✏️ 修改已经发出的消息不会改变已保存的回答。")
    assert "/back" in answer.plain and "/summary" in answer.plain
    assert answer.button_data("上一步") == "nav:back:id_type"
    assert bot.runtime is not None
    with bot.runtime.service.unit_of_work() as uow:
        applicant = uow.load_applicant(person.user.id)
    assert applicant is not None and applicant.application is not None
    assert applicant.application.answers["full_name"] == "张三"


async def test_forwarded_text_is_not_taken_as_an_answer(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(506, "F", language_code="zh-hans"))
    await person.begin("个人")
    chat = {"id": person.user.id, "type": "private", "first_name": "F"}
    origin = {"type": "hidden_user", "sender_user_name": "Someone", "date": 1_700_000_000}
    message = {"message_id": 9_001, "from": person.user.to_json(), "chat": chat, "date": 1}
    api.inject_update({"message": message | {"text": "王五", "forward_origin": origin}})
    (answer,) = await person.replies(1)
    assert "转发的文字" in answer.plain
    assert bot.runtime is not None
    with bot.runtime.service.unit_of_work() as uow:
        applicant = uow.load_applicant(person.user.id)
    assert applicant is not None and applicant.application is not None
    assert "full_name" not in applicant.application.answers


async def test_restart_mid_application_loses_nothing(
    api: BotApiStandIn, bot: RunningBot, tmp_path: Path
) -> None:
    person = Person(api, FakeUser(506, "R", language_code="zh-hans"))
    await person.begin("个人")
    await person.say("张三")
    await person.tap("居民身份证")
    await bot.stop()

    again = RunningBot(api, tmp_path, bot.settings.database_url)
    await again.start()
    try:
        back, question = await person.say("/start", replies=2)
        assert "欢迎回来" in back.plain
        assert "身份证号码" in question.plain
        await person.say(VALID_ID)
        await person.say(VALID_PHONE)
        await person.album([files.photo(seed=7), files.photo(seed=8)])
        (done,) = await person.tap("确认提交")
        assert "DX-" in done.plain
    finally:
        await again.stop()


async def test_an_update_delivered_again_after_a_crash_is_applied_once(
    api: BotApiStandIn, bot: RunningBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = Person(api, FakeUser(507, "D", language_code="zh-hans"))
    await person.begin("个人")
    handle = ConversationService.handle
    committed = threading.Event()

    def dies_after_commit(service: ConversationService, incoming: Incoming) -> list[Reply]:
        replies = handle(service, incoming)
        if not committed.is_set():
            committed.set()
            hold_until(lambda: not bot.serving())  # dies here: applied, nothing sent
        return replies

    monkeypatch.setattr(ConversationService, "handle", dies_after_commit)
    api.send_text(person.user, "张三")
    await asyncio.to_thread(committed.wait, 10)
    await bot.crash()
    sent_before = len(api.messages_to(person.user.id))

    again = RunningBot(api, tmp_path, bot.settings.database_url)
    await again.start()
    try:
        (question,) = await person.replies(1)  # the redelivered update asks the next question
        assert "证件类型" in question.plain
        await person.no_more_messages()
        assert len(api.messages_to(person.user.id)) == sent_before + 1
        (answer,) = await person.tap("护照")
        assert "护照号码" in answer.plain
        (summary,) = await person.say("/summary")
        assert summary.plain.count("张三") == 1
    finally:
        await again.stop()


async def test_oversized_and_disguised_files_are_refused_over_telegram(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(508, "F", language_code="zh-hans"))
    await person.begin("个人")
    await person.say("张三")
    await person.tap("护照")
    await person.say("E12345678")
    await person.say(VALID_PHONE)
    api.send_document(
        person.user,
        files.pdf(),
        file_name="big.pdf",
        mime_type="application/pdf",
        declared_size=25 * 1024 * 1024,
    )
    (answer,) = await person.replies(1)
    assert "20 MB" in answer.plain
    (answer,) = await person.document(
        files.windows_executable(), "passport.pdf", "application/pdf"
    )
    assert "JPG、PNG" in answer.plain
    (answer,) = await person.document(files.encrypted_pdf(), "passport.pdf", "application/pdf")
    assert "密码" in answer.plain
    (summary,) = await person.document(files.pdf(), "passport.pdf", "application/pdf")
    assert "✅ 护照信息页" in summary.plain


async def test_a_photo_and_a_command_sent_together_are_applied_in_order(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(509, "O", language_code="zh-hans"))
    await person.begin_with_resident_id("个人")
    await person.say(VALID_PHONE)
    api.send_photo(person.user, files.photo(seed=21))
    api.send_text(person.user, "/summary")
    after_photo, summary = await person.replies(2)
    assert "国徽面" in after_photo.plain
    assert "已上传 1 份" in summary.plain


async def test_one_applicants_slow_update_does_not_hold_up_another(
    api: BotApiStandIn, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = Person(api, FakeUser(510, "Slow", language_code="zh-hans"))
    quick = Person(api, FakeUser(511, "Quick", language_code="zh-hans"))
    handle = ConversationService.handle

    slow_started, slow_may_finish = threading.Event(), threading.Event()

    def slow_for_one_user(service: ConversationService, incoming: Incoming) -> list[Reply]:
        if incoming.user.user_id == slow.user.id:
            slow_started.set()
            slow_may_finish.wait(PATIENCE)  # e.g. a large upload being checked
        return handle(service, incoming)

    monkeypatch.setattr(ConversationService, "handle", slow_for_one_user)
    api.send_text(slow.user, "/start")
    try:
        assert await asyncio.to_thread(slow_started.wait, PATIENCE)
        await quick.say("/start", replies=2)  # answered while the slow one is still busy
        assert api.messages_to(slow.user.id) == []
    finally:
        slow_may_finish.set()
    await slow.replies(2)


async def test_updates_kept_in_the_inbox_are_handled_after_a_restart(
    api: BotApiStandIn, bot: RunningBot, tmp_path: Path
) -> None:
    person = Person(api, FakeUser(512, "I", language_code="zh-hans"))
    await person.say("/start", replies=2)
    await bot.stop()
    assert bot.runtime is not None
    # an update fetched and kept, but not handled, when the process died
    kept = {
        "update_id": 99_001,
        "message": {
            "message_id": 77,
            "date": 0,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            "chat": {"id": person.user.id, "type": "private", "first_name": "I"},
            "from": {"id": person.user.id, "is_bot": False, "first_name": "I"},
        },
    }
    again = RunningBot(api, tmp_path, bot.settings.database_url)
    from cardbot.runtime import build_runtime

    seeding = build_runtime(again.settings)
    seeding.inbox.store(123456, {99_001: json.dumps(kept)})
    seeding.close()
    await again.start()
    try:
        help_text, _question = await person.replies(2)
        assert "/status" in help_text.plain
        assert again.runtime is not None
        runtime = again.runtime  # it leaves the inbox with the next batch, or 0.2 s after
        await until(lambda: runtime.inbox.pending(123456) == [], "the inbox emptied")
    finally:
        await again.stop()


async def test_the_hourly_purge_forgets_deliveries_older_than_a_week(
    api: BotApiStandIn, bot: RunningBot, tmp_path: Path
) -> None:
    person = Person(api, FakeUser(513, "J", language_code="zh-hans"))
    await person.say("/start", replies=2)  # remembered: handled just now
    await bot.stop()
    engine = make_engine(bot.settings.database_url)
    week_ago = datetime.now(UTC) - timedelta(days=8)
    with engine.begin() as connection:
        connection.execute(
            insert(ProcessedUpdateRow), [{"key": "tg:1:1", "processed_at": week_ago}]
        )
    again = RunningBot(api, tmp_path, bot.settings.database_url)
    await again.start()  # the purge job's first round runs at start
    try:

        def remembered() -> set[str]:
            with engine.connect() as connection:
                return set(connection.execute(select(ProcessedUpdateRow.key)).scalars())

        await until(lambda: "tg:1:1" not in remembered(), "the week-old delivery forgotten")
        assert len(remembered()) == 1
    finally:
        await again.stop()
        engine.dispose()


async def test_an_answered_question_loses_its_buttons_and_an_old_one_gets_only_a_toast(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    person = Person(api, FakeUser(511, "B", language_code="zh-hans"))
    await person.begin("个人")
    await person.say("张三")
    (id_number_prompt,) = await person.tap("居民身份证")
    old_back = id_number_prompt.button_data("上一步")
    # A person reads before answering: the chat has room again under Telegram's per-chat
    # pace, which a script answering at once would use up (then old buttons are only refused).
    await asyncio.sleep(READING_PAUSE)
    await person.say(VALID_ID)
    (phone_prompt,) = await person.say(VALID_PHONE)
    assert "身份证照片" in phone_prompt.plain
    await api.wait_idle(quiet=0.3)
    assert id_number_prompt.buttons == []  # answered: its keyboard was edited away
    assert phone_prompt.buttons != []
    answered = len(api.callback_answers)
    api.press_button(person.user, id_number_prompt, old_back)
    await api.wait_until(lambda: len(api.callback_answers) > answered, 15, "old button answered")
    assert api.callback_answers[-1]["text"] == (
        "这个按钮属于之前的问题，已经失效，什么也没有改变。请使用最新消息中的按钮。"
    )
    await person.no_more_messages()
    assert bot.runtime is not None
    with bot.runtime.service.unit_of_work() as uow:
        applicant = uow.load_applicant(person.user.id)
    assert applicant is not None and applicant.state == "id_card"
    assert not api.errors, api.errors
