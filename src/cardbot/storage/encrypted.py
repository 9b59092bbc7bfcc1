"""A document store in a local folder whose files are encrypted at rest (AES-256-GCM).

File format (all documents and the key-check file):

    header = MAGIC (6 bytes, b"CBDOC1") | key id (8 bytes) | nonce prefix (8 random bytes)
    then one or more chunks, each AES-256-GCM(plaintext chunk of at most 64 KiB) + 16-byte tag

Chunk `i` uses the nonce `nonce prefix | i` (4 bytes, big-endian) and the associated data
`header | document key | i (8 bytes) | last flag (1 byte)`, so a changed header, a truncated,
extended or reordered file, a chunk taken from another file and a whole file moved under another
key all fail authentication. An empty document is a single empty (last) chunk. The key id is the
start of an HMAC-SHA-256 of a fixed label under the secret key; it tells "another key" apart from
"damaged" without revealing the key. The AES key is derived from the secret key with HKDF.

DocumentCipher holds this format on its own, so the database store (storage/database.py) keeps
exactly the same bytes in a table row as this store keeps in a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import re
import struct
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cardbot.storage.keys import fsync_folder
from cardbot.storage.leftovers import remove_leftovers

MAGIC = b"CBDOC1"
KEY_ID_SIZE = 8
NONCE_PREFIX_SIZE = 8
HEADER_SIZE = len(MAGIC) + KEY_ID_SIZE + NONCE_PREFIX_SIZE
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
KEYCHECK_NAME = ".keycheck"
TEMP_FOLDER = ".tmp"

_KEY = re.compile(r"^[0-9a-f]{32}$")
_SHARD = re.compile(r"^[0-9a-f]{2}$")
_MAX_CHUNKS = 2**32
_KEYCHECK_TEXT = b"cardbot document key check v1"
_STALE_TEMP_SECONDS = 3600
_KEY_HINT = (
    "set CARDBOT_SECRET_KEY to the original key (or restore the original secret.key "
    "in the data folder)"
)


class DocumentKeyError(Exception):
    """The documents were encrypted with a different key than the one configured."""


class DocumentCorruptError(Exception):
    """A stored document is damaged or was tampered with; its bytes are not returned."""


def is_document_key(key: str) -> bool:
    """Whether `key` has the form of a document key (32 lowercase hex characters)."""
    return bool(_KEY.match(key))


def require_document_key(key: str) -> str:
    """`key`, or ValueError if it is not a document key (so it cannot name anything else)."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError("not a document key")
    return key


