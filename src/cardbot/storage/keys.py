"""The secret key that encrypts stored documents: configured, or kept in the data folder.

The key is never logged and never put into an exception message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

from cardbot.config import ConfigError

KEY_FILE = "secret.key"
KEY_SIZE = 32
_ENCODED = re.compile(r"^[A-Za-z0-9_-]{43}=?$")
_HOW_TO_MAKE = (
    'make one with: python -c "import base64,os;'
    'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


def generate_key() -> str:
    """A new random key, as the URL-safe base64 text CARDBOT_SECRET_KEY expects."""
    return base64.urlsafe_b64encode(os.urandom(KEY_SIZE)).decode("ascii")


def load_or_create_key(data_dir: Path, configured: str | None) -> bytes:
    """The document key: CARDBOT_SECRET_KEY if set, else data_dir/secret.key (made once)."""
    if configured:
        return decode_key(configured, "CARDBOT_SECRET_KEY")
    path = data_dir / KEY_FILE
    key = _read_key_file(path)
    if key is None:
        _create_key_file(path)
        key = _read_key_file(path)
        if key is None:
            raise ConfigError(f"{path} vanished just after it was created; start cardbot again")
    return key


def decode_key(text: str, setting: str) -> bytes:
    """The 32 bytes of a key given in `setting`, or a ConfigError saying how to make one."""
    key = _decode(text)
    if key is None:
        raise ConfigError(
            f"{setting} must be 32 random bytes in URL-safe base64 (44 characters); {_HOW_TO_MAKE}"
        )
    return key


def _decode(text: str) -> bytes | None:
    """The 32 bytes encoded in `text`, or None if it is not exactly that."""
    text = text.strip()
    if not _ENCODED.match(text):
        return None
    try:
        key = base64.b64decode(text.rstrip("=") + "=", altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_SIZE else None


def _read_key_file(path: Path) -> bytes | None:
    """The key in `path`, None if there is no such file, else a ConfigError saying what's wrong."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the document key {path} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as src:
        info = os.fstat(src.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"the document key {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise ConfigError(
                f"the document key {path} can be read by other users; run: chmod 600 {path}"
            )
        data = src.read(1024)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    key = _decode(text)
    if key is None:
        raise ConfigError(
            f"the document key {path} is malformed (expected 44 characters of URL-safe "
            "base64); restore the original from a backup, since the documents encrypted with it "
            "cannot be read without it"
        )
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key to `path` (0600) unless another process has just created one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write the whole key to a private temporary file first, then link it into place: the link
    # fails if the file exists already, and nobody can ever see a half-written key file.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".secret.key-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(generate_key().encode("ascii") + b"\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return
        except OSError:
            _create_key_file_directly(path, temp.read_bytes())
    finally:
        temp.unlink(missing_ok=True)
    fsync_folder(path.parent)


def _create_key_file_directly(path: Path, content: bytes) -> None:
    """Where hard links are not supported: create `path` with O_EXCL and write `content`."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())


def fsync_folder(folder: Path) -> None:
    """Make the new file's name durable (where the platform allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
