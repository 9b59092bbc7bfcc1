"""Sealed texts: read back only with the same key and context; anything else is refused."""

from __future__ import annotations

import pytest

from cardbot.storage.encrypted import DocumentCorruptError, DocumentKeyError
from cardbot.storage.keys import decode_key, generate_key
from cardbot.storage.sealed import PREFIX, TextSealer, is_sealed

KEY = decode_key(generate_key(), "test")
TEXT = '{"message": {"from": {"first_name": "李四"}, "text": "身份证 11010519491231002X"}}'


def test_a_sealed_text_reads_back_and_shows_nothing_of_the_text() -> None:
    sealer = TextSealer(KEY, "inbox")
    sealed = sealer.seal(TEXT, "row:1")

    assert sealed.isascii() and is_sealed(sealed) and not is_sealed(TEXT)
    assert "11010519491231002X" not in sealed and "李四" not in sealed
    assert sealed != sealer.seal(TEXT, "row:1")  # a fresh nonce each time
    assert sealer.open(sealed, "row:1") == TEXT
    assert TextSealer(KEY, "inbox").open(sealed, "row:1") == TEXT  # after a restart


def test_another_key_is_told_apart_from_damage() -> None:
    sealed = TextSealer(KEY, "inbox").seal(TEXT, "row:1")
    with pytest.raises(DocumentKeyError):
        TextSealer(decode_key(generate_key(), "test"), "inbox").open(sealed, "row:1")


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1],  # a changed byte
        lambda s: s[:-8],  # truncated
        lambda s: PREFIX + "not base64!",
        lambda s: PREFIX,
    ],
    ids=["altered", "truncated", "not-base64", "empty"],
)
def test_a_damaged_sealed_text_is_refused(change: object) -> None:
    sealed = TextSealer(KEY, "inbox").seal(TEXT, "row:1")
    with pytest.raises(DocumentCorruptError):
        TextSealer(KEY, "inbox").open(change(sealed), "row:1")  # type: ignore[operator]


def test_a_sealed_text_is_bound_to_its_context_and_purpose() -> None:
    sealed = TextSealer(KEY, "inbox").seal(TEXT, "row:1")
    with pytest.raises(DocumentCorruptError):
        TextSealer(KEY, "inbox").open(sealed, "row:2")
    with pytest.raises(DocumentCorruptError):
        TextSealer(KEY, "other").open(sealed, "row:1")
    with pytest.raises(DocumentCorruptError):
        TextSealer(KEY, "inbox").open(TEXT, "row:1")  # not sealed at all