class DocumentCipher:
    """The encrypted document format (see the module docstring) under one secret key."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise ValueError("the document key must be exactly 32 bytes")
        key_id = hmac.new(key, b"cardbot document key id v1", hashlib.sha256).digest()
        self._key_id = key_id[:KEY_ID_SIZE]
        aes_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"cardbot documents v1 aes-gcm"
        ).derive(key)
        self._aead = AESGCM(aes_key)

    def same_key(self, header: bytes) -> bool:
        """Whether the document with this header was written with this cipher's key."""
        return hmac.compare_digest(header[len(MAGIC) : len(MAGIC) + KEY_ID_SIZE], self._key_id)

    def is_encrypted(self, header: bytes) -> bool:
        """Whether `header` (the first HEADER_SIZE bytes) starts an encrypted document."""
        return len(header) == HEADER_SIZE and header.startswith(MAGIC)

    def encrypt(self, src: BinaryIO, name: str) -> Iterator[bytes]:
        """The header and then each encrypted chunk of `src`, for the document `name`."""
        nonce_prefix = os.urandom(NONCE_PREFIX_SIZE)
        header = MAGIC + self._key_id + nonce_prefix
        yield header
        binding = header + name.encode("ascii")
        current = _read_full(src, CHUNK_SIZE)
        index = 0
        while True:
            following = _read_full(src, CHUNK_SIZE) if len(current) == CHUNK_SIZE else b""
            last = not following
            if index >= _MAX_CHUNKS:
                raise ValueError("document too large to encrypt")
            nonce = nonce_prefix + struct.pack(">I", index)
            aad = binding + struct.pack(">QB", index, int(last))
            yield self._aead.encrypt(nonce, current, aad)
            if last:
                return
            current = following
            index += 1

    def decrypt(self, src: BinaryIO, name: str) -> Iterator[bytes]:
        """Each authenticated plaintext chunk of the encrypted `src` for document `name`.

        DocumentKeyError if it was written under another key, DocumentCorruptError if it is
        damaged or was tampered with (a caller must drop the chunks it got before that)."""
        header = _read_full(src, HEADER_SIZE)
        if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
            raise DocumentCorruptError(
                f"document {name} is not an encrypted cardbot document (damaged, or a plain "
                "file from an earlier version that migrate_plaintext has not encrypted yet)"
            )
        if not self.same_key(header):
            raise DocumentKeyError(
                f"document {name} was encrypted with a different key than the one configured "
                f"now; {_KEY_HINT}"
            )
        nonce_prefix = header[len(MAGIC) + KEY_ID_SIZE :]
        binding = header + name.encode("ascii")
        sealed_size = CHUNK_SIZE + TAG_SIZE
        current = _read_full(src, sealed_size)
        index = 0
        while True:
            following = _read_full(src, sealed_size) if len(current) == sealed_size else b""
            last = not following
            if index >= _MAX_CHUNKS:
                raise DocumentCorruptError(f"document {name} has too many chunks")
            nonce = nonce_prefix + struct.pack(">I", index)
            aad = binding + struct.pack(">QB", index, int(last))
            try:
                yield self._aead.decrypt(nonce, current, aad)
            except InvalidTag:
                raise DocumentCorruptError(
                    f"document {name} is damaged or was tampered with (chunk {index} fails "
                    "authentication); restore it from a backup"
                ) from None
            if last:
                return
            current = following
            index += 1


