"""The machine readable zone of a passport data page (ICAO 9303 TD3: two lines of 44), with
every check digit verified; a field whose check digit fails is not read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from cardbot.reading.codes import AS_DIGIT, DIGITS, unique_correction

_WEIGHTS = (7, 3, 1)
_MRZ_CHARS = re.compile(r"[^A-Z0-9<]")
# Line 2: number, check, nationality, birth, check, sex, expiry, check, personal no., check, final
_LINE2 = re.compile(
    r"(?P<number>[A-Z0-9<]{9})(?P<number_check>[0-9OIZSBGD])(?P<nationality>[A-Z<]{3})"
    r"(?P<birth>[0-9OIZSBGD]{6})(?P<birth_check>[0-9OIZSBGD])(?P<sex>[MF<])"
    r"(?P<expiry>[0-9OIZSBGD]{6})(?P<expiry_check>[0-9OIZSBGD])(?P<personal>[A-Z0-9<]{14})"
    r"(?P<personal_check>[0-9<OIZSBGD])(?P<final_check>[0-9OIZSBGD])"
)


@dataclass(frozen=True)
class Mrz:
    """What a TD3 machine readable zone says (each field only when its check digit holds)."""

    number: str | None
    expiry: date | None
    birth: date | None
    surname: str | None = None
    given_names: str | None = None

    @property
    def name(self) -> str | None:
        """`SURNAME GIVEN NAMES`, or None when line 1 was not read."""
        if not self.surname:
            return None
        return f"{self.surname} {self.given_names}".strip()


def check_digit(text: str) -> str:
    """The ICAO 9303 check digit of `text`: weights 7, 3, 1; `<` is 0, A–Z are 10–35."""
    total = 0
    for i, c in enumerate(text):
        if c.isdigit():
            value = int(c)
        elif c == "<":
            value = 0
        else:
            value = ord(c) - ord("A") + 10
        total += value * _WEIGHTS[i % 3]
    return str(total % 10)


def clean(text: str) -> str:
    """An OCR line as MRZ characters: upper case, no spaces, « and similar read as <."""
    text = text.upper().replace(" ", "").replace("«", "<<").replace("‹", "<")
    return _MRZ_CHARS.sub("<", text)


def _checked_digits(value: str, check: str) -> str | None:
    """A digits-only field whose check digit holds, corrected by one digit if unambiguous."""
    raw = (value + check).translate(AS_DIGIT)
    if not raw.isdigit():
        return None
    fixed = unique_correction(
        raw, [DIGITS] * len(raw), lambda s: check_digit(s[:-1]) == s[-1] and _is_date(s[:-1])
    )
    return fixed[:-1] if fixed else None


def _is_date(yymmdd: str) -> bool:
    return _to_date(yymmdd, 0) is not None


def _to_date(yymmdd: str, century: int) -> date | None:
    try:
        return date(century + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def parse_line2(line: str) -> Mrz | None:
    """The number, birth date and expiry of a TD3 line 2, each only when its check digit holds."""
    text = clean(line)
    match = None
    for start in range(max(0, len(text) - 43)):
        match = _LINE2.match(text, start)
        if match:
            break
    if match is None:
        return None
    number_field = match["number"]
    number = (
        number_field.replace("<", "")
        if check_digit(number_field) == match["number_check"].translate(AS_DIGIT)
        else None
    )
    birth_digits = _checked_digits(match["birth"], match["birth_check"])
    expiry_digits = _checked_digits(match["expiry"], match["expiry_check"])
    birth = expiry = None
    if birth_digits:
        # Born in the future of the two-digit year means the century before.
        born = _to_date(birth_digits, 2000)
        birth = born if born and born.year <= 2000 + 30 else _to_date(birth_digits, 1900)
    if expiry_digits:
        expiry = _to_date(expiry_digits, 2000)  # a valid passport expires after 2000
    return Mrz(number=number or None, expiry=expiry, birth=birth)


def parse_line1(line: str) -> tuple[str, str] | None:
    """The surname and given names of a TD3 line 1 (`P<CHNZHANG<<SAN<<<…`), or None."""
    text = clean(line)
    start = text.find("P<")
    if start < 0 or len(text) - start < 10:
        return None
    names = text[start + 5 :].rstrip("<")
    if "<<" not in names:
        return None
    surname, given = names.split("<<", 1)
    given = re.sub("<+", " ", given).strip()
    if not surname.isalpha() or not all(part.isalpha() for part in given.split()):
        return None
    return surname, given


def read_mrz(lines: list[str]) -> Mrz | None:
    """The machine readable zone among OCR lines: line 2 is required, line 1 adds the name."""
    parsed = None
    for line in lines:
        if len(clean(line)) >= 30 and (parsed := parse_line2(line)) is not None:
            break
    if parsed is None:
        return None
    for line in lines:
        names = parse_line1(line)
        if names is not None:
            return Mrz(parsed.number, parsed.expiry, parsed.birth, names[0], names[1])
    return parsed
