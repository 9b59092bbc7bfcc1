"""Every file of the curated public corpus (tests/corpus/MANIFEST.tsv: Pillow's, pypdf's,
py-pdf/sample-files' and pdf.js's test files) gets the verdict its reference decoders
support, within the usual bounds.

The files are public test data, not committed: `python -m tests.corpus.collect MIRRORS`
copies them into tests/corpus/files/ (or set CARDBOT_CORPUS_DIR). Without them these tests
are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cardbot.core.files import check_file
from cardbot.core.spec import DocumentRules
from tests.corpus.collect import FILES, entries

RULES = DocumentRules(("image/jpeg", "image/png", "application/pdf"), 20 * 1024 * 1024)
ROOT = Path(os.environ.get("CARDBOT_CORPUS_DIR", FILES))
ENTRIES = entries()


def test_the_manifest_lists_a_few_hundred_files_of_every_class_with_their_origin() -> None:
    assert len(ENTRIES) >= 250
    classes = {entry["expected"] for entry in ENTRIES}
    assert {
        "ok",
        "unsupported_file_type",
        "image_unreadable",
        "image_too_small",
        "image_blank",
        "pdf_unreadable",
        "pdf_encrypted",
        "pdf_too_long",
        "file_too_complex",
    } <= classes
    for entry in ENTRIES:
        assert entry["repository"] and entry["path"] and entry["licence"], entry
        assert entry["file"] == f"{entry['repository'].replace('/', '+', 1)}/{entry['path']}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["file"] for entry in ENTRIES])
def test_each_public_file_gets_the_verdict_its_reference_decoders_support(
    entry: dict[str, str],
) -> None:
    path = ROOT / entry["file"]
    if not path.is_file():
        pytest.skip(f"public corpus not present in {ROOT} (see tests/corpus/collect.py)")
    verdict = check_file(path, path.stat().st_size, RULES)
    assert (verdict.problem or "ok") == entry["expected"], entry["reference"]
