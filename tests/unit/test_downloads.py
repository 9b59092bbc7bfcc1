"""Plain copies of uploads left behind by a killed process are swept away."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cardbot.telegram.bot import sweep_downloads


def test_abandoned_download_folders_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    old, fresh = tmp_path / "tmpold", tmp_path / "tmpfresh"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "upload").write_bytes(b"an ID card photo")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    assert sweep_downloads(tmp_path) == 1

    assert not old.exists() and (fresh / "upload").exists()
