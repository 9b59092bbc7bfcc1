"""Sweeping away what a killed process left behind in a scratch folder.

A file's modification time is set by the clock of the machine that holds the file, which is not
always the clock of this process (a network share, a container with a shifted clock). So the age
of a leftover is measured against the folder's own clock: the time stamp a file written there
right now receives.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def folder_clock(folder: Path) -> float:
    """The time, as the file system holding `folder` stamps files, in seconds since the epoch."""
    handle, name = tempfile.mkstemp(prefix=".clock-", dir=folder)
    try:
        return os.fstat(handle).st_mtime
    finally:
        os.close(handle)
        os.unlink(name)


def remove_leftovers(folder: Path, older_than: float) -> int:
    """Remove what in `folder` is untouched for `older_than` seconds; say how many went."""
    if not folder.is_dir():
        return 0
    cutoff = folder_clock(folder) - older_than
    removed = 0
    for child in folder.iterdir():
        with contextlib.suppress(OSError):
            if child.lstat().st_mtime >= cutoff:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
            removed += 1
    return removed
