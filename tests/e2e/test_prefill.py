"""End to end: with documents read (CARDBOT_OCR on), applicants send their photos first and
confirm what the running bot read off them instead of typing it (issue 20): an enterprise from
/start to submitted in 11 own actions, an individual in 6, over the real python-telegram-bot
stack and the Bot API stand-in, the photos read by the real OCR in the reading pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cardbot.db.models import AnswerRow, ApplicationRow
from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeUser, SentMessage
from tests.support.harness import VALID_PHONE
from tests.support.synthetic_documents import Sample, id_card, licence_pdf, needs_fonts, sample
from tests.support.waiting import READING

pytest.importorskip(
    "rapidocr_onnxruntime", reason="the OCR extra is not installed: pip install -e '.[ocr]'"
)
pytestmark = needs_fonts


class CountingPerson(Person):
    """A person whose own actions are counted: each message, tap, photo and album is one."""

    actions = 0

    async def say(self, text: str, replies: int = 1) -> list[SentMessage]:
        """Send a text message (one action) and wait for the replies."""
        self.actions += 1
        return await super().say(text, replies)

    async def tap(self, label: str, replies: int = 1) -> list[SentMessage]:
        """Press a button of the last message (one action)."""
        self.actions += 1
        return await super().tap(label, replies)

    async def photo(self, data: bytes, replies: int = 1) -> list[SentMessage]:
        """Send a photo (one action)."""
        self.actions += 1
        return await super().photo(data, replies)

    async def album(self, photos: list[bytes]) -> list[SentMessage]:
        """Send an album (one action, however many photos)."""
        self.actions += 1
        return await super().album(photos)


@pytest.fixture
async def reading_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """cardbot reading documents (the OCR extra installed), on SQLite."""
    running = RunningBot(api, tmp_path, None, ocr="auto")
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def stored_answers(bot: RunningBot, user_id: int) -> tuple[str, dict[str, str]]:
    """The status and the answers stored for the person's application."""
    engine = create_engine(bot.settings.database_url)
    with engine.connect() as connection:
        application = connection.execute(
            select(ApplicationRow.id, ApplicationRow.status).where(
                ApplicationRow.user_id == user_id
            )
        ).one()
        rows = connection.execute(
            select(AnswerRow.field, AnswerRow.value).where(
                AnswerRow.application_id == application.id
            )
        ).all()
    engine.dispose()
    return application.status, {row.field: row.value for row in rows}


async def begin_with_id_card(
    person: Person, category: str, front: Sample, back: Sample
) -> SentMessage:
    """Start as `category`, give the phone number and the ID card's album: the proposal."""
    await person.begin(category)
    await person.say(VALID_PHONE)
    await person.album([front.image, back.image])
    (proposal,) = await person.replies(1, timeout=READING)
    return proposal


async def test_an_enterprise_applies_in_eleven_actions_confirming_what_was_read(
    api: BotApiStandIn, reading_bot: RunningBot
) -> None:
    front, back = id_card("clear", seed=3)
    licence = sample("business_license", "clear", seed=4)
    person = CountingPerson(api, FakeUser(960, "E", language_code="zh-hans"))
    await person.begin("企业")
    await person.say(VALID_PHONE)
    (received,) = await person.album([front.image, back.image])
    assert "正在读取照片上的文字" in received.plain
    (proposal,) = await person.replies(1, timeout=READING)
    assert f"姓名：{front.truth.name}" in proposal.plain
    assert front.truth.id_number[:4] + "**********" in proposal.plain  # masked
    await person.tap("对，就是这些")
    await person.photo(licence.image)
    (proposal,) = await person.replies(1, timeout=READING)
    assert f"公司名称：{licence.truth.company_name}" in proposal.plain
    assert f"统一社会信用代码：{licence.truth.uscc}" in proposal.plain
    await person.tap("对，就是这些")
    await person.say("300")
    await person.photo(files.photo(seed=5))  # the tax registration proof
    (submitted,) = await person.tap("确认提交")
    assert "申请已提交" in submitted.plain
    assert person.actions == 11  # /start, consent, category and the eight above
    status, answers = stored_answers(reading_bot, 960)
    assert status == "submitted"
    assert answers == {
        "id_type": "resident_id",
        "phone": "+86" + VALID_PHONE,
        "full_name": front.truth.name,
        "id_number": front.truth.id_number,
        "company_name": licence.truth.company_name,
        "uscc": licence.truth.uscc,
        "daily_call_volume": "300",
    }  # and nothing read is kept beside them
    await person.no_more_messages()
    assert not api.errors, api.errors


async def test_an_individual_applies_in_six_actions_the_last_tap_confirming_and_submitting(
    api: BotApiStandIn, reading_bot: RunningBot
) -> None:
    front, back = id_card("clear", seed=7)
    person = CountingPerson(api, FakeUser(961, "I", language_code="zh-hans"))
    await person.begin("个人")
    await person.say(VALID_PHONE)
    await person.album([front.image, back.image])
    (proposal,) = await person.replies(1, timeout=READING)
    assert "已经齐全" in proposal.plain and f"姓名：{front.truth.name}" in proposal.plain
    (submitted,) = await person.tap("提交申请")
    assert "申请已提交" in submitted.plain
    assert person.actions == 6
    status, answers = stored_answers(reading_bot, 961)
    assert status == "submitted"
    assert answers["full_name"] == front.truth.name
    assert answers["id_number"] == front.truth.id_number
    await person.no_more_messages()
    assert not api.errors, api.errors


async def test_an_electronic_licence_sent_as_a_pdf_is_proposed_like_a_photo(
    api: BotApiStandIn, reading_bot: RunningBot
) -> None:
    licence = sample("business_license", "clear", seed=8)
    person = Person(api, FakeUser(962, "P", language_code="zh-hans"))
    await begin_with_id_card(person, "企业", *id_card("clear", seed=8))
    await person.tap("对，就是这些")
    await person.document(licence_pdf(licence.truth), "营业执照.pdf", "application/pdf")
    (proposal,) = await person.replies(1, timeout=READING)
    assert f"公司名称：{licence.truth.company_name}" in proposal.plain
    assert f"统一社会信用代码：{licence.truth.uscc}" in proposal.plain
    await person.tap("对，就是这些")
    _status, answers = stored_answers(reading_bot, 962)
    assert (answers["company_name"], answers["uscc"]) == (
        licence.truth.company_name,
        licence.truth.uscc,
    )
    assert not api.errors, api.errors
