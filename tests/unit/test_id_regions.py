"""cardbot's resident ID check gives python-stdnum's verdict, with its own copy of the
county table (core/id_regions.py), and the process does not load python-stdnum's table."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from cardbot.core.id_regions import _counties
from cardbot.core.validation import validate_resident_id

BIRTH_DAYS = ("19491231", "19830615", "19860101", "19970701", "20050228", "20151120")


def with_check_digit(first17: str) -> str:
    """The 18-character number with its check digit."""
    return first17 + ric.calc_check_digit(first17 + "0")


def verdict(check: object, number: str) -> str:
    """ "ok" or the name of the error the check raised."""
    try:
        check(number)  # type: ignore[operator]
    except (stdnum_errors.ValidationError, KeyError, ValueError) as error:
        # python-stdnum's table lacks a county name for a few codes (a KeyError there): the
        # copy calls those codes unknown, which validation reports the same way.
        return "component" if isinstance(error, KeyError) else type(error).__name__
    return "ok"


def test_the_copy_agrees_with_python_stdnum_on_every_county_and_on_codes_it_lacks() -> None:
    """If this fails after a python-stdnum release: python tests/support/id_regions_table.py."""
    rng = random.Random(7)
    codes = list(_counties())
    codes += [f"{rng.randrange(100000, 1000000):06d}" for _ in range(1500)]
    disagreements = []
    for code in codes:
        for born in rng.sample(BIRTH_DAYS, 2):
            number = with_check_digit(code + born + "123")
            expected = verdict(ric.validate, number)
            expected = "InvalidComponent" if expected == "component" else expected
            if verdict(validate_resident_id, number) != expected:
                disagreements.append((number, expected))
    assert disagreements == []


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("11010519491231002", "InvalidLength"),
        ("1101051949123100AX", "InvalidFormat"),
        ("110105194912310021", "InvalidChecksum"),
        ("110105194913310021", "InvalidComponent"),  # no 13th month
    ],
)
def test_malformed_numbers_fail_as_in_python_stdnum(number: str, error: str) -> None:
    assert verdict(validate_resident_id, number) == verdict(ric.validate, number) == error


def test_checking_an_id_number_does_not_load_python_stdnums_region_table() -> None:
    probe = (
        "import sys; from cardbot.core.validation import validate_resident_id; "
        "validate_resident_id('11010519491231002X'); "
        "from stdnum import numdb; print(sorted(numdb._open_databases))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
