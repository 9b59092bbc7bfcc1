"""The package and records commands: `cardbot export`, `prescreen`, `audit`, `purge` and
`documents migrate`."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from cardbot.config import ConfigError, Settings
from cardbot.core.clock import local_time
from cardbot.core.files import sha256_of
from cardbot.db.migrate import upgrade
from cardbot.db.models import DocumentRow
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.package_folder import PackageFolderError, write_package
from cardbot.runtime import SystemClock, open_document_store
from cardbot.storage.database import DatabaseDocumentStore
from cardbot.storage.encrypted import (
    DocumentCorruptError,
    DocumentKeyError,
    EncryptedDocumentStore,
)

DOCUMENT_STORES = ("folder", "database")


def export_package(settings: Settings, number: str, folder: Path) -> int:
    """Write application `number` as a package folder; 1 when there is no such application."""
    require_database(settings)
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


def _missing_sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the settings name when it does not exist (else None)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database or "")
    return None if path.is_file() else path


def require_database(settings: Settings) -> None:
    """Raise ConfigError when the SQLite database a reading command needs is not there
    (rather than create an empty one)."""
    missing = _missing_sqlite_file(settings)
    if missing is not None:
        raise ConfigError(
            f"no database at {missing}: nothing has been stored there yet; check "
            "CARDBOT_DATA_DIR or CARDBOT_DATABASE_URL"
        )


def print_audit(settings: Settings, number: str, *, as_json: bool) -> int:
    """Print application `number`'s audit trail, oldest first; 1 when there is none."""
    require_database(settings)
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


def migrate_documents(settings: Settings, source: str, target: str) -> int:
    """Move every document from the `source` store to the `target` one (folder or database).

    Each document keeps its key. It is copied, read back and checked against the SHA-256 its
    application recorded (or, for a document no application refers to, against the source),
    and only once every document is in the target are they deleted from the source. Running
    it again is safe: documents already in the target are checked, not copied again. Stop
    every cardbot worker first, and set CARDBOT_DOCUMENT_STORE to the target before starting
    them again. 0 when every document was moved; 1 when one could not be (then nothing is
    deleted from the source) or an application's document is in neither store; 2 on bad use.
    """
    if source not in DOCUMENT_STORES or target not in DOCUMENT_STORES or source == target:
        print(
            "cardbot: documents migrate moves documents between two different stores: "
            "folder and database",
            file=sys.stderr,
        )
        return 2
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        with sessions() as session:
            rows = session.execute(select(DocumentRow.storage_key, DocumentRow.sha256)).all()
        recorded: dict[str, set[str]] = {}
        for key, digest in rows:
            recorded.setdefault(key, set()).add(digest)
        origin = open_document_store(settings, sessions=sessions, kind=source)
        destination = open_document_store(settings, sessions=sessions, kind=target)
        return _move_documents(origin, destination, recorded, f"{source} to {target}")
    finally:
        engine.dispose()


_Store = EncryptedDocumentStore | DatabaseDocumentStore


