"""A document store inside the database: encrypted document bytes in the document_blobs table.

Chosen with CARDBOT_DOCUMENT_STORE=database, so every worker on every machine reaches the same
documents and a database backup holds them all. Each row holds exactly what the folder store
(storage/encrypted.py) writes to a file: AES-256-GCM chunks under the same header, key id and
associated data, so a wrong key raises DocumentKeyError and a damaged or altered row raises
DocumentCorruptError, as there. Documents are at most 20 MB, so a row holds one whole document
(bytea on PostgreSQL, BLOB on SQLite).
"""

from __future__ import annotations

import contextlib
import io
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, LargeBinary, delete, event, exists, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from cardbot.core.ports import Clock
from cardbot.db.models import DocumentBlobRow, DocumentRow
from cardbot.db.session import insert_ignoring_duplicates
from cardbot.storage.encrypted import (
    HEADER_SIZE,
    KEYCHECK_NAME,
    TAG_SIZE,
    DocumentCipher,
    DocumentCorruptError,
    DocumentKeyError,
    decrypted_copy,
    is_document_key,
    require_document_key,
)
from cardbot.storage.leftovers import remove_leftovers

KEYCHECK_TEXT = b"cardbot database document key check v1"
_OWN_SESSION = "cardbot_document_store"
_STALE_TEMP_SECONDS = 3600
_KEY_HINT = "set CARDBOT_SECRET_KEY to the key every cardbot worker was started with"


class DocumentStoreError(OSError):
    """The database could not be reached to remove a document.

    An OSError, so a caller that tolerates a failing file system when cleaning up (the core's
    delete_quietly) tolerates a failing database the same way; sweep_orphans removes the row
    later."""


