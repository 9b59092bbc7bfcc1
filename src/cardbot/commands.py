"""The package and records commands: `cardbot export`, `prescreen`, `audit` and `purge`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cardbot.config import Settings
from cardbot.content.loader import load_spec
from cardbot.content.render import Renderer
from cardbot.core.clock import local_date, local_time
from cardbot.core.files import sha256_of
from cardbot.core.model import Flag
from cardbot.core.screening import Package, Problem, consistency_flags, screen_package
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.package_folder import PackageFolderError, read_package, write_package
from cardbot.runtime import SystemClock, open_document_store


def export_package(settings: Settings, number: str, folder: Path) -> int:
    """Write application `number` as a package folder; 1 when there is no such application."""
    engine = make_engine(settings.database_url)
    try:
        with SqlUnitOfWork(make_session_factory(engine), SystemClock()) as uow:
            application = uow.load_application(number)
    finally:
        engine.dispose()
    if application is None:
        print(f"cardbot: no application numbered {number}", file=sys.stderr)
        return 1
    try:
        manifest = write_package(folder, application, open_document_store(settings))
    except PackageFolderError as exc:
        print(f"cardbot: {exc}", file=sys.stderr)
        return 2
    print(manifest)
    return 0


def prescreen_folder(settings: Settings, folder: Path, *, as_json: bool, language: str) -> int:
    """Check a package folder: 0 when complete, 1 when not, 2 when it cannot be read."""
    spec = load_spec(settings.dialogs_dir)
    try:
        package = read_package(folder, spec)
    except PackageFolderError as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"cardbot: {exc}", file=sys.stderr)
        return 2
    problems = screen_package(spec, package, local_date(datetime.now(UTC)))
    flags = _flags(settings, package)
    renderer = Renderer(settings.dialogs_dir)
    problem_list = [_problem_json(renderer, language, p) for p in problems]
    if as_json:
        report = {
            "complete": not problems,
            "problems": problem_list,
            "flags": [{k: v for k, v in asdict(f).items() if v is not None} for f in flags],
        }
        print(json.dumps(report, ensure_ascii=False))
    else:
        print("complete" if not problems else f"{len(problems)} problem(s):")
        for problem in problem_list:
            print(f"  - [{problem['code']}] {problem['message']}")
        for flag in flags:
            print(f"  ! {flag.code}: {', '.join(flag.applications)}")
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
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return []
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


def print_audit(settings: Settings, number: str, *, as_json: bool) -> int:
    """Print application `number`'s audit trail, oldest first; 1 when there is none."""
    engine = make_engine(settings.database_url)
    try:
        with SqlUnitOfWork(make_session_factory(engine), SystemClock()) as uow:
            events = uow.audit.history(number.strip().upper())
    finally:
        engine.dispose()
    if not events:
        print(f"cardbot: no history for an application numbered {number}", file=sys.stderr)
        return 1
    for event in events:
        when = local_time(event.at).strftime("%Y-%m-%d %H:%M:%S")
        actor = "-" if event.actor_id is None else str(event.actor_id)
        if as_json:
            record = {
                "number": event.number,
                "event": event.event,
                "actor_id": event.actor_id,
                "at": event.at.isoformat(),
                "data": event.data,
            }
            print(json.dumps(record, ensure_ascii=False, sort_keys=True))
        else:
            details = " ".join(
                f"{key}={json.dumps(value, ensure_ascii=False)}"
                for key, value in sorted(event.data.items())
                if value not in (None, [], "")
            )
            print(f"{when}  {event.event:<12} actor={actor}  {details}".rstrip())
    return 0


def purge_now(settings: Settings, *, as_json: bool) -> int:
    """Run the retention purge once (as the running bot does every hour) and say what went."""
    from cardbot.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        report = runtime.service.privacy.purge()
    finally:
        runtime.close()
    if as_json:
        print(json.dumps({"purged": report.numbers, "files": report.files}))
    elif report.numbers:
        print(
            f"purged {len(report.numbers)} application(s) closed more than "
            f"{settings.retention_days} days ago ({report.files} file(s)): "
            + ", ".join(report.numbers)
        )
    else:
        print(
            f"nothing to purge: no application closed more than {settings.retention_days} days ago"
        )
    return 0
