"""Checks of typed answers, with published valid and invalid numbers."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import ric

from cardbot.core.text import clean_line, mask_id_number
from cardbot.core.validation import (
    company_name,
    credit_code,
    daily_call_volume,
    id_number,
    person_name,
    phone,
)

TODAY = date(2026, 11, 30)
RESIDENT = {"id_type": "resident_id"}
PASSPORT = {"id_type": "passport"}


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the example from GB 11643-1999
        "11010519491231002x",  # lower-case check character
        "110105 1949 1231 002X",  # typed with spaces
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width characters from a Chinese keyboard
        "110105200811300015",  # turns 18 today
    ],
)
def test_valid_resident_id_numbers_pass(number: str) -> None:
    verdict = id_number(number, RESIDENT, TODAY)
    assert verdict.ok, verdict
    assert verdict.value is not None and len(verdict.value) == 18


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "checksum"),
        ("11010519491231002", "length"),
        ("1101051949123100211", "length"),
        ("110105194913310021", "component"),  # month 13
        ("990105194912310023", "component"),  # no such region
        ("ABCDEFGHIJKLMNOPQR", "format"),
        ("", "length"),
    ],
)
def test_invalid_resident_id_numbers_say_why(number: str, reason: str) -> None:
    verdict = id_number(number, RESIDENT, TODAY)
    assert verdict.problem == "invalid_id_number"
    assert verdict.details["reason"] == reason


def test_a_county_code_missing_from_the_region_table_is_refused_not_a_crash() -> None:
    verdict = id_number("11000719900101123X", RESIDENT, TODAY)
    assert verdict.problem == "invalid_id_number"


def test_applicant_must_be_eighteen_on_the_day() -> None:
    assert id_number("11010520081201001X", RESIDENT, TODAY).problem == "underage"
    assert id_number("11010520081201001X", RESIDENT, date(2026, 12, 1)).ok


def test_a_year_of_birth_no_one_alive_has_is_a_mistyped_number() -> None:
    def born(yyyymmdd: str) -> str:
        body = f"110101{yyyymmdd}123"
        return body + ric.calc_check_digit(body + "0")  # the check digit of the first 17

    assert id_number(born("19051201"), RESIDENT, TODAY).ok  # 120, 121 tomorrow
    assert id_number(born("19051130"), RESIDENT, TODAY).problem == "invalid_id_number"  # 121
    assert id_number(born("19000101"), RESIDENT, TODAY).details["reason"] == "component"


@pytest.mark.parametrize("number", ["E12345678", "G12345678", "m1234567", "123456789", "X1234567"])
def test_passport_numbers_of_reasonable_shape_pass(number: str) -> None:
    assert id_number(number, PASSPORT, TODAY).ok


@pytest.mark.parametrize("number", ["", "ABCDEFGH", "E12", "E1234567890123456789", "<b>E1</b>"])
def test_implausible_passport_numbers_fail(number: str) -> None:
    assert id_number(number, PASSPORT, TODAY).problem == "invalid_passport_number"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("010 6552 9988", "+861065529988"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_checked_and_normalised(typed: str, stored: str) -> None:
    assert phone(typed, {}, TODAY).value == stored


@pytest.mark.parametrize("typed", ["12345", "1380013800", "phone", "", "+1 555", "😀"])
def test_invalid_phone_numbers_fail(typed: str) -> None:
    assert phone(typed, {}, TODAY).problem == "invalid_phone"


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # published example of an enterprise code
        "911101080828461726",
        "91110000600037341L",
        "N2350100MA32MBW05C",  # letter as the registration-authority character
        "Y1110000MA01ABCD23",
    ],
)
def test_valid_credit_codes_pass(code: str) -> None:
    from stdnum.cn import uscc

    # the letter-first examples are built to carry a correct check character
    assert uscc.calc_check_digit(code[:-1]) == code[-1]
    assert credit_code(code, {}, TODAY).value == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "checksum"),
        ("N2350100MA32MBW05D", "checksum"),
        ("91350100M000100Y4", "format"),
        ("9135010OM000100Y43", "format"),  # letter O is not in the code alphabet
        ("", "format"),
    ],
)
def test_invalid_credit_codes_fail(code: str, reason: str) -> None:
    verdict = credit_code(code, {}, TODAY)
    assert verdict.problem == "invalid_uscc"
    assert verdict.details["reason"] == reason


@pytest.mark.parametrize(
    "name", ["张三", "欧阳娜娜", "Ann Lee", "Jean-Luc Picard", "阿依古丽·买买提"]
)
def test_names_in_any_script_pass(name: str) -> None:
    assert person_name(name, {}, TODAY).value == name


@pytest.mark.parametrize("name", ["", "   ", "<b>x</b>", "12345", "Ann 😀", "x" * 51, "a\u202eb1"])
def test_implausible_names_fail(name: str) -> None:
    assert person_name(name, {}, TODAY).problem == "invalid_name"


def test_company_names_keep_their_punctuation_and_reject_nonsense() -> None:
    assert company_name("北京某某科技有限公司", {}, TODAY).ok
    assert company_name("Acme & Co., Ltd.", {}, TODAY).value == "Acme & Co., Ltd."
    for bad in ("", "!!!", "12345678", "x", "a" * 101):
        assert not company_name(bad, {}, TODAY).ok, bad


@pytest.mark.parametrize(
    "name",
    [
        "Acme & Co., Ltd.",
        "北京某某科技有限公司",
        "北京某某（集团）有限公司",
        "AT&T (China) Co., Ltd.",
        "Ann's Corner Shop",
        "A.B.C. Trading",
        "3M China Ltd.",
        "Acme Co.,Ltd.",
    ],
)
def test_real_company_names_with_punctuation_pass(name: str) -> None:
    assert company_name(name, {}, TODAY).ok, name


@pytest.mark.parametrize(
    "junk",
    [
        "<b>x</b> & <script>",
        "<b>Acme</b> & Co",
        "Acme {{ x }}",
        "Acme; drop table",
        "Acme && Co",
        "Acme -- Co",
        "A&" * 50,
        "*Acme* Ltd",
    ],
)
def test_markup_and_runs_of_symbols_are_not_a_company_name(junk: str) -> None:
    assert company_name(junk, {}, TODAY).details == {"reason": "symbols"}, junk


def test_daily_call_volume_is_a_whole_number_in_range() -> None:
    assert daily_call_volume("1,500", {}, TODAY).value == "1500"
    assert daily_call_volume("５００", {}, TODAY).value == "500"
    for bad in ("0", "-5", "lots", "1.5", "10000001", ""):
        assert not daily_call_volume(bad, {}, TODAY).ok, bad


def test_control_and_direction_characters_are_removed() -> None:
    assert clean_line("\u202e张\u200b三\x00 \n ") == "张三"


def test_id_numbers_are_masked_for_display() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_id_number("E12345678") == "E1*****78"
