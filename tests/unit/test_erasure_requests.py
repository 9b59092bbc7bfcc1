"""The core asks the store to wipe what it deleted: after /delete (on the applicant's turn,
quickly) and after every retention purge (thoroughly, covering earlier erasures too)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.harness import Harness
from tests.unit.test_privacy import approved


def test_delete_asks_for_a_quick_wipe_with_the_commit_that_erases(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.complete_individual()
    chat.command("delete")
    assert chat.db.wipes == []  # asking to confirm deletes nothing

    chat.press("del:yes")

    assert chat.db.wipes == [False] and chat.db.applicants == {}


def test_keeping_the_data_wipes_nothing(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.complete_individual()
    chat.command("delete")
    chat.press("del:no")
    assert chat.db.wipes == []


def test_every_purge_ends_with_a_thorough_wipe_even_with_nothing_to_purge(
    tmp_path: Path,
) -> None:
    chat = approved(tmp_path)
    closed = chat.db.applications[1].closed_at
    assert closed is not None

    assert chat.service.privacy.purge(closed + timedelta(days=1)).numbers == []
    assert chat.db.wipes == [True]
    assert chat.service.privacy.purge(closed + timedelta(days=181)).numbers != []
    assert chat.db.wipes == [True, True]
