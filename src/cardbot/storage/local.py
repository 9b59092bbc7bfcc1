"""A document store in a local folder (the default for one machine)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

_KEY = re.compile(r"^[0-9a-f]{32}$")


class LocalDocumentStore:
    """Stores each document as a private file named by a random key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("not a document key")
        return self.root / key[:2] / key

    def put(self, source: Path) -> str:
        """Copy `source` in (streamed, never whole in memory) and return its new key."""
        key = uuid.uuid4().hex
        target = self._path(key)
        target.parent.mkdir(exist_ok=True, mode=0o700)
        partial = target.with_suffix(".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
        return key

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """The stored file itself (read it, do not change it)."""
        return nullcontext(self._path(key))

    def delete(self, key: str) -> None:
        """Remove the document under `key`, if it is there."""
        self._path(key).unlink(missing_ok=True)
