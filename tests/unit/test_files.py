"""File checks judge the content, never the name, and refuse bad files safely."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from cardbot.core.files import check_file
from cardbot.core.spec import DocumentRules
from tests.support import files

RULES = DocumentRules(("image/jpeg", "image/png", "application/pdf"), 20 * 1024 * 1024)


def check(tmp_path: Path, data: bytes, name: str = "upload.jpg"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(data)
    return check_file(path, len(data), RULES)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (files.photo(), "image/jpeg"),
        (files.photo(fmt="PNG"), "image/png"),
        (files.pdf(), "application/pdf"),
        (files.pdf(3), "application/pdf"),
    ],
)
def test_good_documents_pass_with_their_real_type(tmp_path: Path, data: bytes, mime: str) -> None:
    verdict = check(tmp_path, data, name="whatever.exe")
    assert verdict.ok, verdict
    assert verdict.mime_type == mime
    assert verdict.size == len(data)
    assert verdict.sha256 is not None and len(verdict.sha256) == 64


@pytest.mark.parametrize(
    ("data", "problem", "name"),
    [
        (files.windows_executable(), "unsupported_file_type", "id.jpg"),
        (files.zip_archive(), "unsupported_file_type", "licence.pdf"),
        (b"just some text", "unsupported_file_type", "id.png"),
        (files.truncated_photo(), "image_unreadable", "id.jpg"),
        (files.decompression_bomb(), "image_unreadable", "id.png"),
        (files.tiny_photo(), "image_too_small", "id.jpg"),
        (files.blank_photo(), "image_blank", "id.jpg"),
        (files.blank_png(), "image_blank", "id.png"),
        (files.truncated_png(), "image_unreadable", "id.png"),
        (files.corrupted_png(), "image_unreadable", "id.png"),
        (files.encrypted_pdf(), "pdf_encrypted", "licence.pdf"),
        (files.broken_pdf(), "pdf_unreadable", "licence.pdf"),
        (b"", "file_empty", "id.jpg"),
    ],
)
def test_bad_files_are_refused_with_the_right_problem(
    tmp_path: Path, data: bytes, problem: str, name: str
) -> None:
    assert check(tmp_path, data, name).problem == problem


def test_a_file_over_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    with path.open("wb") as handle:
        handle.write(files.pdf())
        handle.truncate(RULES.max_bytes + 1)
    assert check_file(path, RULES.max_bytes + 1, RULES).problem == "file_too_large"


def test_a_file_not_downloaded_because_too_large_is_reported_as_such() -> None:
    assert check_file(None, 25 * 1024 * 1024, RULES).problem == "file_too_large"
    assert check_file(None, 1000, RULES).problem == "file_unavailable"


def test_mangled_files_never_crash_the_check(tmp_path: Path) -> None:
    seeds = [files.pdf(), files.pdf(2), files.photo(seed=1), files.photo(seed=2, fmt="PNG")]
    path = tmp_path / "upload"
    for case in range(600):
        rng = random.Random(case)
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data))]
        path.write_bytes(bytes(data))
        verdict = check_file(path, len(data), RULES)
        assert verdict.ok or verdict.problem, case


def test_a_pdf_whose_objects_refer_to_each_other_forever_is_unreadable(tmp_path: Path) -> None:
    assert check(tmp_path, files.self_referencing_pdf(), "x.pdf").problem == "pdf_unreadable"


# ------------------------------------------- what real decoders do with real files (issue 18)


@pytest.mark.parametrize(
    "make",
    [files.bw_a4_scan, files.palette_scan, files.sixteen_bit_scan],
    ids=["A4 300 dpi black-and-white (mode 1)", "palette (mode P)", "16-bit grey (I;16)"],
)
def test_a_scan_in_any_png_mode_is_decoded_and_accepted(tmp_path: Path, make: Any) -> None:
    verdict = check(tmp_path, make(), "scan.png")
    assert (verdict.problem, verdict.mime_type) == (None, "image/png")


@pytest.mark.parametrize(
    "make",
    [files.png_with_random_idat, files.png_with_idat_cut_in_half],
    ids=["random bytes in IDAT", "IDAT cut in half"],
)
def test_a_png_whose_image_data_is_corrupt_is_refused_though_its_checksums_are_right(
    tmp_path: Path, make: Any
) -> None:
    assert check(tmp_path, make(), "scan.png").problem == "image_unreadable"


def test_an_animated_png_is_a_png_judged_by_its_first_frame(tmp_path: Path) -> None:
    verdict = check(tmp_path, files.apng(), "id.png")
    assert (verdict.problem, verdict.mime_type) == (None, "image/png")


@pytest.mark.parametrize(
    "make",
    [files.owner_password_pdf, files.empty_user_password_pdf],
    ids=["owner password only", "empty user password"],
)
def test_an_encrypted_pdf_that_opens_without_a_password_is_accepted(
    tmp_path: Path, make: Any
) -> None:
    verdict = check(tmp_path, make(), "licence.pdf")
    assert (verdict.problem, verdict.mime_type) == (None, "application/pdf")


@pytest.mark.parametrize(
    "make",
    [
        files.empty_first_branch_pdf,
        files.indirect_count_pdf,
        files.huge_count_pdf,
        files.junk_before_header_pdf,
    ],
    ids=["empty first /Pages branch", "indirect /Count", "/Count 9999999999", "junk before"],
)
def test_a_pdf_every_reader_opens_is_accepted(tmp_path: Path, make: Any) -> None:
    verdict = check(tmp_path, make(), "licence.pdf")
    assert (verdict.problem, verdict.mime_type) == (None, "application/pdf")


def test_a_pdf_whose_page_tree_leads_to_more_than_50_pages_is_too_long(tmp_path: Path) -> None:
    assert check(tmp_path, files.many_page_pdf(51), "book.pdf").problem == "pdf_too_long"
    assert check(tmp_path, files.many_page_pdf(50), "book.pdf").ok


def test_a_zip_holding_a_pdf_is_not_taken_for_a_pdf_with_junk_before_it(tmp_path: Path) -> None:
    assert check(tmp_path, files.zip_archive(), "licence.pdf").problem == "unsupported_file_type"
