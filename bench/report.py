"""How long `cardbot report` takes on a SQLite database with 100,000 applications (target: under
5 s), against a baseline measured in the same run: the same command on 1,000 applications, and a
plain `SELECT count(*)` scan of the tables the report reads.

    .venv/bin/python bench/report.py [--applications N]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from cardbot.db.migrate import upgrade
from cardbot.db.models import (
    AnswerRow,
    ApplicantRow,
    ApplicationRow,
    AuditEventRow,
    DocumentRow,
    UnansweredQuestionRow,
)
from cardbot.db.session import make_engine

TARGET_SECONDS = 5.0
BASELINE_APPLICATIONS = 1_000
UNTIL = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Beijing
DAYS = 30
CATEGORIES = {
    "individual": (("full_name", "id_type", "id_number", "phone"), ("id_front", "id_back")),
    "enterprise": (
        ("full_name", "id_type", "id_number", "phone", "company_name", "uscc"),
        ("id_front", "id_back", "business_license", "tax_registration"),
    ),
}
CHUNK = 5_000


def build(engine: Engine, applications: int, seed: int = 7) -> None:
    """Fill the database with `applications` applications over DAYS days: drafts stopped at
    each step, submissions, claims, resubmissions, decisions, open and overdue ones."""
    rng = random.Random(seed)
    rows: dict[type, list[dict[str, object]]] = {
        ApplicationRow: [],
        AnswerRow: [],
        DocumentRow: [],
        AuditEventRow: [],
        ApplicantRow: [],
    }
    start = UNTIL - timedelta(days=DAYS)
    with engine.begin() as connection:
        for app_id in range(1, applications + 1):
            category = rng.choice(list(CATEGORIES))
            fields, slots = CATEGORIES[category]
            created = start + timedelta(seconds=rng.randrange(DAYS * 86400))
            fate = rng.random()
            submitted = created + timedelta(minutes=rng.randrange(5, 90)) if fate > 0.3 else None
            number = f"DX-2026-{app_id:06d}" if submitted else None
            status = "draft"
            answered = len(fields) if submitted else rng.randrange(len(fields))
            review: dict[str, object] = {}
            if submitted is not None:
                rows[AuditEventRow].append(_event(number, "submitted", app_id, submitted))
                reviewer = 7000 + rng.randrange(8)
                decided = submitted + timedelta(days=rng.uniform(0.5, 20))
                if decided < UNTIL:
                    rows[AuditEventRow].append(
                        _event(number, "claimed", reviewer, submitted + timedelta(hours=2))
                    )
                    if rng.random() < 0.2:
                        asked = submitted + timedelta(days=1)
                        rows[AuditEventRow].append(
                            _event(number, "decided", reviewer, asked, "resubmission_requested")
                        )
                    status = "approved" if rng.random() < 0.8 else "rejected"
                    rows[AuditEventRow].append(
                        _event(number, "decided", reviewer, decided, status, ["unreadable"])
                    )
                else:
                    status = rng.choice(("submitted", "in_review"))
                    review = {"reviewer_id": reviewer} if status == "in_review" else {}
            rows[ApplicationRow].append(
                {
                    "id": app_id,
                    "number": number,
                    "user_id": app_id,
                    "category": category,
                    "status": status,
                    "skipped": [],
                    "flags": [],
                    "created_at": created,
                    "submitted_at": submitted,
                    "review": review,
                    "redo": [],
                    "version": 1,
                }
            )
            for field in fields[:answered]:
                rows[AnswerRow].append({"application_id": app_id, "field": field, "value": "x"})
            for index, slot in enumerate(slots if submitted else ()):
                rows[DocumentRow].append(
                    {
                        "application_id": app_id,
                        "kind": slot,
                        "storage_key": f"{app_id:028d}{index:04d}",
                        "sha256": "0" * 64,
                        "mime_type": "image/jpeg",
                        "size": 1,
                        "received_at": created + timedelta(minutes=2 + index),
                    }
                )
            rows[ApplicantRow].append(
                {
                    "user_id": app_id,
                    "chat_id": app_id,
                    "language": "zh",
                    "state": "idle" if submitted else fields[answered],
                    "consent_at": created,
                    "application_id": app_id,
                    "slot_index": 0,
                    "version": 1,
                }
            )
            if app_id % CHUNK == 0 or app_id == applications:
                for model in (ApplicationRow, AnswerRow, DocumentRow, AuditEventRow, ApplicantRow):
                    if rows[model]:
                        connection.execute(insert(model), rows[model])
                        rows[model] = []
        connection.execute(
            insert(UnansweredQuestionRow),
            [
                {
                    "question": f"question {n}",
                    "language": "zh",
                    "count": n,
                    "status": "open",
                    "first_asked_at": start,
                    "last_asked_at": UNTIL - timedelta(days=1),
                }
                for n in range(1, 50)
            ],
        )


def _event(
    number: str | None,
    name: str,
    actor: int,
    at: datetime,
    outcome: str | None = None,
    reasons: list[str] | None = None,
) -> dict[str, object]:
    data = {"outcome": outcome, "reasons": reasons or [], "items": []} if outcome else {}
    return {"number": number, "event": name, "actor_id": actor, "at": at, "data": data}


def timed_report(folder: Path) -> float:
    """Seconds `cardbot report` takes on the database in `folder` (the whole command)."""
    environment = {
        **os.environ,
        "CARDBOT_DATA_DIR": str(folder),
        "CARDBOT_DATABASE_URL": f"sqlite:///{folder / 'cardbot.db'}",
    }
    command = [
        str(Path(sys.executable).with_name("cardbot")),
        "report",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--out",
        str(folder / "report"),
    ]
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def timed_scan(engine: Engine) -> float:
    """Seconds a plain count(*) of every table the report reads takes."""
    started = time.perf_counter()
    with engine.connect() as connection:
        for model in (ApplicationRow, AnswerRow, DocumentRow, AuditEventRow, ApplicantRow):
            connection.execute(select(func.count()).select_from(model)).scalar()
    return time.perf_counter() - started


def database(folder: Path, applications: int) -> Engine:
    """A migrated SQLite database in `folder` with `applications` applications."""
    url = f"sqlite:///{folder / 'cardbot.db'}"
    upgrade(url)
    engine = make_engine(url)
    build(engine, applications)
    return engine


def main() -> None:
    """Build both databases, time the report on each, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as large:
        built = time.perf_counter()
        database(Path(small), BASELINE_APPLICATIONS).dispose()
        engine = database(Path(large), args.applications)
        print(f"built {args.applications:,} applications in {time.perf_counter() - built:.1f} s")
        scan = timed_scan(engine)
        engine.dispose()
        baseline = min(timed_report(Path(small)) for _ in range(2))
        report = min(timed_report(Path(large)) for _ in range(2))
    verdict = "ok" if report < TARGET_SECONDS else "TOO SLOW"
    print(f"cardbot report, {BASELINE_APPLICATIONS:,} applications: {baseline:.2f} s")
    print(
        f"cardbot report, {args.applications:,} applications: {report:.2f} s ({verdict}, target "
        f"< {TARGET_SECONDS:.0f} s)"
    )
    print(
        f"ratio to the same command on {BASELINE_APPLICATIONS:,} applications: "
        f"{report / baseline:.2f}x"
    )
    print(f"count(*) scan of the tables read: {scan:.3f} s; report / scan: {report / scan:.1f}x")


if __name__ == "__main__":
    main()
