"""Write src/cardbot/core/id_regions_table.py from python-stdnum's region table:
`python tests/support/id_regions_table.py` (about 25 s), after a python-stdnum release changes
the codes (tests/unit/test_id_regions.py says when)."""

from __future__ import annotations

import textwrap
from pathlib import Path

TARGET = Path(__file__).resolve().parents[2] / "src" / "cardbot" / "core" / "id_regions_table.py"


def region_codes() -> dict[str, list[str] | None]:
    """Every six-digit code python-stdnum knows as a county: None when it always was one,
    else the years it was one ("1983-2010", "-1986", "2001-")."""
    from stdnum import numdb

    db = numdb.get("cn/loc")
    found: dict[str, list[str] | None] = {}
    for code in range(100000, 1000000):
        text = f"{code:06d}"
        info = {k: v for _part, props in db.info(text) for k, v in props.items()}
        if "county" not in info:
            continue
        ranges: list[str] | None = []
        for county in info["county"].split(","):
            if not county.startswith("["):
                ranges = None
                break
            assert ranges is not None
            ranges.append(county[1:].split("]")[0])
        found[text] = ranges
    return found


def table_source(codes: dict[str, list[str] | None]) -> str:
    """The module's text."""
    words = [
        code if ranges is None else f"{code}:{','.join(ranges)}" for code, ranges in codes.items()
    ]
    lines = textwrap.wrap(" ".join(words), 90)
    body = "\n".join(f'    "{line} "' for line in lines)
    return (
        '"""The county codes of PRC resident ID numbers, from python-stdnum\'s region table\n'
        "(written by tests/support/id_regions_table.py; tests/unit/test_id_regions.py checks it\n"
        "against python-stdnum). Each word is a code, with the years it was in use after a colon\n"
        'when not always ("110103:-2010", "110111:1986-"; several separated by commas)."""\n'
        "\n"
        "COUNTY_CODES = (\n"
        f"{body}\n"
        ")\n"
    )


if __name__ == "__main__":
    TARGET.write_text(table_source(region_codes()), encoding="utf-8")
    print(f"wrote {TARGET}")
