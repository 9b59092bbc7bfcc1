"""Reading real photos (synthetic documents) with the OCR engine, through the reading pool."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fpdf import FPDF

from cardbot.reading.crosscheck import ReadingFlag, crosscheck
from cardbot.reading.model import FAILED, Reading
from cardbot.reading.pool import ReadingLimits, configure, read_document, shutdown
from tests.support.synthetic_documents import (
    Sample,
    id_card,
    licence_pdf,
    needs_fonts,
    sample,
    scanned_pdf,
)

pytest.importorskip(
    "rapidocr_onnxruntime", reason="the OCR extra is not installed: pip install -e '.[ocr]'"
)
pytestmark = needs_fonts
DAY = date(2026, 1, 1)


@pytest.fixture(scope="module")
def pool() -> Iterator[None]:
    """The reading pool with its default limits, stopped after these tests."""
    configure(ReadingLimits(workers=1))
    yield
    shutdown()


@pytest.fixture(scope="module")
def card(pool: None) -> tuple[Sample, Sample, Reading, Reading]:
    """Both sides of a clear ID card, and what was read from each."""
    front, back = id_card("clear", seed=3)
    return (
        front,
        back,
        read_document("id_front", front.image),
        read_document("id_back", back.image),
    )


def answers(truth: object) -> dict[str, str]:
    return {
        "full_name": getattr(truth, "name", ""),
        "id_number": getattr(truth, "id_number", ""),
        "company_name": getattr(truth, "company_name", ""),
        "uscc": getattr(truth, "uscc", ""),
    }


def test_an_id_card_is_read_exactly(card: tuple[Sample, Sample, Reading, Reading]) -> None:
    front, _back, front_read, back_read = card
    truth = front.truth
    assert (front_read.looks_like, front_read.name, front_read.id_number) == (
        "id_front",
        truth.name,
        truth.id_number,
    )
    assert (back_read.looks_like, back_read.authority, back_read.valid_from) == (
        "id_back",
        truth.authority,
        truth.valid_from,
    )
    assert (back_read.valid_until, back_read.permanent) == (truth.valid_until, truth.permanent)


def test_a_clear_card_of_matching_data_raises_no_flag(
    card: tuple[Sample, Sample, Reading, Reading],
) -> None:
    front, _back, front_read, back_read = card
    assert front_read.valid_until is None and back_read.valid_from is not None
    day = back_read.valid_from + timedelta(days=1)
    assert crosscheck(answers(front.truth), [front_read, back_read], day) == []


def test_an_id_expired_before_the_day_of_submission_is_flagged(
    card: tuple[Sample, Sample, Reading, Reading],
) -> None:
    _front, back, _front_read, back_read = card
    until = back.truth.valid_until
    assert until is not None  # seed 3 draws a card with an end date
    assert crosscheck({}, [back_read], until) == []
    assert crosscheck({}, [back_read], until + timedelta(days=1)) == [
        ReadingFlag("id_expired", "id_back")
    ]


def test_a_typed_name_that_is_not_on_the_card_is_flagged(
    card: tuple[Sample, Sample, Reading, Reading],
) -> None:
    front, _back, front_read, _back_read = card
    typed = {**answers(front.truth), "full_name": "欧阳娜娜"}
    assert crosscheck(typed, [front_read], DAY) == [
        ReadingFlag("name_mismatch", "id_front", "full_name")
    ]


def test_the_back_given_for_the_front_is_the_wrong_side(
    card: tuple[Sample, Sample, Reading, Reading], pool: None
) -> None:
    _front, back, _front_read, _back_read = card
    reading = read_document("id_front", back.image)
    assert reading.looks_like == "id_back"
    assert crosscheck({}, [reading], DAY) == [ReadingFlag("document_side_wrong", "id_front")]


def test_a_passport_and_a_licence_are_read_exactly(pool: None) -> None:
    passport = sample("passport", "clear", seed=1)
    read = read_document("passport", passport.image)
    truth = passport.truth
    assert (read.passport_number, read.passport_expiry, read.passport_name) == (
        truth.passport_number,
        truth.passport_expiry,
        truth.passport_name,
    )
    licence = sample("business_license", "skew", seed=1)
    read = read_document("business_license", licence.image)
    assert (read.uscc, read.uscc_from_qr, read.company_name) == (
        licence.truth.uscc,
        licence.truth.uscc,
        licence.truth.company_name,
    )
    assert crosscheck(answers(licence.truth), [read], DAY) == []


LICENCE_PDFS = {
    "its own text": lambda licence: licence_pdf(licence.truth),
    "a colour scan": lambda licence: scanned_pdf(licence.image),
    "a black-and-white scan": lambda licence: scanned_pdf(licence.image, black_and_white=True),
}


@pytest.mark.parametrize("form", LICENCE_PDFS)
def test_a_licence_sent_as_a_pdf_is_read_exactly(pool: None, form: str) -> None:
    licence = sample("business_license", "clear", seed=6)
    read = read_document("business_license", LICENCE_PDFS[form](licence))
    assert (read.uscc, read.uscc_from_qr, read.company_name) == (
        licence.truth.uscc,
        licence.truth.uscc,
        licence.truth.company_name,
    )
    assert crosscheck(answers(licence.truth), [read], DAY) == []


def test_a_pdf_with_neither_text_nor_a_picture_is_nothing_read(pool: None) -> None:
    blank = FPDF()
    blank.add_page()
    reading = read_document("business_license", bytes(blank.output()))
    assert reading == Reading(kind="business_license", status=FAILED)


def test_a_passport_photographed_in_dim_light_is_read_exactly(pool: None) -> None:
    passport = sample("passport", "dim", seed=1)
    read = read_document("passport", passport.image)
    assert (read.passport_number, read.passport_expiry) == (
        passport.truth.passport_number,
        passport.truth.passport_expiry,
    )


def test_a_read_past_its_time_is_nothing_read_not_an_error(pool: None) -> None:
    configure(ReadingLimits(wall_seconds=0.05, workers=1))
    try:
        reading = read_document("id_front", id_card("clear", seed=3)[0].image)
    finally:
        configure(ReadingLimits(workers=1))
    assert reading == Reading(kind="id_front", status=FAILED)
    assert crosscheck({"full_name": "张三"}, [reading], DAY) == []
