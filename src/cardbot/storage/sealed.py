"""Short texts encrypted at rest under the document key (AES-256-GCM), e.g. kept Telegram updates.

A sealed text is ASCII, so it fits a text column:

    "cbs1:" | URL-safe base64(key id (8 bytes) | nonce (12 random bytes) | ciphertext + tag)

The AES key is derived from the secret key with HKDF under a label of its own (`purpose`), so it
is never the documents' AES key. The associated data binds the prefix, the key id, the purpose
and a caller's `context` (e.g. the row it is stored in): a sealed text copied to another row, or
altered, fails authentication. The key id is the start of an HMAC-SHA-256 of a fixed label under
the secret key: it tells "sealed under another key" apart from "damaged" without revealing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cardbot.storage.encrypted import DocumentCorruptError, DocumentKeyError

PREFIX = "cbs1:"
KEY_ID_SIZE = 8
NONCE_SIZE = 12
TAG_SIZE = 16


class TextSealer:
    """Seals and opens short texts for one purpose under one secret key."""

    def __init__(self, key: bytes, purpose: str) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("the secret key must be exactly 32 bytes")
        label = purpose.encode("ascii")
        key_id = hmac.new(key, b"cardbot sealed text key id v1", hashlib.sha256).digest()
        self._key_id = key_id[:KEY_ID_SIZE]
        self._purpose = label
        aes_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"cardbot sealed v1 " + label
        ).derive(key)
        self._aead = AESGCM(aes_key)

    def seal(self, text: str, context: str) -> str:
        """`text` encrypted and bound to `context` (which must be given again to open it)."""
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), self._aad(context))
        return PREFIX + base64.urlsafe_b64encode(self._key_id + nonce + sealed).decode("ascii")

    def open(self, value: str, context: str) -> str:
        """The text sealed in `value` for `context`; DocumentKeyError if it was sealed under
        another key, DocumentCorruptError if it is damaged, altered or from another context."""
        if not is_sealed(value):
            raise DocumentCorruptError("not a sealed text")
        try:
            encoded = value[len(PREFIX) :].encode("ascii")
            raw = base64.b64decode(encoded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise DocumentCorruptError("a sealed text is damaged (not base64)") from None
        if len(raw) < KEY_ID_SIZE + NONCE_SIZE + TAG_SIZE:
            raise DocumentCorruptError("a sealed text is damaged (too short)")
        if not hmac.compare_digest(raw[:KEY_ID_SIZE], self._key_id):
            raise DocumentKeyError("a sealed text was encrypted with another key")
        nonce = raw[KEY_ID_SIZE : KEY_ID_SIZE + NONCE_SIZE]
        try:
            plain = self._aead.decrypt(nonce, raw[KEY_ID_SIZE + NONCE_SIZE :], self._aad(context))
        except InvalidTag:
            raise DocumentCorruptError("a sealed text is damaged or was altered") from None
        return plain.decode("utf-8")

    def _aad(self, context: str) -> bytes:
        purpose = struct.pack(">H", len(self._purpose)) + self._purpose
        return PREFIX.encode("ascii") + self._key_id + purpose + context.encode("utf-8")


def is_sealed(value: str) -> bool:
    """Whether `value` is a sealed text (rather than plain text written before sealing)."""
    return value.startswith(PREFIX)
