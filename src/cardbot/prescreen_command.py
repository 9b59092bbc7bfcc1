"""`cardbot prescreen DIR`: check a package folder as the bot checks an application.

Imports only what the check needs: the flow, the answer and file checks, the templates; the
database layer only when there is a database to ask for flags.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardbot.content.loader import load_spec
from cardbot.content.render import Renderer
from cardbot.core.clock import local_date
from cardbot.core.screening import Package, Problem, screen_package
from cardbot.package_folder import PackageFolderError, read_package

if TYPE_CHECKING:
    from cardbot.config import Settings
    from cardbot.core.model import Flag
    from cardbot.reading.crosscheck import ReadingFlag


def prescreen_folder(
    settings: Settings, folder: Path, *, as_json: bool, language: str, on: date | None = None
) -> int:
    """Check a package folder as of day `on` (default today): 0 complete, 1 not, 2 unreadable."""
    spec = load_spec(settings.dialogs_dir)
    try:
        package = read_package(folder, spec)
    except PackageFolderError as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"cardbot: {exc}", file=sys.stderr)
        return 2
    day = on or local_date(datetime.now(UTC))
    problems = screen_package(spec, package, day)
    flags = _flags(settings, package)
    read_flags = _reading_flags(package, day) if settings.ocr != "off" else []
    renderer = Renderer(settings.dialogs_dir)
    problem_list = [_problem_json(renderer, language, p) for p in problems]
    if as_json:
        report = {
            "complete": not problems,
            "problems": problem_list,
            "flags": [{k: v for k, v in asdict(f).items() if v is not None} for f in flags]
            + [
                {"applications": []} | {k: v for k, v in asdict(f).items() if v is not None}
                for f in read_flags
            ],
        }
        print(json.dumps(report, ensure_ascii=False))
    else:
        print("complete" if not problems else f"{len(problems)} problem(s):")
        for problem in problem_list:
            print(f"  - [{problem['code']}] {problem['message']}")
        for flag in flags:
            print(f"  ! {flag.code}: {', '.join(flag.applications)}")
        for read_flag in read_flags:
            print(f"  ! {read_flag.code}: {read_flag.document}")
    return 0 if not problems else 1


def _problem_json(renderer: Renderer, language: str, problem: Problem) -> dict[str, Any]:
    where = {"document": problem.document} if problem.document else {"field": problem.field}
    subject = (
        renderer.label(language, f"document.{problem.document}")
        if problem.document
        else renderer.label(language, f"step.{problem.field}")
    )
    message = f"{subject}: {renderer.label(language, f'problem.{problem.code}')}"
    reason = problem.details.get("reason")
    if problem.code == "missing_document" and reason and reason != "not_provided":
        message += f" ({reason.replace('_', ' ')})"
    return {"code": problem.code, **where, "message": message}


def _flags(settings: Settings, package: Package) -> list[Flag]:
    """Flags against the configured database, when there is one to ask."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return []
    from sqlalchemy.exc import SQLAlchemyError

    from cardbot.core.files import sha256_of
    from cardbot.core.screening import consistency_flags
    from cardbot.db.repository import SqlUnitOfWork
    from cardbot.db.session import make_engine, make_session_factory
    from cardbot.runtime import SystemClock

    hashes = {d.kind: sha256_of(d.path) for d in package.documents if d.path is not None}
    engine = make_engine(settings.database_url)
    try:
        with SqlUnitOfWork(make_session_factory(engine), SystemClock()) as uow:
            return consistency_flags(uow, package, hashes)
    except SQLAlchemyError as exc:
        print(
            f"cardbot: flags not checked, database unavailable ({exc.__class__.__name__})",
            file=sys.stderr,
        )
        return []
    finally:
        engine.dispose()


def _reading_flags(package: Package, day: date) -> list[ReadingFlag]:
    """What the document photos say against the typed answers (CARDBOT_OCR=on): each photo is
    read in the reading pool; one that cannot be read in time raises nothing."""
    from cardbot.reading.crosscheck import crosscheck
    from cardbot.reading.model import READABLE_KINDS
    from cardbot.reading.pool import read_all

    readings = read_all(
        (d.kind, d.path)
        for d in package.documents
        if d.kind in READABLE_KINDS and d.path is not None
    )
    return crosscheck(package.fields, readings, day)
