"""Submitted packages are read for real (RapidOCR in the reading pool) and what the photos say
against the typed answers reaches the review card (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cardbot.reading.pool import shutdown
from cardbot.reading.review_job import read_waiting
from tests.support.harness import VALID_PHONE, Harness
from tests.support.synthetic_documents import Sample, id_card, needs_fonts

pytest.importorskip(
    "rapidocr_onnxruntime", reason="the OCR extra is not installed: pip install -e '.[ocr]'"
)
pytestmark = needs_fonts

GROUP = -100777


@pytest.fixture(autouse=True)
def reading_pool() -> Iterator[None]:
    yield
    shutdown()


def submit_individual(chat: Harness, name: str, front: Sample, back: Sample) -> None:
    """An individual applies with a resident ID card: typed name and number, both photos."""
    chat.start_as("individual")
    chat.text(name)
    chat.press("pick:id_type:resident_id")
    chat.text(front.truth.id_number)
    chat.text(VALID_PHONE)
    chat.upload(front.image, group="album")
    chat.upload(back.image, group="album")
    chat.press("nav:submit")
    assert chat.applicant.application is not None
    assert chat.applicant.application.number is not None


def test_a_name_that_is_not_on_the_id_card_is_flagged_on_the_card(tmp_path: Path) -> None:
    chat = Harness(tmp_path, review_chat_id=GROUP)
    front, back = id_card("clear", seed=3)
    submit_individual(chat, "欧阳娜娜", front, back)
    (card,) = read_waiting(chat.service.review, chat.service.documents)
    shown = chat.renderer.render(card).text
    assert "身份证人像面（正面） · 证件上读到的姓名与填写的不一致" in shown
    assert "号码与填写的不一致" not in shown  # the number typed is the one on the card
    assert front.truth.name not in shown and "欧阳娜娜" not in shown
    assert read_waiting(chat.service.review, chat.service.documents) == []  # read once


def test_a_clear_photo_of_matching_data_raises_nothing(tmp_path: Path) -> None:
    chat = Harness(tmp_path, review_chat_id=GROUP)
    front, back = id_card("clear", seed=5)
    submit_individual(chat, front.truth.name, front, back)
    assert read_waiting(chat.service.review, chat.service.documents) == []
    app = chat.applicant.application
    with chat.unit_of_work() as uow:
        stored = uow.load_application(app.number)  # type: ignore[union-attr, arg-type]
    assert stored is not None and stored.flags == [] and stored.review.read_round == 1
