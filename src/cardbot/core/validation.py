"""Checks for each typed answer; every check returns the clean value or a problem code."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import phonenumbers
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from cardbot.core.id_regions import county_in_use
from cardbot.core.text import clean_line, compact_code

MINIMUM_AGE = 18
# No one alive is older: a number saying so has its year of birth mistyped.
OLDEST_AGE = 120
MAX_NAME_LENGTH = 50
MAX_COMPANY_NAME_LENGTH = 100
MAX_DAILY_CALLS = 1_000_000

_NAME = re.compile(r"^[^\W\d_]+(?:[ ·.'\-][^\W\d_]+)*\.?$")
_PASSPORT = re.compile(r"^[A-Z0-9]{5,17}$")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Punctuation found in registered company names, in ASCII and full-width forms.
COMPANY_NAME_PUNCTUATION = frozenset("&.,'’()（）·-–—/＆、，．+")
_REPEATED_SYMBOL = re.compile(r"[^\w\s.]{2}|\.{2}")
_USCC = re.compile(rf"^[{_USCC_ALPHABET}]{{2}}\d{{6}}[{_USCC_ALPHABET}]{{10}}$")


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: a clean value, or a problem code with details for the message."""

    value: str | None = None
    problem: str | None = None
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the answer is accepted."""
        return self.problem is None


Validator = Callable[[str, Mapping[str, str], date], Verdict]


def person_name(text: str, answers: Mapping[str, str], today: date) -> Verdict:
    """A person's full name: letters (any script), with spaces, dots or hyphens between."""
    name = clean_line(text)
    if not name:
        return Verdict(problem="invalid_name", details={"reason": "empty"})
    if len(name) > MAX_NAME_LENGTH:
        return Verdict(
            problem="invalid_name", details={"reason": "too_long", "limit": str(MAX_NAME_LENGTH)}
        )
    if not _NAME.match(name):
        return Verdict(problem="invalid_name", details={"reason": "format"})
    return Verdict(value=name)


def id_number(text: str, answers: Mapping[str, str], today: date) -> Verdict:
    """A resident ID or passport number, depending on the ID type chosen before."""
    number = compact_code(text)
    if answers.get("id_type") == "passport":
        return passport_number(number)
    return resident_id_number(number, today)


def passport_number(number: str) -> Verdict:
    """A passport number: 5 to 17 letters and digits, with at least one digit."""
    if not _PASSPORT.match(number) or not any(c.isdigit() for c in number):
        return Verdict(problem="invalid_passport_number")
    return Verdict(value=number)


def resident_id_number(number: str, today: date) -> Verdict:
    """An 18-character PRC resident ID number of an adult: region, birth date, check digit."""
    try:
        number = validate_resident_id(number)
    except stdnum_errors.InvalidLength:
        return Verdict(problem="invalid_id_number", details={"reason": "length"})
    except stdnum_errors.InvalidChecksum:
        return Verdict(problem="invalid_id_number", details={"reason": "checksum"})
    except stdnum_errors.InvalidComponent:
        return Verdict(problem="invalid_id_number", details={"reason": "component"})
    except stdnum_errors.ValidationError:
        return Verdict(problem="invalid_id_number", details={"reason": "format"})
    except (KeyError, ValueError):  # python-stdnum's region table lacks some county codes
        return Verdict(problem="invalid_id_number", details={"reason": "component"})
    born = ric.get_birth_date(number)
    if born > today or age_on(born, today) > OLDEST_AGE:  # a mistyped year of birth
        return Verdict(problem="invalid_id_number", details={"reason": "component"})
    if age_on(born, today) < MINIMUM_AGE:
        return Verdict(problem="underage", details={"minimum": str(MINIMUM_AGE)})
    return Verdict(value=number)


def validate_resident_id(number: str) -> str:
    """python-stdnum's `cn.ric.validate` (length, digits, check digit, birth date, a county in
    use in the year of birth), with the county looked up in cardbot's compact copy of its
    table (core/id_regions.py), so the process does not keep python-stdnum's 5 MB one."""
    number = ric.compact(number)
    if len(number) != 18:
        raise stdnum_errors.InvalidLength()
    if not number[:-1].isdigit() or not number[:-1].isascii():
        raise stdnum_errors.InvalidFormat()
    if number[-1] != ric.calc_check_digit(number):
        raise stdnum_errors.InvalidChecksum()
    born = ric.get_birth_date(number)
    if not county_in_use(number[:6], born.year):
        raise stdnum_errors.InvalidComponent()
    return number


def age_on(born: date, today: date) -> int:
    """Full years between `born` and `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def phone(text: str, answers: Mapping[str, str], today: date) -> Verdict:
    """A phone number: mainland China by default, or international with a leading +."""
    raw = clean_line(text)
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return Verdict(problem="invalid_phone")
    if not phonenumbers.is_valid_number(parsed):
        return Verdict(problem="invalid_phone")
    return Verdict(value=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def company_name(text: str, answers: Mapping[str, str], today: date) -> Verdict:
    """A company name: 2 to 100 characters, mostly letters; besides letters, digits and
    spaces only the punctuation registered names use (`Acme & Co., Ltd.`, `北京某某（集团）`),
    so markup such as `<b>x</b> & <script>` and runs of symbols are refused."""
    name = clean_line(text)
    letters = sum(1 for c in name if c.isalpha())
    if len(name) > MAX_COMPANY_NAME_LENGTH:
        return Verdict(
            problem="invalid_company_name",
            details={"reason": "too_long", "limit": str(MAX_COMPANY_NAME_LENGTH)},
        )
    symbols = [c for c in name if not (c.isalnum() or c.isspace())]
    if (
        any(c not in COMPANY_NAME_PUNCTUATION for c in symbols)
        or len(symbols) > letters / 2
        or _REPEATED_SYMBOL.search(name)
    ):
        return Verdict(problem="invalid_company_name", details={"reason": "symbols"})
    if letters < 2 or letters < len(name) / 3:
        return Verdict(problem="invalid_company_name", details={"reason": "format"})
    return Verdict(value=name)


def credit_code(text: str, answers: Mapping[str, str], today: date) -> Verdict:
    """An 18-character unified social credit code (GB 32100-2015) with a correct check character.

    python-stdnum insists on eight leading digits; the standard also allows a letter as the
    registration-authority character (e.g. N, Y), so the format is checked here and the
    check character by python-stdnum's own calculation.
    """
    code = compact_code(text)
    if len(code) != 18 or not _USCC.match(code):
        return Verdict(problem="invalid_uscc", details={"reason": "format"})
    if uscc.calc_check_digit(code[:-1]) != code[-1]:
        return Verdict(problem="invalid_uscc", details={"reason": "checksum"})
    return Verdict(value=code)


def daily_call_volume(text: str, answers: Mapping[str, str], today: date) -> Verdict:
    """The expected number of calls per day: a whole number from 1 to 1,000,000."""
    raw = clean_line(text).replace(",", "").replace("，", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAILY_CALLS:
        return Verdict(problem="invalid_daily_call_volume", details={"max": str(MAX_DAILY_CALLS)})
    return Verdict(value=str(int(raw)))


PROBLEM_CODES = (
    "invalid_name",
    "invalid_id_number",
    "invalid_passport_number",
    "underage",
    "invalid_phone",
    "invalid_company_name",
    "invalid_uscc",
    "invalid_daily_call_volume",
)

VALIDATORS: Mapping[str, Validator] = {
    "person_name": person_name,
    "id_number": id_number,
    "phone": phone,
    "company_name": company_name,
    "uscc": credit_code,
    "daily_call_volume": daily_call_volume,
}
