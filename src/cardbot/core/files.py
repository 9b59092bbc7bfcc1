"""Checks on an uploaded file, judged by its content, never by its name."""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image, ImageStat
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from cardbot.core.spec import DocumentRules

MIN_IMAGE_SIDE = 300
MAX_IMAGE_PIXELS = 50_000_000
BLANK_STDDEV = 4.0
PNG_DETAILED_BYTES_PER_PIXEL = 0.05
# A licence or certificate is a few pages; counting a huge page tree would hold up the bot.
MAX_PDF_PAGES = 50
MAX_PDF_TREE_DEPTH = 32
_CHUNK = 1024 * 1024

# pypdf logs warnings about the broken files it is shown; they say nothing the verdict does not.
logging.getLogger("pypdf").setLevel(logging.ERROR)

PROBLEM_CODES = (
    "file_too_large",
    "file_unavailable",
    "file_empty",
    "unsupported_file_type",
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

    @property
    def ok(self) -> bool:
        """True when the file is accepted."""
        return self.problem is None


def check_file(path: Path | None, declared_size: int, rules: DocumentRules) -> FileVerdict:
    """Check an uploaded file: type by content, size, and that it opens and shows something."""
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
    kind = filetype.guess_mime(str(path))
    if kind not in rules.accepted_types:
        return FileVerdict(problem="unsupported_file_type", size=size)
    problem = _check_pdf(path) if kind == "application/pdf" else _check_image(path)
    if problem:
        return FileVerdict(problem=problem, mime_type=kind, size=size)
    return FileVerdict(mime_type=kind, size=size, sha256=sha256_of(path))


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_image(path: Path) -> str | None:
    """Open the image safely: size from the header first, then as little decoding as needed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return "image_unreadable"
                if min(width, height) < MIN_IMAGE_SIDE:
                    return "image_too_small"
                if image.format == "PNG":
                    # Chunk structure and checksums, without inflating the pixels; a PNG with
                    # this much data per pixel has too much detail to be blank.
                    image.verify()
                    if path.stat().st_size / (width * height) > PNG_DETAILED_BYTES_PER_PIXEL:
                        return None
            with Image.open(path) as image:
                image.draft("L", (width // 8 or 1, height // 8 or 1))  # JPEG: decode at 1/8
                image.load()
                sample = image.reduce(max(1, min(image.size) // 256)).convert("L")
                stddev = ImageStat.Stat(sample).stddev[0]
    except Exception:
        return "image_unreadable"
    if stddev < BLANK_STDDEV:
        return "image_blank"
    return None


def _check_pdf(path: Path) -> str | None:
    """Open the PDF: it must parse, must not be encrypted, must declare a few pages and lead
    to a first page (found by following the page tree down, never by reading all of it)."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            return "pdf_encrypted"
        node = reader.root_object["/Pages"].get_object()
        count = node.get("/Count") if isinstance(node, DictionaryObject) else None
        if not isinstance(count, int) or count < 1:
            return "pdf_unreadable"
        if count > MAX_PDF_PAGES:
            return "pdf_too_long"
        for _level in range(MAX_PDF_TREE_DEPTH):
            if not isinstance(node, DictionaryObject):
                break
            if node.get("/Type") == "/Page":
                return None
            kids = node.get("/Kids")
            if not kids:
                break
            node = kids[0].get_object()
    except Exception:
        return "pdf_unreadable"
    return "pdf_unreadable"
