"""What reading one document photo found: a plain, picklable value (no OCR import here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The document slots of dialogs/flow.yaml that can be read.
ID_FRONT = "id_front"
ID_BACK = "id_back"
PASSPORT = "passport"
BUSINESS_LICENSE = "business_license"
READABLE_KINDS = (ID_FRONT, ID_BACK, PASSPORT, BUSINESS_LICENSE)

# How a reading went.
READ = "read"  # the engine ran and found text
NO_TEXT = "no_text"  # the engine ran and found no text at all
FAILED = "failed"  # the engine did not finish (timeout, crash, unreadable file)
OFF = "off"  # reading is switched off or not installed


@dataclass(frozen=True)
class Line:
    """One line of text the OCR found: its text, confidence and box (centre and size)."""

    text: str
    score: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Reading:
    """The fields read from one document photo; a field is None when not read confidently."""

    kind: str
    status: str = FAILED
    looks_like: str | None = None
    blur: float | None = None
    image_blurry: bool = False
    name: str | None = None
    id_number: str | None = None
    authority: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    permanent: bool = False
    passport_number: str | None = None
    passport_name: str | None = None
    passport_expiry: date | None = None
    company_name: str | None = None
    uscc: str | None = None
    uscc_from_qr: str | None = None
    cpu_seconds: float = 0.0

    @property
    def text_read(self) -> bool:
        """True when the engine ran and found some text."""
        return self.status == READ

    @property
    def side_wrong(self) -> bool:
        """True when the photo is recognisably another document (or side) than the one asked."""
        return self.looks_like is not None and self.looks_like != self.kind

    @property
    def key_fields_read(self) -> bool:
        """True when the field that identifies this kind of document was read."""
        if self.kind == ID_FRONT:
            return self.id_number is not None
        if self.kind == ID_BACK:
            return self.valid_until is not None or self.permanent
        if self.kind == PASSPORT:
            return self.passport_number is not None
        if self.kind == BUSINESS_LICENSE:
            return (self.uscc or self.uscc_from_qr) is not None
        return False


def nothing_read(kind: str, status: str = FAILED) -> Reading:
    """The reading of a document that could not be read (timeout, failure, reading off)."""
    return Reading(kind=kind, status=status)
