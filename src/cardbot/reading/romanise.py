"""A Chinese name as a mainland passport spells it: Hanyu Pinyin without tones, so a name
typed in characters can be compared with the passport's Latin name.

Every reading of each character counts (a surname such as 曾 Zeng or 单 Shan is read otherwise
in words), and ü is spelt as passports have spelt it (LYU, LV, LU). The readings come from
pypinyin's character table, looked up a character at a time, never loaded whole (core/faq_terms
explains why). Without the table nothing is romanised, and nothing is compared.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from cardbot.core.text import pinyin_table

# A mainland ordinary passport: E and 8 characters (E12345678, EA1234567), or the older G.
# Hong Kong, Macao and Taiwan passports spell names otherwise (CHAN, CHANG), so are not compared.
_MAINLAND_PASSPORT = re.compile(r"^[EG][A-Z0-9]\d{7}$")
_HAN = re.compile(r"^[\u3400-\u9fff]{1,6}$")
_DIAERESIS = "\u0308"
_UMLAUT = "u" + _DIAERESIS
# More spellings than this and the name is not compared (six characters of four readings).
_MOST_SPELLINGS = 4096


def is_mainland_passport(number: str | None) -> bool:
    """True for the number of a mainland ordinary passport, whose names are in Hanyu Pinyin."""
    return number is not None and bool(_MAINLAND_PASSPORT.match(number))


def spellings(name: str) -> set[str]:
    """Every way Pinyin may spell the name, lower case without spaces (`张伟` → {"zhangwei"});
    empty when the name is not all Chinese characters or a character is not in the table."""
    if not _HAN.match(name):
        return set()
    options = [readings(char) for char in name]
    if not all(options) or math.prod(len(option) for option in options) > _MOST_SPELLINGS:
        return set()
    return {"".join(parts) for parts in itertools.product(*options)}


@lru_cache(maxsize=512)
def readings(char: str) -> tuple[str, ...]:
    """The toneless readings of one character, ü in each passport spelling; () when unknown."""
    found = _table_line(ord(char))
    if found is None:
        return ()
    spelt: list[str] = []
    for reading in found.split(","):
        marked = unicodedata.normalize("NFD", reading)
        bare = "".join(c for c in marked if c.isascii() or c == _DIAERESIS)
        for umlaut in ("yu", "v", "u") if _UMLAUT in bare else ("",):
            word = bare.replace(_UMLAUT, umlaut).replace(_DIAERESIS, "")
            if word.isalpha() and word not in spelt:
                spelt.append(word)
    return tuple(spelt)


def _table_line(code: int) -> str | None:
    """The readings of a code point in pypinyin's table (`"29579": "wáng,wàng"`), or None."""
    table = _table()
    if table is None:
        return None
    prefix = f'"{code}": "'
    with table.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith(prefix):
                return line[len(prefix) :].split('"', 1)[0]
    return None


@lru_cache(maxsize=1)
def _table() -> Path | None:
    path = pinyin_table()
    return path if path is not None and path.exists() else None
