"""Hostile files at every step: refused kindly, nothing changed or left behind, the way on open.

Each file of the corpus is sent through the core's upload path (the Harness, as the Telegram
adapter would hand it over) at every document step — both ID card sides, alone and in an
album, the passport page, the business licence, the tax registration — and where a typed
answer, a button or the summary is expected. After each the applicant must read a kind,
well-formed message, their stored conversation must be as before, the document store must
hold no new file, and a good file (or answer) must still be taken.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from cardbot.content.render import RenderedMessage
from cardbot.core.events import FileUpload, IncomingFile
from cardbot.core.model import Applicant
from tests.support import files, harness
from tests.support.botapi_standin import render_text
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC, Harness

MAX_BYTES = 20 * 1024 * 1024  # spec.documents.max_bytes, checked against the spec below
RTL_OVERRIDE = "\u202e"
NOT_FOR_APPLICANTS = (
    "Traceback",
    'File "',
    "Exception",
    "Error:",
    "pypdf",
    "PIL",
    "<script",
    "None",
    "{{",
    "{%",
)


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Hostile:
    """One hostile upload: its bytes (None: never downloaded), and the problem it must get."""

    id: str
    problem: str
    make: Callable[[], bytes] | None = None
    declared_size: int = 0
    name: str = "upload.jpg"
    sparse_size: int | None = None  # written as a sparse file of this size instead


@functools.cache
def content(item: Hostile) -> bytes:
    """The item's bytes, made once per test session (the PNG bomb takes seconds to make)."""
    assert item.make is not None
    return item.make()


CORPUS = [
    Hostile("empty file (0 bytes)", "file_empty", lambda: b""),
    Hostile(
        "over 20 MB, not downloaded (as the adapter hands it over)",
        "file_too_large",
        declared_size=MAX_BYTES + 1,
        name="scan.pdf",
    ),
    Hostile(
        "over 20 MB on disk",
        "file_too_large",
        files.pdf,
        name="scan.pdf",
        sparse_size=MAX_BYTES + 1,
    ),
    Hostile("download failed", "file_unavailable", declared_size=150_000),
    Hostile("PNG decompression bomb", "image_unreadable", files.decompression_bomb, name="a.png"),
    Hostile("JPEG decompression bomb", "image_unreadable", files.jpeg_bomb),
    Hostile("truncated JPEG", "image_unreadable", files.truncated_photo),
    Hostile("truncated PNG", "image_unreadable", files.truncated_png, name="a.png"),
    Hostile("corrupted PNG", "image_unreadable", files.corrupted_png, name="a.png"),
    Hostile("one-colour JPEG", "image_blank", files.blank_photo),
    Hostile("one-colour PNG", "image_blank", files.blank_png, name="a.png"),
    Hostile("black PNG", "image_blank", files.black_png, name="a.png"),
    Hostile("tiny image", "image_too_small", files.tiny_photo),
    Hostile("image 20 pixels high", "image_too_small", files.sliver_photo),
    Hostile("encrypted PDF", "pdf_encrypted", files.encrypted_pdf, name="a.pdf"),
    Hostile("broken PDF", "pdf_unreadable", files.broken_pdf, name="a.pdf"),
    Hostile("self-referencing PDF", "pdf_unreadable", files.self_referencing_pdf, name="a.pdf"),
    Hostile("PDF with 0 pages", "pdf_unreadable", files.zero_page_pdf, name="a.pdf"),
    Hostile("EXE renamed .jpg", "unsupported_file_type", files.windows_executable),
    Hostile("ZIP renamed .pdf", "unsupported_file_type", files.zip_archive, name="a.pdf"),
    Hostile("HTML with script", "unsupported_file_type", files.html_with_script, name="a.html"),
    Hostile("SVG with script", "unsupported_file_type", files.svg_with_script, name="a.svg"),
    Hostile("polyglot: JPEG header + ZIP", "image_unreadable", files.jpeg_header_zip),
    Hostile("GIF", "unsupported_file_type", files.gif, name="a.gif"),
    Hostile("WebP", "unsupported_file_type", files.webp, name="a.webp"),
    Hostile("HEIC", "unsupported_file_type", files.heic, name="IMG_0001.HEIC"),
    Hostile(
        "HTML in the file name",
        "unsupported_file_type",
        files.windows_executable,
        name='<b>x</b><script>alert(1)</script><a href="javascript:x">&amp;.jpg',
    ),
    Hostile(
        "RTL override in the file name",
        "unsupported_file_type",
        files.windows_executable,
        name=f"\u200fid{RTL_OVERRIDE}gpj.exe",
    ),
    Hostile(
        "300-character file name", "pdf_unreadable", files.broken_pdf, name="名" * 296 + ".pdf"
    ),
]
IDS = [item.id for item in CORPUS]

_uploads = itertools.count(1)
photo = functools.cache(files.photo)  # good photos, made once (encoding them is the slow part)
pdf_licence = functools.cache(lambda: files.pdf(2))


