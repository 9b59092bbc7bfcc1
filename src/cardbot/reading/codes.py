"""ID numbers and credit codes as OCR reads them: undo the usual letter/digit confusions, and
correct one wrong character only when exactly one single substitution passes the check."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

DIGITS = "0123456789"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# What OCR reads for a digit: letters that look like one.
AS_DIGIT = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1", "L": "1",
     "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "b": "6", "T": "7", "g": "9"}
)  # fmt: skip
# Letters a credit code never has (GB 32100 leaves out I, O, S, V, Z), read as what they look like.
AS_USCC = str.maketrans({"O": "0", "I": "1", "S": "5", "Z": "2", "V": "U"})
_ID_CANDIDATE = re.compile(r"[0-9OoDQIl|iLZzSsBGbTg]{17}[0-9xX×OoDQIl|iLZzSsBGbTg]")
_USCC_CANDIDATE = re.compile(r"[0-9A-Z]{18}")


def is_resident_id(number: str) -> bool:
    """True for an 18-character PRC resident ID number that python-stdnum accepts."""
    try:
        ric.validate(number)
    except (stdnum_errors.ValidationError, KeyError, ValueError):
        return False
    return 1900 <= int(number[6:10]) <= 2099  # python-stdnum takes any year


def is_credit_code(code: str) -> bool:
    """True for a unified social credit code with a correct check character (GB 32100-2015)."""
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    if not code[2:8].isdigit():
        return False
    return bool(uscc.calc_check_digit(code[:-1]) == code[-1])


def unique_correction(raw: str, alphabets: list[str], valid: Callable[[str], bool]) -> str | None:
    """`raw` if valid; else the one single-character substitution that is valid, or None when
    there is none or more than one (a guess between two is no reading)."""
    if valid(raw):
        return raw
    found: set[str] = set()
    for candidate in _substitutions(raw, alphabets):
        if valid(candidate):
            found.add(candidate)
            if len(found) > 1:
                return None
    return found.pop() if found else None


def _substitutions(raw: str, alphabets: list[str]) -> Iterator[str]:
    for i, alphabet in enumerate(alphabets):
        for c in alphabet:
            if c != raw[i]:
                yield raw[:i] + c + raw[i + 1 :]


def resident_id_from(raw: str) -> str | None:
    """A resident ID number read as `raw` (18 characters), checked and corrected, or None."""
    if len(raw) != 18:
        return None
    body = raw[:17].translate(AS_DIGIT)
    last = raw[17].upper().replace("×", "X")
    last = last if last == "X" else last.translate(AS_DIGIT)
    number = body + last
    if not number[:17].isdigit():
        return None
    return unique_correction(number, [DIGITS] * 17 + [DIGITS + "X"], is_resident_id)


def credit_code_from(raw: str) -> str | None:
    """A credit code read as `raw` (18 characters), checked and corrected, or None."""
    if len(raw) != 18:
        return None
    code = raw.upper().translate(AS_USCC)
    code = code[:2] + code[2:8].translate(AS_DIGIT) + code[8:]
    if any(c not in USCC_ALPHABET for c in code):
        return None
    alphabets = [USCC_ALPHABET] * 2 + [DIGITS] * 6 + [USCC_ALPHABET] * 10
    return unique_correction(code, alphabets, is_credit_code)


def find_resident_id(text: str) -> str | None:
    """The one resident ID number in `text` (spaces ignored), checked and corrected, or None."""
    compact = re.sub(r"\s", "", text)
    found = {
        number
        for match in _overlapping(_ID_CANDIDATE, compact)
        if (number := resident_id_from(match)) is not None
    }
    return found.pop() if len(found) == 1 else None


def find_credit_code(text: str) -> str | None:
    """The one credit code in `text` (spaces ignored), checked and corrected, or None."""
    compact = re.sub(r"\s", "", text).upper()
    found = {
        code
        for match in _overlapping(_USCC_CANDIDATE, compact)
        if (code := credit_code_from(match)) is not None
    }
    return found.pop() if len(found) == 1 else None


def _overlapping(pattern: re.Pattern[str], text: str) -> Iterator[str]:
    """Every match of a fixed-length `pattern` starting at any position of `text`."""
    for start in range(len(text)):
        match = pattern.match(text, start)
        if match:
            yield match.group()
