"""File checks judge the content, never the name, and refuse bad files safely."""

from __future__ import annotations

import random
from pathlib import Path

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