def send(h: Harness, item: Hostile, *, group: str | None = None) -> list[RenderedMessage]:
    """Hand the item to the core as the Telegram adapter would."""
    if item.make is None:
        incoming = IncomingFile(None, item.declared_size, item.name, None, group)
        return h.send(FileUpload(incoming))
    path = h.workdir / f"hostile-{next(_uploads)}"
    path.write_bytes(content(item))
    if item.sparse_size is not None:
        with path.open("r+b") as handle:
            handle.truncate(item.sparse_size)
    incoming = IncomingFile(path, path.stat().st_size, item.name, None, group)
    return h.send(FileUpload(incoming))


# --------------------------------------------------------------------------- where they are sent


@dataclass(frozen=True)
class DocumentStep:
    """A document slot, how to reach it, and how the hostile and the good file are sent."""

    id: str
    slot: str
    reach: Callable[[Harness], None]
    hostile_group: str | None = None
    good_group: str | None = None


def _individual(h: Harness) -> None:
    h.start_as("individual")
    h.fill_identity()


def _individual_front_given(h: Harness) -> None:
    _individual(h)
    h.upload(photo(seed=1))


def _individual_album_front_given(h: Harness) -> None:
    _individual(h)
    h.upload(photo(seed=1), group="album")


def _passport(h: Harness) -> None:
    h.start_as("individual")
    h.fill_identity(passport=True)


def _business_licence(h: Harness) -> None:
    h.start_as("small_business")
    h.fill_identity()
    h.text("Acme Trading Co., Ltd.")
    h.text(VALID_USCC)
    h.upload(photo(seed=1), group="id-album")
    h.upload(photo(seed=2), group="id-album")


def _tax_registration(h: Harness) -> None:
    _business_licence(h)
    h.upload(pdf_licence())


DOCUMENT_STEPS = [
    DocumentStep("id card front", "id_front", _individual),
    DocumentStep("id card back", "id_back", _individual_front_given),
    DocumentStep("id card album, 1st photo", "id_front", _individual, "album", "album"),
    DocumentStep("id card album, 2nd photo", "id_back", _individual_album_front_given, "album"),
    DocumentStep("passport page", "passport", _passport),
    DocumentStep("business licence", "business_license", _business_licence),
    DocumentStep("tax registration", "tax_registration", _tax_registration),
]


# Where no file is expected: (state, the good answer that carries on), in the order an
# enterprise applicant meets them. The document steps between (state None) get good files.
ANSWERS: list[tuple[str | None, Callable[[Harness], object]]] = [
    ("category", lambda h: h.press("cat:enterprise")),
    ("full_name", lambda h: h.text("张三")),
    ("id_type", lambda h: h.press("pick:id_type:resident_id")),
    ("id_number", lambda h: h.text(VALID_ID)),
    ("phone", lambda h: h.text(VALID_PHONE)),
    ("company_name", lambda h: h.text("Acme Trading Co., Ltd.")),
    ("uscc", lambda h: h.text(VALID_USCC)),
    ("daily_call_volume", lambda h: h.text("500")),
    (
        None,
        lambda h: (
            h.upload(photo(seed=1), group="id-album"),
            h.upload(photo(seed=2), group="id-album"),
            h.upload(pdf_licence()),
            h.upload(photo(seed=3, fmt="PNG")),
        ),
    ),
    ("summary", lambda h: h.press("nav:submit")),
]


# --------------------------------------------------------------------------- checks


_load_spec = functools.cache(harness.load_spec)
_renderer = functools.cache(harness.Renderer)


