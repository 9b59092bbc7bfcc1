"""Copy the files MANIFEST.tsv lists into tests/corpus/files/ from local git mirrors.

    .venv/bin/python -m tests.corpus.collect MIRRORS

MIRRORS holds one bare git repository per source, named `owner+name/repo` (as the mirrors of
python-pillow/Pillow, py-pdf/pypdf, py-pdf/sample-files and mozilla/pdf.js are kept here).
The files are public test data of those projects under their licences (MANIFEST.tsv says
which); they are not committed to cardbot, only listed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
MANIFEST = HERE / "MANIFEST.tsv"
FILES = HERE / "files"


def entries() -> list[dict[str, str]]:
    """The manifest's rows: file, repository, path, licence, reference, expected."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    names = lines[0].lstrip("# ").split("\t")
    return [dict(zip(names, line.split("\t"), strict=True)) for line in lines[1:] if line]


def main() -> None:
    """Copy every listed file that is not there yet."""
    mirrors = Path(sys.argv[1])
    for entry in entries():
        target = FILES / entry["file"]
        if target.is_file():
            continue
        git_dir = mirrors / entry["repository"].replace("/", "+", 1) / "repo"
        blob = subprocess.run(
            ["git", "-C", str(git_dir), "cat-file", "blob", f"HEAD:{entry['path']}"],
            capture_output=True,
            check=True,
        ).stdout
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)


if __name__ == "__main__":
    main()
