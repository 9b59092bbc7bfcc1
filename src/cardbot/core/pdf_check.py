"""Whether a PDF opens without a password and leads to between 1 and 50 pages, as readers
find them: by following the page tree (never trusting its declared /Count)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf._encryption import AlgV4, AlgV5
from pypdf.errors import FileNotDecryptedError, PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

# A licence or certificate is a few pages; counting a huge page tree would hold up the check.
MAX_PDF_PAGES = 50
MAX_PDF_TREE_DEPTH = 32
# Page tree nodes visited at most: enough for 50 pages under any sane tree.
MAX_PDF_TREE_NODES = 10_000

# pypdf logs warnings about the broken files it is shown; they say nothing the verdict does not.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class _Encrypted(Exception):
    """The PDF needs a password to be read."""


def judge_pdf(path: Path, header_offset: int = 0) -> str | None:
    """A problem code for the PDF at `path`, or None when it is fit for review.

    Bytes before the `%PDF-` header (`header_offset` of them) are allowed as readers allow
    them: the file is read as it is, then without them if that fails.
    """
    data = path.read_bytes()
    attempts = [data, data[header_offset:]] if header_offset else [data]
    verdict = "pdf_unreadable"
    for attempt in attempts:
        try:
            pages = _count_pages(attempt)
        except MemoryError:
            raise
        except _Encrypted:
            return "pdf_encrypted"
        except Exception:
            continue
        if pages > MAX_PDF_PAGES:
            return "pdf_too_long"
        if pages > 0:
            return None
    return verdict


def _count_pages(data: bytes) -> int:
    """The pages the page tree leads to, counted up to MAX_PDF_PAGES + 1."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except NotImplementedError as exc:  # an encryption pypdf does not know
        raise _Encrypted from exc
    if reader.is_encrypted and not _opens_without_password(reader):
        raise _Encrypted
    try:
        root = _resolved(reader.root_object)
        if not isinstance(root, DictionaryObject):
            return 0
        return _walk(_resolved(root.get("/Pages")))
    except FileNotDecryptedError as exc:
        raise _Encrypted from exc


def _opens_without_password(reader: PdfReader) -> bool:
    """Whether the empty string is the user password, so every reader opens the file without
    asking: an owner password alone only restricts printing or copying. (An empty *owner*
    password with a real user password opens in qpdf and pypdf, but PDFium and Adobe Reader
    ask for the password: refused.)"""
    try:
        if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return False
        encryption = reader._encryption
        if encryption is None:
            return True
        values = encryption.values
        if encryption.V <= 4:
            key = AlgV4.verify_user_password(
                b"",
                encryption.R,
                encryption.Length,
                values.O,
                values.U,
                encryption.P,
                encryption.id1_entry,
                encryption.EncryptMetadata,
            )
        else:
            key = AlgV5.verify_user_password(encryption.R, b"", values.U, values.UE)
        return bool(key)
    except (NotImplementedError, PdfReadError, AttributeError):  # an unknown security handler
        return False


def _walk(top: Any) -> int:
    """Depth-first over the page tree, as readers walk it: empty branches and cycles skipped,
    a node with /Kids is a branch, a leaf marked /Page (or not marked at all) is a page."""
    pages = 0
    visited = 0
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(top, 0)]
    while stack and pages <= MAX_PDF_PAGES and visited < MAX_PDF_TREE_NODES:
        item, depth = stack.pop()
        node = _resolved(item)
        if not isinstance(node, DictionaryObject) or id(node) in seen:
            continue
        seen.add(id(node))
        visited += 1
        kids = _resolved(node.get("/Kids"))
        if isinstance(kids, ArrayObject):
            if depth < MAX_PDF_TREE_DEPTH:
                stack.extend((kid, depth + 1) for kid in reversed(kids))
        elif node.get("/Type") == "/Page" or (depth > 0 and node.get("/Type") is None):
            pages += 1
    return pages


def _resolved(item: Any) -> Any:
    """The object an indirect reference points to (None when it points nowhere)."""
    for _hop in range(MAX_PDF_TREE_DEPTH):
        if not isinstance(item, IndirectObject):
            return item
        item = item.get_object()
    return None
