"""From the lines OCR found on a photo to the fields of the document (no OCR import here).

Labels and values are found by their text first (OCR often reads `姓名张三` as one line), else by
the nearest line to the label, so a photo turned by 90° or 180° reads as a straight one.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

from cardbot.reading.codes import find_credit_code, find_resident_id
from cardbot.reading.model import (
    BUSINESS_LICENSE,
    ID_BACK,
    ID_FRONT,
    NO_TEXT,
    PASSPORT,
    READ,
    Line,
    Reading,
)
from cardbot.reading.mrz import read_mrz

# Below this OCR confidence a line is not used for a name (a misread name would be a mismatch).
CONFIDENT = 0.9
# Words that mark each document, with their weight.
_MARKS: dict[str, tuple[tuple[str, int], ...]] = {
    ID_FRONT: (
        ("公民身份号码", 3),
        ("姓名", 1),
        ("性别", 1),
        ("民族", 1),
        ("住址", 1),
        ("出生", 1),
    ),
    ID_BACK: (("签发机关", 3), ("有效期限", 3), ("居民身份证", 2)),
    PASSPORT: (("PASSPORT", 3), ("护照", 2), ("P<", 2), ("<<<<", 1)),
    BUSINESS_LICENSE: (
        ("营业执照", 3),
        ("统一社会信用代码", 3),
        ("法定代表人", 1),
        ("注册资本", 1),
    ),
}
_FRONT_LABELS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")
_LICENCE_LABELS = ("名称", "类型", "法定代表人", "注册资本", "成立日期", "住所", "经营范围")
_PRINTED_NAME = re.compile(r"^[A-Z]+ ?, ?[A-Z]+(?: [A-Z]+)*$")
_HAN_NAME = re.compile(r"^[\u3400-\u9fff·]{2,6}$")
_COMPANY_END = re.compile(r"(公司|厂|店|中心|合作社|事务所|工作室|商行|经营部|研究院)$")
_DATE = r"(\d{4})[.\-/年]?\s*(\d{1,2})[.\-/月]?\s*(\d{1,2})日?"
_VALIDITY = re.compile(_DATE + r"\s*[-—–~至一]+\s*(?:(长期)|" + _DATE + ")")
_AUTHORITY = re.compile(r"(.{2,30}?(?:公安局|分局|派出所|公安厅)(?:[\u4e00-\u9fff]{0,8}分局)?)")
# A resident ID card is valid for 5, 10 or 20 years from the day of issue, or long term.
_VALIDITY_YEARS = (5, 10, 20)


def normalise(text: str) -> str:
    """OCR text as compared here: NFKC (full-width to half-width), no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def looks_like(lines: list[Line]) -> str | None:
    """Which document the text says the photo is, or None when it says too little."""
    text = "".join(normalise(line.text) for line in lines).upper()
    scores = {kind: sum(w for word, w in marks if word in text) for kind, marks in _MARKS.items()}
    if find_resident_id(text):
        scores[ID_FRONT] += 3
    best = max(scores, key=lambda kind: scores[kind])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] < 3 or ranked[0] == ranked[1]:
        return None
    return best


def parse(kind: str, lines: list[Line], qr_texts: list[str] | None = None) -> Reading:
    """Every field of `kind` found among `lines` (and the credit code in QR texts)."""
    if not lines and not qr_texts:
        return Reading(kind=kind, status=NO_TEXT)
    reading = Reading(kind=kind, status=READ if lines else NO_TEXT, looks_like=looks_like(lines))
    if kind == ID_FRONT:
        reading = replace(reading, **_id_front(lines))
    elif kind == ID_BACK:
        reading = replace(reading, **_id_back(lines))
    elif kind == PASSPORT:
        reading = replace(reading, **_passport(lines))
    elif kind == BUSINESS_LICENSE:
        reading = replace(reading, **_licence(lines, qr_texts or []))
    return reading


def _id_front(lines: list[Line]) -> dict[str, Any]:
    numbers = {n for line in lines if (n := find_resident_id(normalise(line.text)))}
    return {
        "id_number": numbers.pop() if len(numbers) == 1 else None,
        "name": _labelled_value(lines, "姓名", _FRONT_LABELS, _is_person_name),
    }


def _is_person_name(text: str) -> bool:
    return bool(_HAN_NAME.match(text)) and text not in ("汉", "男", "女")


