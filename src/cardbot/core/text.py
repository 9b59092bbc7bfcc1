"""Cleaning what people type before it is checked or stored."""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")
CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def clean_line(text: str) -> str:
    """One line of user text: NFKC-normalised, no control or direction marks, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def compact_code(text: str) -> str:
    """A code as typed (ID, credit code, passport): upper case, no spaces or dashes."""
    return re.sub(r"[\s\-]", "", clean_line(text)).upper()


def mask_id_number(number: str) -> str:
    """An ID or passport number with all but the first and last few characters hidden."""
    if len(number) <= 6:
        return "*" * len(number)
    keep = 4 if len(number) >= 15 else 2
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


_ID = re.compile(r"[0-9]{1,18}")


def parse_id(text: str) -> int | None:
    """A database or Telegram id typed or sent in button data: 1 to 18 ASCII digits, or None."""
    return int(text) if _ID.fullmatch(text) else None


_DIGIT_RUN = re.compile(r"[0-9]{5,}[0-9xX]?")


def mask_digits(text: str) -> str:
    """Text with every run of five or more digits (ID, phone, code numbers) replaced by #."""
    return _DIGIT_RUN.sub("#", text)


def simplified(text: str) -> str:
    """The text in Simplified characters. OpenCC (6.6 MB with its table) is loaded only for
    text with a Chinese character outside GB 2312, the Simplified set: a Traditional one."""
    if all(_in_gb2312(run) for run in CJK_RUN.findall(text)):
        return text
    return str(_t2s().convert(text))


def _in_gb2312(run: str) -> bool:
    try:
        run.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


@cache
def _t2s() -> Any:
    """OpenCC's Traditional to Simplified converter, made on first use (one per process)."""
    import opencc

    return opencc.OpenCC("t2s")


def pinyin_table() -> Path | None:
    """pypinyin's character table (`pinyin_dict.json`, a line per code point with its
    readings), read as a file and never imported; None without pypinyin."""
    found = importlib.util.find_spec("pypinyin")
    if found is None or found.origin is None:
        return None
    return Path(found.origin).parent / "pinyin_dict.json"
