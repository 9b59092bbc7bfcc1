"""Review decisions on a real database: one decision when two reviewers tap at once; the audit
trail on disk and through `cardbot audit`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cardbot.__main__ import main
from cardbot.core.events import ButtonPress, Incoming, UserRef
from cardbot.core.ports import UnitOfWork
from cardbot.core.roles import REVIEWER
from cardbot.db.migrate import upgrade
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.storage.encrypted import EncryptedDocumentStore
from tests.support.fakes import FixedClock
from tests.support.harness import DIALOGS, Harness

GROUP = -100888
REVIEWERS = (71, 72)


def sql_desk(tmp_path: Path, url: str) -> Harness:
    """A harness on the database at `url` with one submitted application and two reviewers."""
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    clock = FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))

    def units() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    store = EncryptedDocumentStore(tmp_path / "documents", bytes(32))
    chat = Harness(
        tmp_path, unit_of_work=units, documents=store, now=clock.current, review_chat_id=GROUP
    )
    with units() as uow:
        for reviewer in REVIEWERS:
            uow.roles.grant(reviewer, REVIEWER, None)
        uow.commit()
    chat.complete_individual()
    chat.press("nav:submit")
    return chat


def test_two_reviewers_deciding_at_the_same_moment_make_one_decision(
    tmp_path: Path, database_url: str
) -> None:
    chat = sql_desk(tmp_path, database_url)
    with chat.unit_of_work() as uow:
        app = uow.load_application("DX-2026-000001")
    assert app is not None and app.id is not None

    def race(taps: list[tuple[int, str, str]]) -> list[list[str]]:
        """Handle every (reviewer, delivery key, op) at the same moment, one thread each."""
        barrier = threading.Barrier(len(taps))
        results: list[list[str]] = [[] for _ in taps]

        def tap(index: int, reviewer: int, key: str, op: str) -> None:
            user = UserRef(reviewer, GROUP, "zh-hans", name=f"R{reviewer}")
            incoming = Incoming(key, user, ButtonPress(f"rv:{app.id}:{op}"))
            barrier.wait()
            results[index] = [r.template for r in chat.service.handle(incoming)]

        threads = [
            threading.Thread(target=tap, args=(index, *tap_args))
            for index, tap_args in enumerate(taps)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    claims = race([(reviewer, f"claim:{reviewer}", "claim") for reviewer in REVIEWERS])
    assert sum("decision/in_review" in templates for templates in claims) == 1, claims
    with chat.unit_of_work() as uow:
        owner = uow.load_application("DX-2026-000001").review.reviewer_id  # type: ignore[union-attr]
    chat.in_group(owner, GROUP, "owner")
    chat.press(f"rv:{app.id}:approve")
    other = next(r for r in REVIEWERS if r != owner)
    decisions = race(
        [
            (owner, "ok:1", "approve_ok"),
            (owner, "ok:2", "approve_ok"),
            (other, "ok:3", "approve_ok"),
        ]
    )
    assert sum("decision/approved" in templates for templates in decisions) == 1
    with chat.unit_of_work() as uow:
        history = uow.audit.history("DX-2026-000001")
    assert [e.event for e in history].count("claimed") == 1
    assert [e.data.get("outcome") for e in history if e.event == "decided"] == ["approved"]


def test_cardbot_audit_prints_the_history_of_one_application(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'cardbot.db'}"
    chat = sql_desk(tmp_path, url)
    chat.in_group(REVIEWERS[0], GROUP, "R71")
    chat.press("rv:1:approve")
    chat.press("rv:1:approve_ok")
    for key in ("CARDBOT_DATABASE_URL", "CARDBOT_TOKEN", "CARDBOT_BOT_API_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CARDBOT_DATA_DIR", str(data))
    monkeypatch.setenv("CARDBOT_DIALOGS_DIR", str(DIALOGS))
    assert main(["audit", "DX-2026-000001"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[2] for line in lines] == [
        "submitted",
        "claimed",
        "notified",
        "decided",
        "notified",
    ]
    assert "actor=71" in lines[3] and 'outcome="approved"' in lines[3]
    assert main(["audit", "DX-2026-424242"]) == 1