class EncryptedDocumentStore:
    """Stores each document as a private, encrypted file named by a random key."""

    def __init__(self, root: Path, key: bytes) -> None:
        self._cipher = DocumentCipher(key)
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._temp = self.root / TEMP_FOLDER
        self._temp.mkdir(exist_ok=True, mode=0o700)
        self._temp.chmod(0o700)
        self._sweep_stale_temp()

    # -- the DocumentStore interface -------------------------------------------------------

    def put(self, source: Path) -> str:
        """Encrypt `source` in (streamed, never whole in memory) and return its new key."""
        key = uuid.uuid4().hex
        target = self._path(key)
        target.parent.mkdir(exist_ok=True, mode=0o700)
        with source.open("rb") as src:
            self._write_atomically(target, key, src)
        return key

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`, only once every chunk has been authenticated."""
        plain = bytearray()
        with self._path(key).open("rb") as src:
            for chunk in self._cipher.decrypt(src, key):
                plain += chunk
        return bytes(plain)

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A private decrypted copy of the document, removed when the context exits."""
        return self._decrypted_copy(key)

    def delete(self, key: str) -> None:
        """Remove the document under `key`, if it is there."""
        self._path(key).unlink(missing_ok=True)

    # -- maintenance -----------------------------------------------------------------------

    def keys(self) -> list[str]:
        """The key of every stored document, sorted."""
        return [path.name for path in self._document_files()]

    def put_as(self, key: str, source: Path) -> None:
        """Store `source` under the given `key` (replacing what is there), to move documents
        between stores with their keys unchanged."""
        target = self._path(key)
        target.parent.mkdir(exist_ok=True, mode=0o700)
        with source.open("rb") as src:
            self._write_atomically(target, key, src, replace_stale_part=True)

    def reset_key_check(self) -> None:
        """Forget the key-check file (after every document was encrypted with a new key)."""
        (self.root / KEYCHECK_NAME).unlink(missing_ok=True)

    def check_key(self) -> None:
        """Raise DocumentKeyError now if the store was set up with a different key."""
        path = self.root / KEYCHECK_NAME
        if not path.exists():
            self._check_existing_documents()
            self._create_keycheck(path)
        try:
            with path.open("rb") as src:
                text = b"".join(self._cipher.decrypt(src, KEYCHECK_NAME))
        except DocumentKeyError:
            raise DocumentKeyError(
                "the stored documents were encrypted with a different key than the one "
                f"configured now; {_KEY_HINT}"
            ) from None
        except DocumentCorruptError as exc:
            raise DocumentCorruptError(
                f"the key-check file {path} is damaged ({exc}); if the documents read fine, "
                "delete it and cardbot will create it again"
            ) from None
        if text != _KEYCHECK_TEXT:
            raise DocumentCorruptError(f"the key-check file {path} has unexpected content")

    def migrate_plaintext(self) -> int:
        """Encrypt in place every stored document that is still a plain file; return how many."""
        count = 0
        for path in self._document_files():
            with path.open("rb") as src:
                if src.read(len(MAGIC)) == MAGIC:
                    continue
                src.seek(0)
                self._write_atomically(path, path.name, src, replace_stale_part=True)
            count += 1
        return count

    # -- internals -------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        require_document_key(key)
        return self.root / key[:2] / key

    def _write_atomically(
        self, target: Path, name: str, src: BinaryIO, *, replace_stale_part: bool = False
    ) -> None:
        """Encrypt `src` into `target` via a private .part file, fsync, then replace."""
        partial = target.with_suffix(".part")
        if replace_stale_part:
            partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in self._cipher.encrypt(src, name):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        fsync_folder(target.parent)

    @contextlib.contextmanager
    def _decrypted_copy(self, key: str) -> Iterator[Path]:
        """Decrypt `key` into a 0600 file in the private temp folder; remove it afterwards."""
        with (
            self._path(key).open("rb") as src,
            decrypted_copy(self._cipher, src, key, self._temp, prefix=f"{key}-") as temp,
        ):
            yield temp

    def _document_files(self) -> Iterator[Path]:
        """Every stored document file (not .part files, temp copies or the key check)."""
        for shard in sorted(self.root.iterdir()):
            if not _SHARD.match(shard.name) or not shard.is_dir() or shard.is_symlink():
                continue
            for path in sorted(shard.iterdir()):
                if _KEY.match(path.name) and path.name[:2] == shard.name and path.is_file():
                    yield path

    def _check_existing_documents(self) -> None:
        """Before a first key check: the documents already stored must match the key."""
        for path in self._document_files():
            with path.open("rb") as src:
                header = _read_full(src, HEADER_SIZE)
            if self._cipher.is_encrypted(header):
                if not self._cipher.same_key(header):
                    raise DocumentKeyError(
                        "the stored documents were encrypted with a different key than the one "
                        f"configured now; {_KEY_HINT}"
                    )
                return

    def _create_keycheck(self, path: Path) -> None:
        """Write the key-check file unless another process has just done so."""
        fd, name = tempfile.mkstemp(dir=self._temp, prefix="keycheck-")
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in self._cipher.encrypt(io.BytesIO(_KEYCHECK_TEXT), KEYCHECK_NAME):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        fsync_folder(self.root)

    def _sweep_stale_temp(self) -> None:
        """Remove decrypted copies left behind by a crash (older than an hour)."""
        remove_leftovers(self._temp, _STALE_TEMP_SECONDS)


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the file."""
    data = src.read(size)
    while data and len(data) < size:
        more = src.read(size - len(data))
        if not more:
            break
        data += more
    return data


@contextlib.contextmanager
def decrypted_copy(
    cipher: DocumentCipher, src: BinaryIO, key: str, folder: Path | None, prefix: str
) -> Iterator[Path]:
    """The document read from `src`, decrypted into a 0600 file in `folder` (the system's
    temporary folder if None) that is removed when the context exits (or decryption fails)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in cipher.decrypt(src, key):
                out.write(chunk)
        yield temp
    finally:
        temp.unlink(missing_ok=True)
