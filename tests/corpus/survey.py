"""Survey files: cardbot's verdict beside the reference decoders' opinion, one TSV line each.

    .venv/bin/python -m tests.corpus.survey FOLDER > survey.tsv

Reference decoders (dev extra): for images Pillow decoding every pixel at full size; for PDFs
PDFium (pypdfium2), qpdf (pikepdf) and pypdf reading its whole page list. Each opinion is
`ok:N` (opens, N pages), `password` (needs a password to open) or `fails`.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from cardbot.core.file_judge import judge_content
from cardbot.core.file_type import PDF, PNG, sniff

REFERENCE_TIMEOUT = 60.0


def pillow_opinion(path: Path) -> str:
    """Pillow, every pixel at full size, chunk checksums included."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as image:
            if image.format == "PNG":
                image.verify()
        with Image.open(path) as image:
            image.load()
            return f"ok:{image.size[0]}x{image.size[1]}:{image.mode}"
    except Exception:
        return "fails"


def pdfium_opinion(path: Path) -> str:
    """PDFium, as Chrome opens PDFs."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
        pages = len(document)
        document.close()
        return f"ok:{pages}"
    except pypdfium2.PdfiumError as exc:
        return "password" if "password" in str(exc).lower() else "fails"


def qpdf_opinion(path: Path) -> str:
    """qpdf, which repairs what it can."""
    import pikepdf

    try:
        with pikepdf.open(path) as document:
            return f"ok:{len(document.pages)}"
    except pikepdf.PasswordError:
        return "password"
    except Exception:
        return "fails"


def pypdf_opinion(path: Path) -> str:
    """pypdf reading the whole page list (what cardbot avoids doing)."""
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return "password"
        return f"ok:{len(reader.pages)}"
    except Exception:
        return "fails"


def survey_one(path: str) -> list[str]:
    """The TSV fields for one file: type, verdict, CPU seconds, peak MiB, opinions."""
    file = Path(path)
    kind, offset = sniff(file.read_bytes()[:1029])
    if kind is None:
        return ["other", "unsupported_file_type", "0", "0", "-"]
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.process_time()
    try:
        verdict = judge_content(file, kind, offset) or "ok"
    except MemoryError:
        verdict = "file_too_complex"
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del before
    if kind == PDF:
        opinions = [pdfium_opinion(file), qpdf_opinion(file), pypdf_opinion(file)]
    else:
        opinions = [pillow_opinion(file)]
    short = "png" if kind == PNG else "jpeg" if kind != PDF else "pdf"
    return [short, verdict, f"{cpu:.2f}", f"{peak:.0f}", " ".join(opinions)]


def main() -> None:
    """Survey every file under the folder given, in parallel, each in a fresh process."""
    root = Path(sys.argv[1])
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    with ProcessPool(max_workers=2, max_tasks=1) as pool:
        futures = [
            (p, pool.schedule(survey_one, (str(p),), timeout=REFERENCE_TIMEOUT)) for p in paths
        ]
        for path, future in futures:
            try:
                fields = future.result()
            except (ProcessExpired, TimeoutError) as exc:
                fields = ["?", f"crashed:{exc.__class__.__name__}", "-", "-", "-"]
            print("\t".join([str(path.relative_to(root)), *fields]), flush=True)


if __name__ == "__main__":
    main()
