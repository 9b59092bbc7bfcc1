"""Plain copies of uploads left behind by a killed process are swept away."""

from __future__ import annotations

import os
from pathlib import Path

from cardbot.storage.leftovers import folder_clock
from cardbot.telegram.bot import sweep_downloads


def test_abandoned_download_folders_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    old, fresh = tmp_path / "tmpold", tmp_path / "tmpfresh"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "upload").write_bytes(b"an ID card photo")
    an_hour_ago = folder_clock(tmp_path) - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    assert sweep_downloads(tmp_path) == 1

    assert not old.exists() and (fresh / "upload").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmpfresh"]


def test_the_sweep_judges_age_by_the_folders_clock_not_the_processes(tmp_path: Path) -> None:
    """A file the file system stamped just now is fresh, whatever time this process believes."""
    just_written = tmp_path / "tmpnew"
    just_written.mkdir()
    stamped = just_written.stat().st_mtime
    assert abs(folder_clock(tmp_path) - stamped) < 600

    assert sweep_downloads(tmp_path, older_than=600) == 0
    assert just_written.exists()


def test_a_missing_download_folder_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep_downloads(tmp_path / "never-made") == 0
