"""What a file is, judged by its first bytes (never by its name)."""

from __future__ import annotations

import filetype

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_HEADER = b"%PDF-"
# Readers (Adobe Reader, PDFium, pdf.js, MuPDF, pypdf) look for the header within the first
# 1,024 bytes, so a PDF that a mail gateway or scanner prefixed with a few bytes still opens.
PDF_HEADER_WINDOW = 1024
HEAD_BYTES = PDF_HEADER_WINDOW + len(PDF_HEADER)


def sniff(head: bytes) -> tuple[str | None, int]:
    """The accepted type these first bytes begin (or None) and where its content starts.

    An animated PNG (APNG) is a PNG: every PNG reader shows its default image. Bytes before
    `%PDF-` are allowed, as readers allow them, unless they begin another known format.
    """
    if head.startswith(JPEG_SIGNATURE):
        return JPEG, 0
    if head.startswith(PNG_SIGNATURE):
        return PNG, 0
    if head.startswith(PDF_HEADER):
        return PDF, 0
    if filetype.guess_mime(head) is not None:  # another format (a ZIP holding a PDF…)
        return None, 0
    offset = head.find(PDF_HEADER, 0, HEAD_BYTES)
    if offset >= 0:
        return PDF, offset
    return None, 0
