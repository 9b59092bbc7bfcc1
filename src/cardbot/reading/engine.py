"""Reading one document photo with RapidOCR (PP-OCR models shipped inside its wheel) and its
QR code with zxing-cpp. Runs inside a reading worker (pool.py); the model loads once per
worker, on its first document. Never imported by the bot process itself.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, ImageStat

from cardbot.core.text import clean_line
from cardbot.reading.blur import is_blurry, sharpness
from cardbot.reading.model import BUSINESS_LICENSE, NO_TEXT, Line, Reading
from cardbot.reading.parse import parse

# Photos are read fitted within this many pixels: a card's text stays 20–40 px high, and a
# 12 MP phone photo costs no more than a small one.
MAX_SIDE = 1024
# Mean grey (0–255) under which a photo counts as dim: lit documents measure 150 and more,
# the dim ones of bench/reading.py 83–91.
DIM_BELOW = 110.0
_ENGINE: Any = None


def engine() -> Any:
    """The OCR engine of this process, loaded on first use from the models in the wheel."""
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        # One thread: the pool's processes are the parallelism, and spinning ONNX threads
        # would cost CPU the other workers and the bot need. One line per recognition batch:
        # a batch is padded to its widest line, which doubled the time on these documents.
        _ENGINE = RapidOCR(
            intra_op_num_threads=1,
            inter_op_num_threads=1,
            rec_batch_num=1,
        )
    return _ENGINE


def load_image(source: Path | bytes) -> Image.Image:
    """The photo (or a PDF's first embedded image) upright by its EXIF tag, in RGB."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if is_pdf(data):
        return _pdf_image(data)
    image: Image.Image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image)
    return image.convert("RGB")


def is_pdf(data: bytes) -> bool:
    """True when the bytes are a PDF (its header may follow some junk, as readers allow)."""
    return b"%PDF-" in data[:1024]


def _pdf_image(data: bytes) -> Image.Image:
    """The largest image on a scanned PDF's first page."""
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(data)).pages[0]
    images = [img.image for img in page.images if img.image is not None]
    if not images:
        raise ValueError("no image on the first page")
    return max(images, key=lambda im: im.width * im.height).convert("RGB")


def pdf_text_lines(data: bytes) -> list[Line]:
    """The lines of a PDF's first page's own text (an electronic licence, a scan an app gave a
    text layer), placed one under the other as OCR would find them; none for a plain scan."""
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(data)).pages[0]
    text = page.extract_text(extraction_mode="layout") or ""
    rows = [clean_line(row) for row in text.splitlines()]  # some fonts leave control bytes
    return [
        Line(
            text=row,
            score=1.0,
            x=len(row) * 5.0,
            y=index * 20.0,
            width=len(row) * 10.0,
            height=10.0,
        )
        for index, row in enumerate(row for row in rows if row)
    ]


def ocr_lines(image: Image.Image) -> list[Line]:
    """The text lines OCR finds in the image, with confidence and box."""
    import numpy as np

    fitted = image.copy()
    fitted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    result, _elapsed = engine()(np.asarray(fitted)[:, :, ::-1])
    lines = []
    for box, text, score in result or []:
        xs = [float(p[0]) for p in box]
        ys = [float(p[1]) for p in box]
        lines.append(
            Line(
                text=str(text),
                score=float(score),
                x=sum(xs) / 4,
                y=sum(ys) / 4,
                width=max(xs) - min(xs),
                height=max(ys) - min(ys),
            )
        )
    return lines


def qr_texts(image: Image.Image) -> list[str]:
    """The texts of the QR codes in the image."""
    import zxingcpp

    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    grey = image.convert("L")
    return [str(code.text) for code in zxingcpp.read_barcodes(grey, formats=qr_only) if code.text]


def read_image(kind: str, source: Path | bytes) -> Reading:
    """Read the document photo (or PDF) expected to be `kind` (runs in the worker; may raise)."""
    started = time.process_time()
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    reading = _read_pdf_text(kind, data) if is_pdf(data) else None
    if reading is None or not reading.key_fields_read:
        try:
            reading = _read_photo(kind, load_image(data))
        except ValueError:  # a PDF without an image: its text is all there is
            if reading is None:
                raise
    return _with(reading, cpu_seconds=round(time.process_time() - started, 3))


def _read_pdf_text(kind: str, data: bytes) -> Reading | None:
    """What the PDF's own text says (with the QR code of its largest image, on a licence);
    None when it has no text."""
    lines = pdf_text_lines(data)
    if not lines:
        return None
    codes: list[str] = []
    if kind == BUSINESS_LICENSE:
        try:
            codes = qr_texts(_pdf_image(data))
        except ValueError:
            codes = []
    return parse(kind, lines, codes)


def _read_photo(kind: str, image: Image.Image) -> Reading:
    """Read the document in the photo: OCR, turned when the page lies on its side."""
    blur = sharpness(image)
    if is_blurry(blur):
        # Too blurred to read: OCR would find nothing, or worse, guess.
        reading = Reading(kind=kind, status=NO_TEXT, blur=blur, image_blurry=True)
    else:
        image = lifted(image)
        codes = qr_texts(image) if kind == BUSINESS_LICENSE else []
        lines = ocr_lines(image)
        reading = parse(kind, lines, codes)
        for turn in _turns_to_try(reading, lines):
            # OCR turns single lines upright, not always a whole page upside down or sideways.
            again = parse(kind, ocr_lines(image.rotate(turn, expand=True)), codes)
            if again.key_fields_read:
                reading = again
                break
        reading = _with(reading, blur=blur)
    return reading


def lifted(image: Image.Image) -> Image.Image:
    """A dim photo (a document is mostly white paper) stretched to the full range of grey, so
    OCR sees its print as on a lit one; other photos as they are."""
    brightness = float(ImageStat.Stat(image.convert("L").reduce(8)).mean[0])
    if brightness >= DIM_BELOW:
        return image
    return ImageOps.autocontrast(image, cutoff=1)


def _turns_to_try(reading: Reading, lines: list[Line]) -> tuple[int, ...]:
    """The turns (degrees) worth another OCR pass: none when the key fields were read or the
    photo is another document; 180 for a page of level lines, 90 and 270 for upright ones."""
    if not lines or reading.key_fields_read or reading.side_wrong:
        return ()
    upright = sum(1 for line in lines if line.height > line.width)
    return (90, 270) if upright > len(lines) / 2 else (180,)


def _with(reading: Reading, **changes: Any) -> Reading:
    from dataclasses import replace

    return replace(reading, **changes)
