"""End to end: a small business submits photos of its ID card and licence over Telegram; the
running bot reads them in the background and the review card shows what does not match what
was typed (issue 20). The applicant is told nothing of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.e2e.test_prefill import begin_with_id_card
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser
from tests.support.harness import VALID_USCC
from tests.support.synthetic_documents import id_card, needs_fonts, sample
from tests.support.waiting import READING

pytest.importorskip(
    "rapidocr_onnxruntime", reason="the OCR extra is not installed: pip install -e '.[ocr]'"
)
pytestmark = needs_fonts

REVIEW = FakeChat(-1009876543211, "supergroup", "cardbot review")


@pytest.fixture
async def reading_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """cardbot with a review group, reading submitted packages every half second."""
    api.add_chat(REVIEW)
    running = RunningBot(
        api, tmp_path, None, review_chat_id=REVIEW.id, reading_interval=0.5, ocr="auto"
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_reviewers_see_what_the_photos_say_against_the_answers(
    api: BotApiStandIn, reading_bot: RunningBot
) -> None:
    front, back = id_card("clear", seed=3)
    licence_photo = sample("business_license", "clear", seed=4)
    person = Person(api, FakeUser(950, "R", language_code="zh-hans"))
    await begin_with_id_card(person, "小微", front, back)  # what was read off it, proposed
    await person.say("欧阳娜娜")  # typed instead: not the name on the card
    await person.tap("对，就是这些")  # the ID number read
    await person.photo(licence_photo.image)
    await person.replies(1, timeout=READING)  # the licence's name and code, proposed
    await person.tap("自己输入")
    await person.say(licence_photo.truth.company_name)
    await person.say(VALID_USCC)  # not the code on the licence
    await person.tap("跳过")
    await person.tap("确认提交")
    card = await api.next_message(REVIEW.id, timeout=15)
    assert "预审提示" not in card.plain
    await api.wait_until(lambda: "不一致" in card.plain, 90, "the card shows the reading")
    assert "身份证人像面（正面） · 证件上读到的姓名与填写的不一致" in card.plain
    assert "营业执照复印件 · 执照上读到的统一社会信用代码与填写的不一致" in card.plain
    assert "名称与填写的公司名称不一致" not in card.plain
    assert "欧阳娜娜" not in card.plain and front.truth.name not in card.plain
    await person.no_more_messages()  # the applicant hears nothing of it
    assert not api.errors, api.errors
