"""End to end: whole journeys over the Bot API stand-in, and not one message that reads wrong.

A first-time applicant in Chinese and one in English, a reviewer in the review group and a
staff member each go through their whole journey against the real python-telegram-bot stack.
Every message and every edit the stand-in received is then read as Telegram would show it
(after parsing its HTML) and screened for what a reader would notice: glued lines, empty
bullets, markup left over, "(s)" plurals, over-long texts, oversized button data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cardbot.core.roles import REVIEWER, STAFF
from tests.e2e.conftest import RunningBot
from tests.support import files
from tests.support.botapi_standin import (
    BotApiStandIn,
    FakeChat,
    FakeUser,
    SentMessage,
    html_to_plain,
)
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC
from tests.support.transcript import shown_problems
from tests.support.waiting import until

REVIEW = FakeChat(-1009876543299, "supergroup", "cardbot review")
REVIEWER_USER = FakeUser(950, "Li", language_code="zh-hans")
STAFF_USER = FakeUser(951, "Wang", language_code="zh-hans")
TYPED = ("<b>Acme</b> & Co",)


@pytest.fixture
async def desk_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """cardbot with a review group, a reviewer and a staff member."""
    api.add_chat(REVIEW)
    running = RunningBot(api, tmp_path, None, review_chat_id=REVIEW.id)
    await running.start()
    assert running.runtime is not None
    with running.runtime.service.unit_of_work() as uow:
        uow.roles.grant(REVIEWER_USER.id, REVIEWER, None)
        uow.roles.grant(STAFF_USER.id, STAFF, None)
        uow.commit()
    try:
        yield running
    finally:
        await running.stop()


class Viewer:
    """Someone acting through the stand-in, who waits until the bot has answered each time."""

    def __init__(
        self, api: BotApiStandIn, bot: RunningBot, user: FakeUser, chat_id: int | None = None
    ) -> None:
        self.api = api
        self.bot = bot
        self.user = user
        self.chat_id = chat_id if chat_id is not None else user.id

    def _activity(self) -> int:
        sent = [m for chat in (self.chat_id, self.user.id) for m in self.api.messages_to(chat)]
        return len(sent) + sum(len(m.edits) for m in sent) + len(self.api.callback_answers)

    async def _settle(self, before: int) -> None:
        await self.api.wait_until(lambda: self._activity() > before, 20, "an answer")
        await until(self.bot.settled, "every update handled and every message sent", 30)
        await self.api.wait_idle(quiet=0.3, timeout=30)

    def last_with(self, label: str) -> SentMessage:
        """The newest message in this chat with a button whose label contains `label`."""
        for message in reversed(self.api.messages_to(self.chat_id)):
            if any(label in text for row in message.buttons for text, _data in row):
                return message
        shown = [(m.plain[:80], m.buttons) for m in self.api.messages_to(self.chat_id)]
        raise AssertionError(f"no button {label!r}; {shown}; {self.api.callback_answers}")

    async def say(self, text: str) -> None:
        """Type a message (in a group: as a command the bot sees in privacy mode)."""
        before = self._activity()
        chat = None if self.chat_id == self.user.id else REVIEW
        self.api.send_text(self.user, text, chat=chat)
        await self._settle(before)

    async def tap(self, label: str) -> None:
        """Tap the newest button whose label contains `label`."""
        message = self.last_with(label)
        before = self._activity()
        self.api.press_button(self.user, message, message.button_data(label))
        await self._settle(before)

    async def photo(self, data: bytes) -> None:
        """Send a photo."""
        before = self._activity()
        self.api.send_photo(self.user, data)
        await self._settle(before)

    async def album(self, photos: list[bytes]) -> None:
        """Send photos as one album."""
        before = self._activity()
        self.api.send_album(self.user, photos)
        await self._settle(before)

    async def document(self, data: bytes, name: str, mime: str) -> None:
        """Send a file."""
        before = self._activity()
        self.api.send_document(self.user, data, file_name=name, mime_type=mime)
        await self._settle(before)


def problems_in(api: BotApiStandIn, *chat_ids: int) -> list[str]:
    """Every fault a reader would notice in what the chats were shown, edits included."""
    found = []
    for chat_id in chat_ids:
        for message in api.messages_to(chat_id):
            if message.kind != "text" and not message.text:
                continue  # a photo or document without caption
            versions = [*message.edits, message.text]
            for text in versions:
                plain = text if message.parse_mode is None else html_to_plain(text)
                for problem in shown_problems(plain, message.buttons, TYPED):
                    found.append(f"#{message.message_id} in {chat_id}: {problem}\n{plain}")
    return found


async def test_a_chinese_applicant_and_a_reviewer_see_nothing_that_reads_wrong(
    api: BotApiStandIn, desk_bot: RunningBot
) -> None:
    applicant = Viewer(api, desk_bot, FakeUser(960, "张", language_code="zh-hans"))
    reviewer = Viewer(api, desk_bot, REVIEWER_USER, REVIEW.id)
    await applicant.say("/start")
    await applicant.tap("同意")
    await applicant.tap("个人")
    await applicant.say("张三3")
    await applicant.say("张三")
    await applicant.tap("居民身份证")
    await applicant.say(VALID_ID)
    await applicant.say("多久能批下来？")
    await applicant.say(VALID_PHONE)
    await applicant.album([files.photo(seed=1), files.photo(seed=2)])
    await applicant.say("/status")
    await applicant.say("/mydata")
    await applicant.tap("确认提交")
    await reviewer.say("/queue")
    await reviewer.tap("认领")
    await reviewer.tap("通过")
    await reviewer.tap("确认通过")
    await applicant.say("/status")
    await applicant.say("/help")
    assert any("已通过" in m.plain for m in api.messages_to(applicant.user.id))
    assert problems_in(api, applicant.user.id, REVIEW.id) == []


async def test_an_english_enterprise_applicant_asked_to_resend_sees_nothing_that_reads_wrong(
    api: BotApiStandIn, desk_bot: RunningBot
) -> None:
    applicant = Viewer(api, desk_bot, FakeUser(961, "John", language_code="en"))
    reviewer = Viewer(api, desk_bot, REVIEWER_USER, REVIEW.id)
    await applicant.say("/start")
    await applicant.tap("agree")
    await applicant.tap("Enterprise")
    await applicant.say("John Smith")
    await applicant.tap("Passport")
    await applicant.say("E12345678")
    await applicant.say("+44 20 7946 0958")
    await applicant.say("<b>Acme</b> & Co")
    await applicant.say("Acme & Co., Ltd.")
    await applicant.say(VALID_USCC)
    await applicant.say("300")
    await applicant.document(files.pdf(), "passport.pdf", "application/pdf")
    await applicant.document(files.pdf(pages=2), "licence.pdf", "application/pdf")
    await applicant.photo(files.photo(seed=7))
    await applicant.tap("Submit")
    await reviewer.tap("认领")
    for label in ("要求补充", "营业执照", "发送，原因：文件看不清"):
        await reviewer.tap(label)
    await applicant.say("/status")
    await applicant.document(files.pdf(pages=3), "licence-2.pdf", "application/pdf")
    await applicant.tap("Submit")
    await reviewer.tap("通过")
    await reviewer.tap("确认通过")
    assert any("approved" in m.plain for m in api.messages_to(applicant.user.id))
    assert problems_in(api, applicant.user.id, REVIEW.id) == []


async def test_a_staff_member_editing_the_faq_sees_nothing_that_reads_wrong(
    api: BotApiStandIn, desk_bot: RunningBot
) -> None:
    staff = Viewer(api, desk_bot, STAFF_USER)
    await staff.say("/faqadmin")
    await staff.tap("legality")
    await staff.tap("中文回答")
    await staff.say("新的回答：请向<b>运营商</b>核实。")
    await staff.tap("发布")
    await staff.tap("修改记录")
    await staff.say("/unanswered")
    assert problems_in(api, staff.user.id) == []
