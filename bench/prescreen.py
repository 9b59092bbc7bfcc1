"""How long checking one uploaded document takes, and the memory it needs, by type and size;
and what `cardbot prescreen` costs as a command, start-up included.

    .venv/bin/python bench/prescreen.py [--quick]
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from pypdf import PdfWriter

from cardbot.core.bounded_check import shutdown
from cardbot.core.file_judge import judge_content
from cardbot.core.file_type import sniff
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


def measure(data: bytes, repeats: int) -> dict[str, float]:
    """Per check: median and worst milliseconds through the bounded worker pool (warm), the
    median in this process without bounds, and peak traced memory of the unbounded check."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        assert check_file(path, len(data), RULES).ok  # warms the pool
        bounded = []
        for _ in range(repeats):
            start = time.perf_counter()
            verdict = check_file(path, len(data), RULES)
            bounded.append((time.perf_counter() - start) * 1000)
            assert verdict.ok, verdict
        kind, offset = sniff(data[:1029])
        assert kind is not None
        direct = []
        for _ in range(repeats):
            start = time.perf_counter()
            judge_content(path, kind, offset)
            direct.append((time.perf_counter() - start) * 1000)
        tracemalloc.start()
        judge_content(path, kind, offset)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "size_mb": len(data) / 1e6,
        "ms_median": statistics.median(bounded),
        "ms_max": max(bounded),
        "ms_in_process": statistics.median(direct),
        "peak_mb": peak / 1e6,
    }


def run(quick: bool = False) -> dict[str, dict[str, float]]:
    """Measure every case; returns {case: {size_mb, ms_median, ms_max, ms_in_process, peak_mb}}."""
    results = {name: measure(make(), 3 if quick else 10) for name, make in CASES.items()}
    shutdown()
    return results


def package_folder(folder: Path) -> Path:
    """A complete enterprise package (the shape `cardbot export` writes) in `folder`."""
    documents = folder / "documents"
    documents.mkdir(parents=True)
    files = {
        "id_front": ("id_front.jpg", noisy_image(1600, 1200, "JPEG")),
        "id_back": ("id_back.jpg", noisy_image(1600, 1000, "JPEG")),
        "business_license": ("business_license.pdf", pdf_of_size(300_000)),
        "tax_registration": ("tax_registration.png", noisy_image(1200, 1600, "PNG", grain=40)),
    }
    entries = []
    for kind, (name, data) in files.items():
        (documents / name).write_bytes(data)
        entries.append({"kind": kind, "file": f"documents/{name}"})
    manifest = {
        "schema": "cardbot.package/1",
        "category": "enterprise",
        "fields": {
            "full_name": "张三",
            "id_type": "resident_id",
            "id_number": "11010519491231002X",
            "phone": "13800138000",
            "company_name": "示例科技有限公司",
            "uscc": "91350100M000100Y43",
            "daily_call_volume": "300",
        },
        "documents": entries,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return folder


def command_cost(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MiB of the command's own process (its
    file-checking workers, about 36 MiB resident each, are not counted)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    assert os.waitstatus_to_exitcode(status) in (0, 1), status
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024


def prescreen_command(repeats: int) -> dict[str, float]:
    """`cardbot prescreen DIR --json` on a complete 4-document package, and `--help` alone
    (what importing the command line costs): median wall and CPU seconds, peak MiB."""
    cardbot = str(Path(sys.executable).with_name("cardbot"))
    with tempfile.TemporaryDirectory() as root:
        folder = package_folder(Path(root) / "package")
        env = {**os.environ, "CARDBOT_DATA_DIR": str(Path(root) / "data")}
        env.pop("CARDBOT_DATABASE_URL", None)
        results: dict[str, float] = {}
        for name, argv in {
            "help": [cardbot, "--help"],
            "prescreen": [cardbot, "prescreen", str(folder), "--json", "--on", "2026-06-01"],
        }.items():
            runs = [command_cost(argv, env) for _ in range(repeats)]
            results[f"{name}_wall_s"] = statistics.median(r[0] for r in runs)
            results[f"{name}_cpu_s"] = statistics.median(r[1] for r in runs)
            results[f"{name}_peak_mb"] = max(r[2] for r in runs)
    return results


def main() -> None:
    """Print the table, then the command's cost."""
    quick = "--quick" in sys.argv
    for name, row in run(quick).items():
        print(name, {key: round(value, 2) for key, value in row.items()})
    command = prescreen_command(3 if quick else 7)
    print("cardbot prescreen", {key: round(value, 3) for key, value in command.items()})


if __name__ == "__main__":
    main()
