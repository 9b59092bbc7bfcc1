"""What was typed against what was read from the documents: flags for reviewers.

Pure functions (no OCR import). A field that was not read confidently raises no flag: the
absence of a reading is never a mismatch.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cardbot.core.text import simplified
from cardbot.reading.model import (
    BUSINESS_LICENSE,
    FAILED,
    ID_BACK,
    ID_FRONT,
    OFF,
    PASSPORT,
    Reading,
)
from cardbot.reading.romanise import is_mainland_passport, spellings

NAME_MISMATCH = "name_mismatch"
ID_NUMBER_MISMATCH = "id_number_mismatch"
USCC_MISMATCH = "uscc_mismatch"
COMPANY_NAME_MISMATCH = "company_name_mismatch"
ID_EXPIRED = "id_expired"
PASSPORT_EXPIRED = "passport_expired"
DOCUMENT_SIDE_WRONG = "document_side_wrong"
UNREADABLE_TEXT = "unreadable_text"
IMAGE_BLURRY = "image_blurry"
FLAG_CODES = (
    NAME_MISMATCH,
    ID_NUMBER_MISMATCH,
    USCC_MISMATCH,
    COMPANY_NAME_MISMATCH,
    ID_EXPIRED,
    PASSPORT_EXPIRED,
    DOCUMENT_SIDE_WRONG,
    UNREADABLE_TEXT,
    IMAGE_BLURRY,
)
_NAME_SEPARATORS = re.compile(r"[\s·•.\-,'’_]+")
_BRACKETS = re.compile(r"[()\[\]【】〔〕]")
_CODE_NOISE = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class ReadingFlag:
    """A flag for reviewers: its code and the document it comes from (and the typed field)."""

    code: str
    document: str
    field: str | None = None


def crosscheck(
    answers: Mapping[str, str], readings: Sequence[Reading], submitted_on: date
) -> list[ReadingFlag]:
    """Every flag the readings raise against the typed answers, as of the day of submission."""
    flags: list[ReadingFlag] = []
    for reading in readings:
        flags += document_flags(reading, submitted_on)
        flags += answer_flags(answers, reading)
    return flags


def document_flags(reading: Reading, submitted_on: date) -> list[ReadingFlag]:
    """The flags a document raises on its own: wrong side, blurry, unreadable, expired."""
    kind = reading.kind
    if reading.status in (FAILED, OFF):
        return []
    if reading.image_blurry:
        return [ReadingFlag(IMAGE_BLURRY, kind)]
    if reading.side_wrong:
        return [ReadingFlag(DOCUMENT_SIDE_WRONG, kind)]
    if not reading.key_fields_read:
        return [ReadingFlag(UNREADABLE_TEXT, kind)]
    flags = []
    if kind == ID_BACK and is_expired(reading.valid_until, reading.permanent, submitted_on):
        flags.append(ReadingFlag(ID_EXPIRED, kind))
    if kind == PASSPORT and is_expired(reading.passport_expiry, False, submitted_on):
        flags.append(ReadingFlag(PASSPORT_EXPIRED, kind))
    return flags


def is_expired(valid_until: date | None, permanent: bool, on: date) -> bool:
    """True when the validity ended before the day `on` (长期, long term, never ends)."""
    return not permanent and valid_until is not None and valid_until < on


def answer_flags(answers: Mapping[str, str], reading: Reading) -> list[ReadingFlag]:
    """The typed answers that differ from what this document says."""
    if reading.side_wrong or reading.image_blurry:
        return []  # what it says is about another document
    kind = reading.kind
    checks: list[tuple[str, str, str | None, bool]] = []  # (code, field, read, same?)
    typed_name = answers.get("full_name", "")
    typed_number = compact_code(answers.get("id_number", ""))
    if kind == ID_FRONT:
        checks.append(
            (NAME_MISMATCH, "full_name", reading.name, same_name(typed_name, reading.name))
        )
        checks.append(
            (ID_NUMBER_MISMATCH, "id_number", reading.id_number, typed_number == reading.id_number)
        )
    elif kind == PASSPORT:
        pinyin = is_mainland_passport(reading.passport_number)
        checks.append(
            (NAME_MISMATCH, "full_name", reading.passport_name,
             same_name(typed_name, reading.passport_name, pinyin))
        )  # fmt: skip
        checks.append(
            (ID_NUMBER_MISMATCH, "id_number", reading.passport_number,
             typed_number == reading.passport_number)
        )  # fmt: skip
    elif kind == BUSINESS_LICENSE:
        typed_code = compact_code(answers.get("uscc", ""))
        for read in (reading.uscc_from_qr, reading.uscc):
            checks.append((USCC_MISMATCH, "uscc", read, typed_code == read))
        checks.append(
            (COMPANY_NAME_MISMATCH, "company_name", reading.company_name,
             same_company(answers.get("company_name", ""), reading.company_name))
        )  # fmt: skip
    flags: list[ReadingFlag] = []
    for code, field, read, same in checks:
        if read is None or not answers.get(field, "").strip() or same:
            continue
        flag = ReadingFlag(code, kind, field)
        if flag not in flags:
            flags.append(flag)
    return flags


def compact_code(text: str) -> str:
    """A code as compared: NFKC, upper case, no spaces or dashes."""
    return _CODE_NOISE.sub("", unicodedata.normalize("NFKC", text)).upper()


def same_name(typed: str, read: str | None, pinyin: bool = False) -> bool:
    """True unless both names are known and different. A Chinese name typed for a Latin one
    is compared by its Pinyin spellings when `pinyin` says the document spells names so (a
    mainland passport); otherwise, or when it cannot be spelt, it is not a mismatch."""
    if read is None:
        return True
    a, b = _name_key(typed), _name_key(read)
    if not a or not b:
        return True
    if _is_latin(a) != _is_latin(b):
        han, written, latin = (a, typed, b) if _is_latin(b) else (b, read, a)
        # A name of parts (买买提·艾力) is spelt from its own language, not from Pinyin.
        if not pinyin or _NAME_SEPARATORS.search(written.strip()):
            return True
        spelt = spellings(han)
        return not spelt or latin in spelt
    if _is_latin(a):
        return sorted(_name_parts(typed)) == sorted(_name_parts(read)) or a == b
    return a == b


def _name_key(text: str) -> str:
    return simplified(_NAME_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).casefold())


def _name_parts(text: str) -> list[str]:
    return [p for p in _NAME_SEPARATORS.split(unicodedata.normalize("NFKC", text).casefold()) if p]


def _is_latin(text: str) -> bool:
    return all(c.isascii() for c in text)


def same_company(typed: str, read: str | None) -> bool:
    """True unless both company names are known and differ beyond width, spaces, brackets,
    Traditional/Simplified script and 有限责任公司/有限公司."""
    if read is None or not typed.strip():
        return True
    return company_key(typed) == company_key(read)


def company_key(name: str) -> str:
    """A company name as compared: NFKC, Simplified, no spaces or brackets, one legal form."""
    text = simplified(unicodedata.normalize("NFKC", name))
    text = _BRACKETS.sub("", re.sub(r"\s+", "", text)).casefold()
    return text.replace("有限责任公司", "有限公司")
