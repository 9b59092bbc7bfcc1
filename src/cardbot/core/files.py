"""Checks on an uploaded file, judged by its content, never by its name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cardbot.core.bounded_check import examine_bounded
from cardbot.core.file_type import HEAD_BYTES, sniff
from cardbot.core.image_hash import perceptual_hash
from cardbot.core.spec import DocumentRules

_CHUNK = 1024 * 1024

PROBLEM_CODES = (
    "file_too_large",
    "file_unavailable",
    "file_empty",
    "unsupported_file_type",
    "file_too_complex",
    "image_unreadable",
    "image_too_small",
    "image_blank",
    "pdf_unreadable",
    "pdf_encrypted",
    "pdf_too_long",
)


@dataclass(frozen=True)
class FileVerdict:
    """The outcome of checking one file: its facts, or a problem code."""

    problem: str | None = None
    mime_type: str | None = None
    size: int = 0
    sha256: str | None = None
    # A photo's perceptual hash (cardbot.core.image_hash); None for a PDF.
    phash: str | None = None

    @property
    def ok(self) -> bool:
        """True when the file is accepted."""
        return self.problem is None


def check_file(path: Path | None, declared_size: int, rules: DocumentRules) -> FileVerdict:
    """Check an uploaded file: type by content, size, and that it opens and shows something
    (judged in a worker process, within bounded CPU time and memory)."""
    if path is None:
        too_big = declared_size > rules.max_bytes
        return FileVerdict(problem="file_too_large" if too_big else "file_unavailable")
    try:
        return _check_readable_file(path, rules)
    except OSError:
        return FileVerdict(problem="file_unavailable")


def _check_readable_file(path: Path, rules: DocumentRules) -> FileVerdict:
    size = path.stat().st_size
    if size == 0:
        return FileVerdict(problem="file_empty")
    if size > rules.max_bytes:
        return FileVerdict(problem="file_too_large", size=size)
    with path.open("rb") as handle:
        kind, offset = sniff(handle.read(HEAD_BYTES))
    if kind is None or kind not in rules.accepted_types:
        return FileVerdict(problem="unsupported_file_type", size=size)
    problem, thumbnail = examine_bounded(path, kind, offset)
    if problem:
        return FileVerdict(problem=problem, mime_type=kind, size=size)
    phash = perceptual_hash(thumbnail) if thumbnail is not None else None
    return FileVerdict(mime_type=kind, size=size, sha256=sha256_of(path), phash=phash)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
