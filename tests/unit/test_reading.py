"""Reading documents without OCR: code correction, the MRZ, parsing OCR lines, cross-checks."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from datetime import date

import pytest
from PIL import Image, ImageEnhance, ImageStat

from cardbot.config import ConfigError, load_settings
from cardbot.reading.blur import is_blurry, sharpness
from cardbot.reading.codes import (
    credit_code_from,
    find_credit_code,
    find_resident_id,
    resident_id_from,
)
from cardbot.reading.crosscheck import (
    ReadingFlag,
    company_key,
    crosscheck,
    is_expired,
    same_company,
    same_name,
)
from cardbot.reading.engine import lifted
from cardbot.reading.model import FAILED, NO_TEXT, READ, Line, Reading
from cardbot.reading.mrz import check_digit, read_mrz
from cardbot.reading.parse import looks_like, parse
from tests.support.synthetic_documents import (
    credit_code,
    id_front_truth,
    mrz_lines,
    needs_fonts,
    passport_truth,
    sample,
)

ID = "11010119900307803X"  # a valid resident ID number (check character X)
USCC = "91350100M000100Y43"  # python-stdnum's example credit code
DAY = date(2026, 6, 1)


def line(text: str, x: float = 0, y: float = 0, score: float = 1.0) -> Line:
    """An OCR line of `text` at (x, y), 30 px high and 30 px a character wide."""
    return Line(text, score, x, y, 30.0 * len(text), 30.0)


# --- codes ---------------------------------------------------------------------------------


def test_a_correct_id_number_reads_as_itself() -> None:
    assert resident_id_from(ID) == ID


def test_letters_read_for_digits_are_undone() -> None:
    assert resident_id_from("11O1O119900307803x") == ID
    assert credit_code_from("9135O1OOM000100Y43") == USCC


def test_one_wrong_character_is_corrected_only_when_one_candidate_passes() -> None:
    # Every single-character misreading of 5 numbers: put right when only one substitution
    # passes python-stdnum's checks (then it is the original), else not read; never wrong.
    rng = random.Random(1)
    corrected = 0
    for _ in range(5):
        number = id_front_truth(rng).id_number
        for i in range(18):
            for c in "0123456789":
                if c != number[i]:
                    result = resident_id_from(number[:i] + c + number[i + 1 :])
                    assert result in (number, None)
                    corrected += result == number
    assert corrected > 50  # out of 810


def test_a_wrong_body_digit_with_several_candidates_is_not_guessed() -> None:
    wrong = "11010119900307813X"  # one digit changed in the sequence number
    assert resident_id_from(wrong) is None
    assert credit_code_from(USCC[:17] + "0") is None  # each position has a candidate


def test_generated_codes_pass_their_own_checks() -> None:
    rng = random.Random(5)
    for _ in range(50):
        code = credit_code(rng)
        assert credit_code_from(code) == code
        truth = id_front_truth(rng)
        assert resident_id_from(truth.id_number) == truth.id_number


def test_codes_are_found_inside_ocr_lines() -> None:
    assert find_resident_id(f"公民身份号码{ID}") == ID
    assert find_credit_code(f"统一社会信用代码{USCC}") == USCC
    assert find_resident_id("1990年3月7日") is None


# --- MRZ -----------------------------------------------------------------------------------


def test_icao_check_digits() -> None:
    # ICAO 9303 part 3's worked example: L898902C3 → 6, 740812 → 2, 120415 → 9.
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"


def test_a_generated_mrz_reads_back() -> None:
    truth = passport_truth(random.Random(1))
    line1, line2 = mrz_lines(truth, date(1980, 5, 17), "F")
    mrz = read_mrz([line1, line2])
    assert mrz is not None
    assert (mrz.number, mrz.expiry, mrz.birth, mrz.name) == (
        truth.passport_number,
        truth.passport_expiry,
        date(1980, 5, 17),
        truth.passport_name,
    )


def test_an_mrz_field_with_a_wrong_check_digit_is_not_read() -> None:
    truth = passport_truth(random.Random(2))
    _line1, line2 = mrz_lines(truth, date(1980, 5, 17), "M")
    broken = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    mrz = read_mrz([broken])
    assert mrz is not None and mrz.number is None and mrz.expiry == truth.passport_expiry


def test_an_mrz_read_with_o_for_zero_and_spaces() -> None:
    truth = passport_truth(random.Random(3))
    line1, line2 = mrz_lines(truth, date(1975, 1, 2), "M")
    mrz = read_mrz([line1.replace("<<", "« "), line2.replace("0", "O", 1)])
    assert mrz is not None and mrz.number == truth.passport_number


# --- parsing OCR lines ---------------------------------------------------------------------


def front_lines(name: str = "张三", number: str = ID) -> list[Line]:
    return [
        line("姓名", 100, 100),
        line(name, 250, 100),
        line("性别", 100, 170),
        line("男", 250, 170),
        line("公民身份号码", 100, 500),
        line(number, 500, 500),
    ]


def test_an_id_front_is_parsed() -> None:
    reading = parse("id_front", front_lines())
    assert (reading.status, reading.looks_like, reading.name, reading.id_number) == (
        READ,
        "id_front",
        "张三",
        ID,
    )


def test_a_label_and_value_read_as_one_line() -> None:
    reading = parse("id_front", [line("姓名李四", 100, 100), line(f"公民身份号码{ID}", 0, 500)])
    assert (reading.name, reading.id_number) == ("李四", ID)


def test_a_name_read_with_low_confidence_is_not_read() -> None:
    lines = front_lines()
    lines[1] = line("张三", 250, 100, score=0.6)
    assert parse("id_front", lines).name is None


def test_an_id_back_and_its_validity() -> None:
    lines = [
        line("中华人民共和国", 300, 50),
        line("居民身份证", 300, 120),
        line("签发机关", 100, 400),
        line("北京市公安局东城分局", 400, 400),
        line("有效期限", 100, 480),
        line("2015.03.01-2025.03.01", 400, 480),
    ]
    reading = parse("id_back", lines)
    assert (reading.looks_like, reading.authority, reading.valid_from, reading.valid_until) == (
        "id_back",
        "北京市公安局东城分局",
        date(2015, 3, 1),
        date(2025, 3, 1),
    )


def test_long_term_validity() -> None:
    reading = parse("id_back", [line("签发机关"), line("有效期限2010.01.05-长期", 0, 80)])
    assert (reading.valid_from, reading.valid_until, reading.permanent) == (
        date(2010, 1, 5),
        None,
        True,
    )


def test_a_validity_that_is_no_real_term_is_not_read() -> None:
    reading = parse("id_back", [line("签发机关"), line("有效期限2015.03.01-2026.08.01", 0, 80)])
    assert reading.valid_until is None


def test_a_licence_with_its_qr_code() -> None:
    lines = [
        line("营业执照", 500, 50),
        line(f"统一社会信用代码{USCC}", 300, 150),
        line("名称", 100, 250),
        line("福州某某信息技术有限公司", 500, 250),
        line("类型", 100, 320),
        line("有限责任公司(自然人投资或控股)", 500, 320),
    ]
    reading = parse("business_license", lines, [f"http://x.example/?code={USCC}"])
    assert (reading.uscc, reading.uscc_from_qr, reading.company_name) == (
        USCC,
        USCC,
        "福州某某信息技术有限公司",
    )


def test_which_document_a_photo_looks_like() -> None:
    assert looks_like(front_lines()) == "id_front"
    assert looks_like([line("签发机关"), line("有效期限")]) == "id_back"
    assert looks_like([line("营业执照"), line("统一社会信用代码")]) == "business_license"
    assert looks_like([line("护照PASSPORT"), line("P<CHNLI<<SI<<<<")]) == "passport"
    assert looks_like([line("购物小票")]) is None


def test_no_lines_is_no_text() -> None:
    assert parse("id_front", []).status == NO_TEXT


# --- cross-check ---------------------------------------------------------------------------


def front(**fields: object) -> Reading:
    values: dict[str, object] = {"looks_like": "id_front", "name": "张三", "id_number": ID}
    return Reading(kind="id_front", status=READ, **{**values, **fields})  # type: ignore[arg-type]


ANSWERS = {"full_name": "张三", "id_number": ID, "company_name": "福州某某信息技术有限公司"}


def test_matching_answers_raise_no_flag() -> None:
    assert crosscheck(ANSWERS, [front()], DAY) == []


def test_a_different_name_and_number_are_flagged() -> None:
    other = "110101199003071234"
    flags = crosscheck(ANSWERS, [front(name="李四", id_number=other)], DAY)
    assert flags == [
        ReadingFlag("name_mismatch", "id_front", "full_name"),
        ReadingFlag("id_number_mismatch", "id_front", "id_number"),
    ]


def test_a_field_not_read_is_no_mismatch() -> None:
    assert crosscheck(ANSWERS, [front(name=None)], DAY) == []


def test_the_wrong_side_is_flagged_and_its_fields_not_compared() -> None:
    reading = Reading(kind="id_front", status=READ, looks_like="id_back", name="李四")
    assert crosscheck(ANSWERS, [reading], DAY) == [ReadingFlag("document_side_wrong", "id_front")]


def test_text_without_the_key_field_is_unreadable_and_a_failure_is_nothing() -> None:
    assert crosscheck(ANSWERS, [Reading(kind="id_front", status=NO_TEXT)], DAY) == [
        ReadingFlag("unreadable_text", "id_front")
    ]
    assert crosscheck(ANSWERS, [Reading(kind="id_front", status=FAILED)], DAY) == []


def test_a_blurry_photo_is_flagged_as_blurry_only() -> None:
    reading = Reading(kind="id_front", status=NO_TEXT, image_blurry=True, blur=3.0)
    assert crosscheck(ANSWERS, [reading], DAY) == [ReadingFlag("image_blurry", "id_front")]


def test_expiry_is_judged_on_the_day_of_submission() -> None:
    assert is_expired(date(2026, 5, 31), False, DAY)
    assert not is_expired(date(2026, 6, 1), False, DAY)
    assert not is_expired(None, True, DAY)
    back = Reading(kind="id_back", status=READ, looks_like="id_back", valid_until=date(2025, 3, 1))
    assert crosscheck({}, [back], DAY) == [ReadingFlag("id_expired", "id_back")]
    passport = Reading(
        kind="passport", status=READ, passport_number="E12345678", passport_expiry=date(2026, 1, 1)
    )
    assert crosscheck({"id_number": "E12345678"}, [passport], DAY) == [
        ReadingFlag("passport_expired", "passport")
    ]


def test_names_are_compared_with_tolerance() -> None:
    assert same_name(" 张 三 ", "张三")
    assert same_name("陳三", "陈三")  # Traditional and Simplified
    assert same_name("Zhang San", "ZHANG SAN")
    assert same_name("San Zhang", "ZHANG SAN")
    assert same_name("张三", "ZHANG SAN")  # different scripts cannot be compared
    assert not same_name("张三", "张山")


def passport(name: str, number: str = "E12345678") -> Reading:
    return Reading(
        kind="passport",
        status=READ,
        looks_like="passport",
        passport_number=number,
        passport_name=name,
        passport_expiry=date(2030, 1, 1),
    )


def test_a_chinese_name_is_compared_with_a_mainland_passport_by_its_pinyin() -> None:
    def flags(typed: str, read: str, number: str = "E12345678") -> list[str]:
        answers = {"full_name": typed, "id_number": number}
        return [f.code for f in crosscheck(answers, [passport(read, number)], DAY)]

    assert flags("张伟", "ZHANG WEI") == []
    assert flags("張偉", "ZHANG WEI") == []  # Traditional characters
    assert flags("欧阳娜娜", "OUYANG NANA") == []
    assert flags("曾伟", "ZENG WEI") == []  # a surname read otherwise than in words (ceng)
    assert flags("单芳", "SHAN FANG") == []
    assert flags("吕芳", "LYU FANG") == flags("吕芳", "LV FANG") == flags("吕芳", "LU FANG") == []
    assert flags("李伟", "ZHANG WEI") == ["name_mismatch"]
    assert flags("张伟", "ZHANG WEN") == ["name_mismatch"]
    # Names not spelt in Hanyu Pinyin are not compared: Hong Kong's (陈大文, CHAN TAI MAN),
    # a name of parts, a character the table does not know.
    assert flags("陈大文", "CHAN TAI MAN", number="K12345678") == []
    assert flags("买买提·艾力", "MAMAT ALI") == []
    assert flags("张𫠝", "ZHANG XYZ") == []


def test_company_names_are_compared_with_tolerance() -> None:
    assert same_company("福州某某（集团）有限责任公司", "福州某某(集团)有限公司")
    assert same_company("華信通訊有限公司", "华信通讯有限公司")
    assert same_company("某某科技(有限)公司", "某某科技有限公司")
    assert not same_company("华信通讯有限公司", "华兴通讯有限公司")
    assert company_key("ＡＢＣ 有限公司") == "abc有限公司"


def test_credit_code_from_the_qr_code_is_checked_too() -> None:
    licence = Reading(
        kind="business_license",
        status=READ,
        looks_like="business_license",
        uscc=None,
        uscc_from_qr="91350100M000100Y43",
    )
    assert crosscheck({"uscc": "91110000600037341L"}, [licence], DAY) == [
        ReadingFlag("uscc_mismatch", "business_license", "uscc")
    ]


# --- blur, settings, imports ---------------------------------------------------------------


@needs_fonts
def test_a_sharp_card_is_not_blurry_and_an_out_of_focus_one_is() -> None:
    for condition, blurry in (("clear", False), ("dim", False), ("blur", False), ("blurry", True)):
        image = Image.open(io.BytesIO(sample("id_back", condition).image))
        assert is_blurry(sharpness(image)) is blurry, condition


def test_ocr_setting() -> None:
    base = {"CARDBOT_DATA_DIR": "/tmp/cardbot-test-ocr"}
    assert load_settings({**base, "CARDBOT_OCR": "off"}).ocr == "off"
    assert load_settings({**base, "CARDBOT_OCR": "on"}).ocr == "on"
    assert load_settings(base).ocr == "auto"  # the tests install the `ocr` extra
    with pytest.raises(ConfigError, match="CARDBOT_OCR"):
        load_settings({**base, "CARDBOT_OCR": "maybe"})


def test_the_bot_side_of_reading_imports_no_ocr() -> None:
    code = (
        "import sys, cardbot.reading.pool, cardbot.reading.crosscheck, cardbot.config;"
        "print(sorted(m for m in ('rapidocr_onnxruntime', 'onnxruntime', 'cv2', 'numpy',"
        " 'zxingcpp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_a_dim_photo_is_stretched_to_the_full_range_of_grey() -> None:
    lit = Image.new("RGB", (80, 50), (230, 228, 220))
    lit.paste((20, 20, 20), (10, 10, 70, 20))  # a line of print
    assert lifted(lit) is lit
    dim = ImageEnhance.Brightness(lit).enhance(0.4)
    stretched = lifted(dim)
    darkest, lightest = ImageStat.Stat(stretched.convert("L")).extrema[0]
    assert darkest <= 5 and lightest >= 250, "paper white again, print black"
    assert ImageStat.Stat(dim.convert("L")).extrema[0][1] < 100