@pytest.fixture
def h(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """A fresh applicant and store; the dialogs are parsed once for the whole module."""
    monkeypatch.setattr(harness, "load_spec", _load_spec)
    monkeypatch.setattr(harness, "Renderer", _renderer)
    chat = Harness(tmp_path)
    assert chat.spec.documents.max_bytes == MAX_BYTES
    return chat


@dataclass
class Snapshot:
    """What a refused upload must not change."""

    applicant: Applicant
    blobs: dict[str, bytes]
    deleted: list[str]

    @classmethod
    def of(cls, h: Harness) -> Snapshot:
        return cls(h.applicant, dict(h.documents.blobs), list(h.documents.deleted))


def assert_kind_messages(replies: list[RenderedMessage], item: Hostile) -> None:
    """Replies exist, are valid Telegram HTML, show nothing internal, and offer a way on."""
    assert replies, "the applicant was left without an answer"
    for reply in replies:
        assert reply.text.strip()
        plain = render_text(reply.text, "HTML")  # raises as the Bot API would on bad markup
        for leak in NOT_FOR_APPLICANTS:
            assert leak not in reply.text and leak not in plain, (leak, reply.text)
        assert RTL_OVERRIDE not in reply.text
        if item.name != "upload.jpg":
            assert item.name not in reply.text and item.name not in plain
    assert replies[-1].buttons, "the last message offers no button to carry on"


def assert_unchanged(h: Harness, before: Snapshot, *, album: bool = False) -> None:
    after = Snapshot.of(h)
    expected = before.applicant
    if album:  # the album being received is remembered, so its other photos are taken
        expected = dataclasses.replace(
            expected,
            album_group=after.applicant.album_group,
            album_step=after.applicant.album_step,
        )
    assert after.applicant == expected
    assert after.blobs == before.blobs, "a refused file was left in the document store"
    assert after.deleted == before.deleted


def problem_text(h: Harness, problem: str) -> str:
    return h.renderer.render_text(f"problems/{problem}", "zh", {})


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("step", DOCUMENT_STEPS, ids=[s.id for s in DOCUMENT_STEPS])
@pytest.mark.parametrize("item", CORPUS, ids=IDS)
def test_a_hostile_file_for_a_document_is_refused_kindly_changes_nothing_and_the_next_is_taken(
    h: Harness, item: Hostile, step: DocumentStep
) -> None:
    step.reach(h)
    state = h.state
    before = Snapshot.of(h)

    replies = send(h, item, group=step.hostile_group)

    assert problem_text(h, item.problem) in [r.text for r in replies]
    assert_kind_messages(replies, item)
    assert_unchanged(h, before, album=step.hostile_group is not None)

    good = photo(seed=77, fmt="PNG")
    h.upload(good, group=step.good_group)
    app = h.applicant.application
    assert app is not None
    stored = app.documents[step.slot]
    assert stored.sha256 == hashlib.sha256(good).hexdigest()
    assert h.documents.blobs[stored.storage_key] == good
    assert set(h.documents.blobs) == set(before.blobs) | {stored.storage_key}
    assert h.state != state or h.applicant.slot_index == before.applicant.slot_index + 1


@pytest.mark.parametrize("item", CORPUS, ids=IDS)
def test_a_hostile_file_sent_instead_of_any_answer_is_refused_and_the_answer_still_taken(
    h: Harness, item: Hostile
) -> None:
    h.command("start")
    h.press("consent:yes")
    for state, answer in ANSWERS:
        if state is None:
            answer(h)
            continue
        assert h.state == state
        before = Snapshot.of(h)

        replies = send(h, item)

        assert problem_text(h, "unexpected_file") in [r.text for r in replies], state
        assert_kind_messages(replies, item)
        assert_unchanged(h, before)
        answer(h)
    assert h.state == "submitted"
    app = h.applicant.application
    assert app is not None and app.number is not None
    assert set(h.documents.blobs) == {doc.storage_key for doc in app.documents.values()}


def test_a_hostile_file_in_the_middle_of_an_album_does_not_shift_the_sides(h: Harness) -> None:
    _individual(h)
    front, back = photo(seed=1), photo(seed=2)
    assert h.upload(front, group="a") == []
    send(h, CORPUS[IDS.index("EXE renamed .jpg")], group="a")
    h.upload(back, group="a")
    app = h.applicant.application
    assert app is not None
    assert app.documents["id_front"].sha256 == hashlib.sha256(front).hexdigest()
    assert app.documents["id_back"].sha256 == hashlib.sha256(back).hexdigest()
    assert h.state == "summary"
    assert len(h.documents.blobs) == 2


@pytest.mark.parametrize(
    "name",
    [
        '<b>x</b><script>alert(1)</script><a href="javascript:x">&amp;.jpg',
        f"\u200fid{RTL_OVERRIDE}gpj.exe",
        "名" * 296 + ".jpg",
        "../../../etc/passwd",
        "",
    ],
    ids=["html", "rtl override", "300 characters", "path traversal", "empty"],
)
def test_a_good_file_with_a_hostile_name_is_stored_and_every_message_stays_valid(
    h: Harness, name: str
) -> None:
    _individual(h)
    replies = [*h.upload(photo(seed=1), name=name), *h.upload(photo(seed=2), name=name)]
    replies += h.command("summary")
    assert h.state == "summary"
    for reply in replies:
        plain = render_text(reply.text, "HTML")
        if name:
            assert name not in reply.text and name not in plain
        assert RTL_OVERRIDE not in reply.text
    assert len(h.documents.blobs) == 2


def test_a_pdf_with_tens_of_thousands_of_pages_is_refused_without_walking_its_page_tree(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pypdf is pure Python and the core runs in threads: reading the whole page list of a
    20 000-page PDF (2 MB; a 20 MB upload fits about 200 000) would hold a worker and the GIL
    for seconds. The check reads the declared page count and follows one branch down."""
    walks: list[bool] = []
    flatten = PdfReader._flatten

    def recording_flatten(reader: PdfReader, *args: Any, **kwargs: Any) -> None:
        walks.append(True)
        flatten(reader, *args, **kwargs)

    monkeypatch.setattr(PdfReader, "_flatten", recording_flatten)
    _passport(h)
    before = h.applicant

    replies = h.upload(files.many_page_pdf(20_000), name="passport.pdf")

    assert "50 页" in replies[0].text
    assert walks == []
    assert h.applicant == before
