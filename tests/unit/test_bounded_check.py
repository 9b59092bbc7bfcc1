"""Each file is judged within hard bounds of CPU time and memory, in a worker process that is
replaced when a file takes it past them; the file is then `file_too_complex`.

The limits are shrunk for these tests and the files are far past them (tens of times), so
the outcome does not depend on how fast the machine is.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from cardbot.core import bounded_check
from cardbot.core.bounded_check import MIB, Limits
from cardbot.core.files import check_file
from cardbot.core.spec import DocumentRules
from tests.support import files

RULES = DocumentRules(("image/jpeg", "image/png", "application/pdf"), 20 * 1024 * 1024)


@pytest.fixture
def limits() -> Iterator[Callable[[Limits], None]]:
    """Set the limits for one test; the usual ones come back after it."""
    before = bounded_check.current_limits()
    yield bounded_check.configure
    bounded_check.configure(before)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_pdf_that_needs_more_cpu_than_allowed_is_too_complex_and_the_worker_replaced(
    tmp_path: Path, limits: Callable[[Limits], None]
) -> None:
    # pypdf parses the 300,000 objects of the stream that holds the catalog: seconds of CPU.
    limits(Limits(cpu_seconds=0.2, workers=1))
    expensive = write(tmp_path, "expensive.pdf", files.object_stream_pdf(300_000))
    good = write(tmp_path, "good.jpg", files.photo())

    assert check_file(expensive, 0, RULES).problem == "file_too_complex"
    assert check_file(good, 0, RULES).ok  # the one worker was replaced


def test_the_same_expensive_pdf_is_accepted_when_the_bound_allows_it(
    tmp_path: Path, limits: Callable[[Limits], None]
) -> None:
    limits(Limits(cpu_seconds=120.0, workers=1))
    smaller = write(tmp_path, "objstm.pdf", files.object_stream_pdf(20_000))
    assert check_file(smaller, 0, RULES).ok


def test_an_image_that_needs_more_memory_than_allowed_is_too_complex(
    tmp_path: Path, limits: Callable[[Limits], None]
) -> None:
    # 6000 x 6000 RGB decodes to 144 MiB (Pillow keeps 4 bytes a pixel): over 128 MiB alone.
    image = Image.new("RGB", (6000, 6000), (240, 240, 240))
    ImageDraw.Draw(image).rectangle((100, 100, 5000, 300), fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    del image
    big = write(tmp_path, "big.png", out.getvalue())
    limits(Limits(memory_bytes=128 * MIB, workers=1))

    assert check_file(big, 0, RULES).problem == "file_too_complex"
    assert check_file(write(tmp_path, "good.png", files.photo(fmt="PNG")), 0, RULES).ok


def test_files_are_judged_from_many_threads_at_once_as_the_bot_executor_does(
    tmp_path: Path,
) -> None:
    cases = {write(tmp_path, f"good{seed}.jpg", files.photo(seed=seed)): None for seed in range(6)}
    cases[write(tmp_path, "blank.png", files.blank_png())] = "image_blank"
    cases[write(tmp_path, "broken.pdf", files.broken_pdf())] = "pdf_unreadable"
    cases[write(tmp_path, "scan.png", files.bw_a4_scan())] = None
    with ThreadPoolExecutor(max_workers=4) as executor:
        judged = executor.map(lambda path: check_file(path, 0, RULES), cases)
        verdicts = dict(zip(cases, judged, strict=True))
    assert {path: verdict.problem for path, verdict in verdicts.items()} == cases
