"""The verdict on a file's content once its type is known (runs inside a bounded worker)."""

from __future__ import annotations

from pathlib import Path

from cardbot.core.file_type import PDF
from cardbot.core.image_check import judge_image
from cardbot.core.image_hash import hash_thumbnail
from cardbot.core.pdf_check import judge_pdf


def judge_content(path: Path, kind: str, offset: int = 0) -> str | None:
    """A problem code for the JPEG, PNG or PDF at `path`, or None when it is fit for review."""
    if kind == PDF:
        return judge_pdf(path, offset)
    return judge_image(path)


def examine_content(path: Path, kind: str, offset: int = 0) -> tuple[str | None, bytes | None]:
    """The problem code (None: fit for review) and, for a photo fit for review, its
    thumbnail for the perceptual hash (PDFs get none, nor a photo it cannot be made of)."""
    problem = judge_content(path, kind, offset)
    if problem is not None or kind == PDF:
        return problem, None
    return None, hash_thumbnail(path)
