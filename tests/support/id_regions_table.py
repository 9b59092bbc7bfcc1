"""Write src/cardbot/core/id_regions.txt from python-stdnum's region table:
`python tests/support/id_regions_table.py` (about 25 s), after a python-stdnum release changes
the codes (tests/unit/test_id_regions.py says when)."""

from __future__ import annotations

from pathlib import Path

TARGET = Path(__file__).resolve().parents[2] / "src" / "cardbot" / "core" / "id_regions.txt"


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


def table_text(codes: dict[str, list[str] | None]) -> str:
    """The data file's text: a comment, then one code per line, with the years it was in use
    after a colon when not always ("110103:-2010", "110111:1986-"; periods separated by
    commas)."""
    lines = [
        code if ranges is None else f"{code}:{','.join(ranges)}" for code, ranges in codes.items()
    ]
    header = (
        "# County codes of PRC resident ID numbers, from python-stdnum's region table (written\n"
        "# by tests/support/id_regions_table.py, checked by tests/unit/test_id_regions.py)\n"
    )
    return header + "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(table_text(region_codes()), encoding="utf-8")
    print(f"wrote {TARGET}")