class DatabaseDocumentStore:
    """Stores each document as one encrypted row of document_blobs, named by a random key.

    Transactions: an operation called while this thread has a transaction open in a session of
    the same `sessions` factory (the core's unit of work: it puts an upload before it commits)
    runs inside that transaction. The document row is then committed together with its
    metadata in application_documents, or rolled back with it. This is also what makes SQLite
    work at all: there the open unit of work holds the database's only write lock, and a second
    transaction from the same thread would wait for it until it timed out. Outside such a
    transaction each operation runs in its own short transaction.

    Orphans are still possible, so run sweep_orphans now and then (e.g. hourly, with an hour):
    a put outside a unit of work whose caller then fails, a store built on another session
    factory than the unit of work's (each put commits on its own), and a crash after a commit
    that made documents obsolete but before they were deleted. sweep_orphans deletes every row
    older than the given age that no application_documents.storage_key names; the age must be
    longer than any unit of work lasts, or it could delete a document whose metadata is about to
    be committed by another worker.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        key: bytes,
        *,
        temp_dir: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._cipher = DocumentCipher(key)
        self._sessions = sessions
        self._clock = clock
        self._temp = temp_dir
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            temp_dir.chmod(0o700)
            self._sweep_stale_temp()
        self._local = threading.local()
        event.listen(sessions, "after_begin", self._on_begin)
        event.listen(sessions, "after_transaction_end", self._on_transaction_end)

    # -- the DocumentStore interface -------------------------------------------------------

    def put(self, source: Path) -> str:
        """Encrypt `source` into a new row and return its new key."""
        key = uuid.uuid4().hex
        data, size = self._encrypt_file(source, key)
        with self._transaction() as session:
            session.execute(insert(DocumentBlobRow).values(self._row(key, data, size)))
        return key

    def read(self, key: str) -> bytes:
        """The bytes stored under `key`, only once every chunk has been authenticated."""
        return b"".join(self._cipher.decrypt(io.BytesIO(self._load(key)), key))

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A private (0600) decrypted copy of the document, removed when the context exits."""
        return self._decrypted_copy(key)

    def delete(self, key: str) -> None:
        """Remove the document under `key`, if it is there (DocumentStoreError if the database
        cannot be reached)."""
        require_document_key(key)
        try:
            with self._transaction() as session:
                session.execute(delete(DocumentBlobRow).where(DocumentBlobRow.key == key))
        except SQLAlchemyError as exc:
            raise DocumentStoreError(
                f"document {key} not deleted: database error ({exc.__class__.__name__})"
            ) from exc

    # -- maintenance -----------------------------------------------------------------------

    def keys(self) -> list[str]:
        """The key of every stored document, sorted."""
        with self._transaction() as session:
            found = session.scalars(select(DocumentBlobRow.key).order_by(DocumentBlobRow.key))
            return [key for key in found if is_document_key(key)]

    def put_as(self, key: str, source: Path) -> None:
        """Store `source` under the given `key` (replacing what is there), to move documents
        between stores with their keys unchanged."""
        require_document_key(key)
        data, size = self._encrypt_file(source, key)
        with self._transaction() as session:
            session.execute(delete(DocumentBlobRow).where(DocumentBlobRow.key == key))
            session.execute(insert(DocumentBlobRow).values(self._row(key, data, size)))

    def sweep_orphans(self, older_than: timedelta) -> int:
        """Delete the rows older than `older_than` that no application document refers to."""
        if older_than < timedelta(0):
            raise ValueError("older_than must not be negative")
        cutoff = self._now() - older_than
        referenced = exists().where(DocumentRow.storage_key == DocumentBlobRow.key)
        statement = (
            delete(DocumentBlobRow)
            .where(
                DocumentBlobRow.created_at < cutoff,
                DocumentBlobRow.key != KEYCHECK_NAME,
                ~referenced,
            )
            .execution_options(synchronize_session=False)
        )
        with self._transaction() as session:
            result = cast(CursorResult[Any], session.execute(statement))
            return max(result.rowcount, 0)

    def reset_key_check(self) -> None:
        """Forget the key-check row (after every document was encrypted with a new key)."""
        with self._transaction() as session:
            session.execute(delete(DocumentBlobRow).where(DocumentBlobRow.key == KEYCHECK_NAME))

    def check_key(self) -> None:
        """Raise DocumentKeyError now if the stored documents were written with another key."""
        data = self._find(KEYCHECK_NAME)
        if data is None:
            self._check_existing_documents()
            self._create_keycheck()
            data = self._find(KEYCHECK_NAME)
            if data is None:
                raise DocumentCorruptError("the key-check row vanished just after it was written")
        try:
            text = b"".join(self._cipher.decrypt(io.BytesIO(data), KEYCHECK_NAME))
        except DocumentKeyError:
            raise DocumentKeyError(
                "the documents in the database were encrypted with a different key than the "
                f"one configured now; {_KEY_HINT}"
            ) from None
        except DocumentCorruptError as exc:
            raise DocumentCorruptError(
                f"the key-check row of document_blobs is damaged ({exc}); if the documents read "
                f"fine, delete the row with key '{KEYCHECK_NAME}' and cardbot will write it again"
            ) from None
        if text != KEYCHECK_TEXT:
            raise DocumentCorruptError("the key-check row has unexpected content")

    # -- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Session]:
        """This thread's open transaction of the same factory, or a short one of our own."""
        joined = self._active_session()
        if joined is not None:
            yield joined
            return
        with self._sessions(info={_OWN_SESSION: True}) as session, session.begin():
            yield session

    def _active_session(self) -> Session | None:
        stack: list[weakref.ref[Session]] = getattr(self._local, "sessions", [])
        for ref in reversed(stack):
            session = ref()
            if session is not None and session.in_transaction():
                return session
        return None

    def _on_begin(self, session: Session, _transaction: SessionTransaction, _conn: Any) -> None:
        if session.info.get(_OWN_SESSION):
            return
        stack: list[weakref.ref[Session]] = self._local.__dict__.setdefault("sessions", [])
        stack[:] = [ref for ref in stack if ref() is not None and ref() is not session]
        stack.append(weakref.ref(session))

    def _on_transaction_end(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:
            return
        stack: list[weakref.ref[Session]] = getattr(self._local, "sessions", [])
        stack[:] = [ref for ref in stack if ref() is not None and ref() is not session]

    # -- internals -------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def _row(self, key: str, data: bytes, size: int) -> dict[str, Any]:
        return {"key": key, "data": data, "size": size, "created_at": self._now()}

    def _encrypt_file(self, source: Path, key: str) -> tuple[bytes, int]:
        """The encrypted form of `source` for the document `key`, and the plaintext size."""
        with source.open("rb") as src:
            blocks = list(self._cipher.encrypt(src, key))
        size = sum(len(block) - TAG_SIZE for block in blocks[1:])
        return b"".join(blocks), size

    def _find(self, key: str) -> bytes | None:
        with self._transaction() as session:
            data = session.scalar(select(DocumentBlobRow.data).where(DocumentBlobRow.key == key))
        return None if data is None else bytes(data)

    def _load(self, key: str) -> bytes:
        data = self._find(require_document_key(key))
        if data is None:
            raise FileNotFoundError(f"no document {key} in the database")
        return data

    @contextlib.contextmanager
    def _decrypted_copy(self, key: str) -> Iterator[Path]:
        """Decrypt `key` into a 0600 temporary file; remove it afterwards."""
        data = io.BytesIO(self._load(key))
        with decrypted_copy(self._cipher, data, key, self._temp, f"cardbot-{key}-") as temp:
            yield temp

    def _check_existing_documents(self) -> None:
        """Before a first key check: the documents already stored must match the key."""
        header_only = func.substr(DocumentBlobRow.data, 1, HEADER_SIZE, type_=LargeBinary)
        with self._transaction() as session:
            header = session.scalar(
                select(header_only)
                .where(DocumentBlobRow.key != KEYCHECK_NAME)
                .order_by(DocumentBlobRow.key)
                .limit(1)
            )
        if header is None:
            return
        header = bytes(header)
        if self._cipher.is_encrypted(header) and not self._cipher.same_key(header):
            raise DocumentKeyError(
                "the documents in the database were encrypted with a different key than the "
                f"one configured now; {_KEY_HINT}"
            )

    def _create_keycheck(self) -> None:
        """Write the key-check row unless another worker has just done so."""
        data = b"".join(self._cipher.encrypt(io.BytesIO(KEYCHECK_TEXT), KEYCHECK_NAME))
        values = self._row(KEYCHECK_NAME, data, len(KEYCHECK_TEXT))
        with self._transaction() as session:
            session.execute(insert_ignoring_duplicates(session, DocumentBlobRow, values))

    def _sweep_stale_temp(self) -> None:
        """Remove decrypted copies left behind by a crash (older than an hour)."""
        if self._temp is None:
            return
        remove_leftovers(self._temp, _STALE_TEMP_SECONDS)