def _move_documents(
    origin: _Store, destination: _Store, recorded: dict[str, set[str]], direction: str
) -> int:
    in_origin = set(origin.keys())
    in_destination = set(destination.keys())
    to_delete: list[str] = []
    copied = already = 0
    failed: list[str] = []
    missing: list[str] = []
    for key in sorted(in_origin | set(recorded)):
        expected = recorded.get(key)
        if key not in in_origin:
            if key in in_destination and _digest_in(destination, key) in (expected or set()):
                already += 1
            else:
                missing.append(key)
            continue
        try:
            with origin.local_path(key) as path:
                digest = sha256_of(path)
                if expected is not None and digest not in expected:
                    failed.append(f"{key}: the stored bytes do not match the recorded SHA-256")
                    continue
                if key in in_destination and _digest_in(destination, key) == digest:
                    already += 1
                    to_delete.append(key)
                    continue
                destination.put_as(key, path)
            if _digest_in(destination, key) != digest:
                failed.append(f"{key}: the copy does not read back the same")
                continue
            copied += 1
            to_delete.append(key)
        except (DocumentKeyError, DocumentCorruptError, OSError, ValueError) as exc:
            failed.append(f"{key}: {exc}")
    for problem in failed:
        print(f"cardbot: not moved: {problem}", file=sys.stderr)
    for key in missing:
        print(f"cardbot: document {key} of an application is in neither store", file=sys.stderr)
    if failed:
        print(
            f"cardbot: {len(failed)} document(s) could not be moved from {direction}; nothing "
            "was deleted from the source (fix or restore them, then run this again)",
            file=sys.stderr,
        )
        return 1
    for key in to_delete:
        origin.delete(key)
    unreferenced = sum(1 for key in to_delete if key not in recorded)
    print(
        f"moved {copied} document(s) from {direction} ({already} already there, "
        f"{unreferenced} not referenced by any application, {len(missing)} missing)"
    )
    return 1 if missing else 0


def _digest_in(store: _Store, key: str) -> str | None:
    """The SHA-256 of the document `key` in `store`, None when it cannot be read."""
    try:
        return hashlib.sha256(store.read(key)).hexdigest()
    except (DocumentKeyError, DocumentCorruptError, OSError, ValueError):
        return None


def _reseal_inbox(settings: Settings, old_key: str, new_key: bytes) -> int:
    """Encrypt the Telegram updates waiting in the inbox, and the replies waiting in the
    outbox, again under the new key."""
    from cardbot.db.inbox import SqlInbox
    from cardbot.db.reply_outbox import ReplyQueue
    from cardbot.db.session import make_engine
    from cardbot.storage.keys import decode_key

    engine = make_engine(settings.database_url)
    old = decode_key(old_key, "CARDBOT_OLD_SECRET_KEY")
    try:
        return SqlInbox(engine, new_key).rekey(old) + ReplyQueue(engine, new_key).rekey(old)
    finally:
        engine.dispose()


def rekey_documents(settings: Settings, old_key: str | None) -> int:
    """Re-encrypt every document under CARDBOT_SECRET_KEY, reading it with `old_key`; safe
    to run again after an interruption."""
    from cardbot.runtime import document_store_with_key, open_document_store
    from cardbot.storage.keys import decode_key

    if not old_key or not settings.secret_key:
        print(
            "cardbot: set CARDBOT_OLD_SECRET_KEY to the key the documents are encrypted with "
            "now, and CARDBOT_SECRET_KEY to the new one",
            file=sys.stderr,
        )
        return 2
    new_key = decode_key(settings.secret_key, "CARDBOT_SECRET_KEY")
    if decode_key(old_key, "CARDBOT_OLD_SECRET_KEY") == new_key:
        print("cardbot: the old and the new key are the same", file=sys.stderr)
        return 2
    resealed = _reseal_inbox(settings, old_key, new_key)
    if resealed:
        print(f"sealed {resealed} waiting update(s) and reply(ies) with the new key")
    new = document_store_with_key(settings, new_key)
    try:
        new.check_key()
        print("every document is already encrypted with the new key")
        return 0
    except DocumentKeyError:
        pass  # still (at least partly) under the old key
    old = open_document_store(replace(settings, secret_key=old_key))
    moved = done = 0
    stored = old.keys()  # a list of document keys (the store is not a dict)
    for key in stored:
        try:
            new.read(key)
            done += 1  # re-encrypted by an earlier, interrupted run
            continue
        except DocumentKeyError:
            pass
        with old.local_path(key) as plain:
            digest = sha256_of(plain)
            new.put_as(key, plain)
            with new.local_path(key) as check:
                if sha256_of(check) != digest:
                    print(f"cardbot: document {key} did not read back the same", file=sys.stderr)
                    return 1
        moved += 1
    new.reset_key_check()
    new.check_key()
    print(f"re-encrypted {moved} document(s) with the new key ({done} already were)")
    return 0