def _labelled_value(
    lines: list[Line], label: str, labels: tuple[str, ...], check: Callable[[str], bool]
) -> str | None:
    """The value after `label`: in the same line, else the nearest confident line that fits."""
    for line in lines:
        text = normalise(line.text)
        if text.startswith(label) and len(text) > len(label):
            value = text[len(label) :]
            return value if line.score >= CONFIDENT and check(value) else None
    anchors = [line for line in lines if normalise(line.text) == label]
    if len(anchors) != 1:
        return None
    anchor = anchors[0]
    candidates = [
        line
        for line in lines
        if line is not anchor
        and not any(normalise(line.text).startswith(other) for other in labels)
        and check(normalise(line.text))
    ]
    if not candidates:
        return None
    nearest = min(candidates, key=lambda line: _distance(anchor, line))
    # The value sits beside its label: within a few label heights.
    if _distance(anchor, nearest) > 8 * max(min(anchor.height, anchor.width), 1):
        return None
    return normalise(nearest.text) if nearest.score >= CONFIDENT else None


def _distance(a: Line, b: Line) -> float:
    """The gap between two lines' boxes (0 when they touch)."""
    dx = max(0.0, abs(a.x - b.x) - (a.width + b.width) / 2)
    dy = max(0.0, abs(a.y - b.y) - (a.height + b.height) / 2)
    return math.hypot(dx, dy)


def _id_back(lines: list[Line]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for line in lines:
        text = normalise(line.text)
        match = _AUTHORITY.search(text.removeprefix("签发机关"))
        if match and "authority" not in fields and line.score >= CONFIDENT:
            fields["authority"] = match.group(1)
        validity = _validity(text)
        if validity is not None and "valid_from" not in fields:
            fields.update(validity)
    return fields


def _validity(text: str) -> dict[str, Any] | None:
    """`2015.03.01-2025.03.01` or `2015.03.01-长期`: the dates, when they make a real term."""
    match = _VALIDITY.search(text)
    if match is None:
        return None
    start = _date(match.group(1), match.group(2), match.group(3))
    if start is None:
        return None
    if match.group(4):
        return {"valid_from": start, "permanent": True}
    end = _date(match.group(5), match.group(6), match.group(7))
    if end is None or not _is_term(start, end):
        return None
    return {"valid_from": start, "valid_until": end}


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _is_term(start: date, end: date) -> bool:
    """True when `end` is 5, 10 or 20 years after `start` (the same day, or 29 Feb's eve)."""
    years = end.year - start.year
    same_day = (end.month, end.day) == (start.month, start.day)
    leap_day = (start.month, start.day) == (2, 29) and (end.month, end.day) in ((2, 28), (3, 1))
    return years in _VALIDITY_YEARS and (same_day or leap_day)


def _passport(lines: list[Line]) -> dict[str, Any]:
    mrz = read_mrz([line.text for line in lines])
    if mrz is None:
        return {}
    # Line 1 has no check digit (and OCR drops letters beside `<`): its name counts only when
    # a printed name (`SURNAME, GIVEN NAMES`) says the same; else the printed name is taken
    # when it starts with the MRZ's surname.
    printed = [
        " ".join(part.strip() for part in normalise_spaces(line.text).split(",", 1))
        for line in lines
        if _PRINTED_NAME.match(normalise_spaces(line.text)) and line.score >= CONFIDENT
    ]
    name = None
    if mrz.name is not None and mrz.surname is not None:
        same = [p for p in printed if p.replace(" ", "") == mrz.name.replace(" ", "")]
        starts = [p for p in printed if p.split(" ", 1)[0] == mrz.surname]
        name = mrz.name if same else starts[0] if len(starts) == 1 else None
    return {
        "passport_number": mrz.number,
        "passport_name": name,
        "passport_expiry": mrz.expiry,
    }


def normalise_spaces(text: str) -> str:
    """OCR text in NFKC with single spaces, upper case."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().upper()


def _licence(lines: list[Line], qr_texts: list[str]) -> dict[str, Any]:
    codes = {c for line in lines if (c := find_credit_code(normalise(line.text)))}
    qr_codes = {c for text in qr_texts if (c := find_credit_code(normalise(text)))}
    return {
        "uscc": codes.pop() if len(codes) == 1 else None,
        "uscc_from_qr": qr_codes.pop() if len(qr_codes) == 1 else None,
        "company_name": _labelled_value(lines, "名称", _LICENCE_LABELS, _is_company_name),
    }


def _is_company_name(text: str) -> bool:
    return len(text) >= 4 and bool(_COMPANY_END.search(text)) and "(" not in text[:2]
