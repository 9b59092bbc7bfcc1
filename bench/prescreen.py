"""How long checking one uploaded document takes, and the memory it needs, by type and size."""

from __future__ import annotations

import io
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from pypdf import PdfWriter

from cardbot.core.files import check_file
from cardbot.core.spec import DocumentRules

RULES = DocumentRules(("image/jpeg", "image/png", "application/pdf"), 20 * 1024 * 1024)


def noisy_image(width: int, height: int, fmt: str, grain: int = 8) -> bytes:
    """A photo-like image: random blocks of `grain` pixels, smoothed (compresses like a photo)."""
    rng = random.Random(7)
    size = (width // grain, height // grain)
    small = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    small.resize((width, height)).save(out, fmt, quality=90)
    return out.getvalue()


def pdf_of_size(target: int) -> bytes:
    """A valid PDF of about `target` bytes (pages plus an embedded blob)."""
    writer = PdfWriter()
    for _ in range(10):
        writer.add_blank_page(width=595, height=842)
    writer.add_attachment("scan.bin", random.Random(3).randbytes(max(target - 20_000, 0)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


CASES: dict[str, Callable[[], bytes]] = {
    "jpeg 2 MP": lambda: noisy_image(1600, 1200, "JPEG"),
    "jpeg 12 MP": lambda: noisy_image(4000, 3000, "JPEG"),
    "png 12 MP": lambda: noisy_image(4000, 3000, "PNG", grain=40),
    "pdf 1 MB": lambda: pdf_of_size(1_000_000),
    "pdf 20 MB": lambda: pdf_of_size(19_500_000),
}


def measure(data: bytes, repeats: int) -> tuple[float, float, int]:
    """Median and worst milliseconds per check, and peak traced memory in bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            verdict = check_file(path, len(data), RULES)
            timings.append((time.perf_counter() - start) * 1000)
            assert verdict.ok, verdict
        tracemalloc.start()
        check_file(path, len(data), RULES)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return statistics.median(timings), max(timings), peak


def run(quick: bool = False) -> dict[str, dict[str, float]]:
    """Measure every case; returns {case: {ms_median, ms_max, peak_mb, size_mb}}."""
    results = {}
    for name, make in CASES.items():
        data = make()
        median, worst, peak = measure(data, 3 if quick else 10)
        results[name] = {
            "size_mb": len(data) / 1e6,
            "ms_median": median,
            "ms_max": worst,
            "peak_mb": peak / 1e6,
        }
    return results


def main() -> None:
    """Print the table."""
    for name, row in run().items():
        print(name, row)


if __name__ == "__main__":
    main()
