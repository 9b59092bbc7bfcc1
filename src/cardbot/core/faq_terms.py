"""The FAQ's text handling: normalisation (NFKC, lower case, Traditional to Simplified) and the
index terms of a question: Chinese characters, pairs and their pinyin, English stems."""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from functools import lru_cache

import snowballstemmer

from cardbot.core.text import CJK_RUN, pinyin_table, simplified

_STEMMER = snowballstemmer.stemmer("english")
_LATIN = re.compile(r"[a-z0-9]+")
_EN_STOP = frozenset(
    """a an the is are am be been being do does did to of in on for at by with and or i me my
    you your we our it its this that there here can could would will shall should may might
    have has had get got please hi hello hey pls plz just so if as about any some what which
    who whom whose where how why""".split()
)
ZH_STOP = frozenset("的了吗呢吧啊呀嘛么我你您他她它们是在有和与及或请问一下这那个就都也还要会能可")
SMALL_TALK = re.compile(
    r"^((hi|hello|hey|yo|thanks?( you)?|thank u|thx|ty|ok(ay)?|cool|great|bye|good (morning|"
    r"afternoon|evening|night)|got it|i see|you'?re welcome|np)( (so|very) much| a lot| again)?"
    r"|你好|您好|嗨|哈喽|(太|非常)?(谢谢|感谢)(你|您)?(了|啦)?|多谢|好的|好|嗯+|哦+|再见|拜拜|"
    r"早上好|晚上好|哈+|知道了|明白了|收到)[\s!！.。~～,，]*$"
)


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Lower case, NFKC, Traditional to Simplified, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(simplified(text).split())


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


_READING_LINE = re.compile(r'^"(\d+)": "([^",]+)')


def _toneless_readings() -> tuple[array[int], list[str]]:
    """Each character's first reading, without tones: for each code point the index of its
    syllable in a list of about 400 (a 0 index: unknown). About 0.4 MB.

    Read line by line from pypinyin's character table (`pinyin_dict.json`), never imported:
    the package would also load its phrase dictionary (about 45 MB), and even its character
    table as a Python dict costs some 20 MB that the process does not give back."""
    syllables = [""]
    path = pinyin_table()
    if path is None:
        return array("H"), syllables
    codes = array("I")
    readings = array("H")
    index: dict[str, int] = {"": 0}
    with open(path, encoding="utf-8") as table:
        for line in table:
            matched = _READING_LINE.match(line)
            if matched is None:
                continue
            first = unicodedata.normalize("NFD", matched.group(2))
            syllable = "".join(c for c in first if c.isascii())
            if syllable not in index:
                index[syllable] = len(syllables)
                syllables.append(syllable)
            codes.append(int(matched.group(1)))
            readings.append(index[syllable])
    by_code = array("H", bytes(2 * (max(codes, default=0) + 1)))
    for code, reading in zip(codes, readings, strict=True):
        by_code[code] = reading
    return by_code, syllables


_READINGS, _SYLLABLES = _toneless_readings()


@lru_cache(maxsize=16384)
def _pinyin(char: str) -> str:
    """The toneless pinyin of a character's first reading ("" when unknown)."""
    code = ord(char)
    return _SYLLABLES[_READINGS[code]] if code < len(_READINGS) else ""


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """Index terms: Chinese characters, character pairs and the pinyin of each pair (so a
    homophone typo such as 状太 for 状态 still matches), and English word stems."""
    text = normalise(text)
    terms: list[str] = []
    for run in CJK_RUN.findall(text):
        terms += [c for c in run if c not in ZH_STOP]
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            terms.append(pair)
            terms.append("~" + _pinyin(pair[0]) + _pinyin(pair[1]))
    for word in _LATIN.findall(text):
        if word not in _EN_STOP:
            terms.append(_stem(word))
    # The same term in many questions is one string: an index over 1,000 entries holds
    # about 45,000 variants, which would otherwise keep a copy of each term per variant.
    return tuple(sys.intern(term) for term in terms)
