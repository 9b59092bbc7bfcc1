"""Wiring: builds the core service and its adapters from the settings."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.config import ConfigError, Settings
from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.content.loader import load_spec
from cardbot.content.render import Renderer
from cardbot.core import bounded_check
from cardbot.core.events import Incoming, UserRef
from cardbot.core.faq import FaqEntry
from cardbot.core.faq_service import FaqService
from cardbot.core.ports import ConcurrentUpdateError, UnitOfWork
from cardbot.core.replies import Reply
from cardbot.core.service import ConversationService
from cardbot.core.spec import DialogSpec
from cardbot.db.inbox import SqlInbox
from cardbot.db.message_refs import SqlMessageRefs
from cardbot.db.migrate import upgrade
from cardbot.db.models import DocumentBlobRow
from cardbot.db.reply_outbox import ReplyQueue
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.metrics import Metrics
from cardbot.report.background import BackgroundReports
from cardbot.storage.database import DatabaseDocumentStore
from cardbot.storage.encrypted import DocumentKeyError, EncryptedDocumentStore
from cardbot.storage.keys import load_or_create_key

if TYPE_CHECKING:  # reading is imported only where documents are read
    from cardbot.reading.prefill import Handle, PrefillReader

CORE_WORKERS = 8


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything a running cardbot needs, built once at start-up."""

    settings: Settings
    engine: Engine
    service: ConversationService
    renderer: Renderer
    executor: ThreadPoolExecutor
    inbox: SqlInbox
    replies: ReplyQueue
    message_refs: SqlMessageRefs
    sessions: sessionmaker[Session]
    metrics: Metrics = field(default_factory=Metrics)
    readers: list[PrefillReader] = field(default_factory=list)
    closed: bool = False

    def terminal_core(self) -> ShownAtOnce:
        """The service as the terminal chat uses it (replies printed at once, not queued)."""
        return ShownAtOnce(self.service, self.replies)

    def prefill_reader(self, handle: Handle | None = None) -> PrefillReader | None:
        """What reads an applicant's photos after their upload to propose the answers on them
        (through `handle`, the service's by default); None when documents are not read."""
        if not self.service.spec.fills:  # the flow of documents read: CARDBOT_OCR not off
            return None
        from cardbot.reading.prefill import PrefillReader

        reader = PrefillReader(self.service, handle)
        self.readers.append(reader)
        return reader

    def close(self) -> None:
        """Release database connections and the worker threads."""
        self.executor.shutdown(wait=True)
        for reader in self.readers:  # before the pool: a reading waiting is dropped at once
            reader.close()
        bounded_check.shutdown()  # the file-checking worker processes
        reading = sys.modules.get("cardbot.reading.pool")  # started only where documents are read
        if reading is not None:
            reading.shutdown()
        self.closed = True  # nothing more is sent: what waits in the outbox, the next start sends
        self.engine.dispose()


class ShownAtOnce:
    """The conversation service for the terminal chat, which prints the replies as the core
    returns them: what the outbox keeps of them counts as sent and is deleted."""

    def __init__(self, service: ConversationService, queue: ReplyQueue) -> None:
        self.service = service
        self.queue = queue

    def handle(self, incoming: Incoming) -> list[Reply]:
        """Apply one event and return its replies, taking them out of the outbox."""
        replies = self.service.handle(incoming)
        self.queue.discard_for(incoming.key)
        return replies

    def language_of(self, user: UserRef) -> str:
        """The language the applicant chose, or the one their settings suggest."""
        return self.service.language_of(user)


@dataclass(frozen=True)
class Content:
    """What start-up reads from dialogs/ and faq/: read and checked before anything is written."""

    spec: DialogSpec
    renderer: Renderer
    faq_entries: list[FaqEntry]
    negatives: list[str]


def load_content(settings: Settings) -> Content:
    """Read and check dialogs/ and the FAQ files; writes nothing."""
    faq_dir = settings.faq_dir
    return Content(
        spec=load_spec(settings.dialogs_dir),
        renderer=Renderer(settings.dialogs_dir),
        faq_entries=load_faq(faq_dir) if faq_dir is not None else [],
        negatives=load_negatives(faq_dir) if faq_dir is not None else [],
    )


def open_document_store(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    kind: str | None = None,
    key: bytes | None = None,
) -> EncryptedDocumentStore | DatabaseDocumentStore:
    """The encrypted document store chosen by CARDBOT_DOCUMENT_STORE (or `kind`), its key
    checked. The folder store first encrypts in place any file from before encryption.

    The database store should get the `sessions` factory of the units of work, so an upload
    is stored in the same transaction as its metadata (and on SQLite, so it does not wait for
    the unit of work's write lock); without it, it opens its own engine on the database.
    `key` is the document key when the caller has read it already."""
    settings.ensure_data_dir()
    if key is None:
        key = load_or_create_key(settings.data_dir, settings.secret_key)
    store = document_store_with_key(settings, key, sessions=sessions, kind=kind)
    try:
        store.check_key()
    except DocumentKeyError as exc:
        raise ConfigError(str(exc)) from None
    if isinstance(store, EncryptedDocumentStore):
        store.migrate_plaintext()
    return store


def document_store_with_key(
    settings: Settings,
    key: bytes,
    *,
    sessions: sessionmaker[Session] | None = None,
    kind: str | None = None,
) -> EncryptedDocumentStore | DatabaseDocumentStore:
    """The document store of the settings (or `kind`) with this key, not yet checked."""
    kind = kind or settings.document_store
    store: EncryptedDocumentStore | DatabaseDocumentStore
    if kind == "database":
        if sessions is None:
            sessions = make_session_factory(make_engine(settings.database_url))
        bind = sessions.kw.get("bind")
        if bind is not None and not inspect(bind).has_table(DocumentBlobRow.__tablename__):
            raise ConfigError(
                "CARDBOT_DOCUMENT_STORE=database: the database has no document_blobs table "
                "yet; run `cardbot db upgrade` first"
            )
        store = DatabaseDocumentStore(sessions, key, temp_dir=settings.data_dir / "tmp")
    elif kind == "folder":
        store = EncryptedDocumentStore(settings.documents_dir, key)
    else:
        raise ConfigError(f"unknown document store {kind!r}: use folder or database")
    return store


def build_runtime(
    settings: Settings, *, migrate: bool = True, content: Content | None = None
) -> Runtime:
    """Load content (unless given), then make the data folder and the document key, bring the
    schema up to date and build the conversation service."""
    content = content or load_content(settings)
    spec, renderer = content.spec, content.renderer
    if settings.ocr != "off":  # documents first, and what is read from them proposed
        spec = spec.for_reading()
    settings.ensure_data_dir()
    key = load_or_create_key(settings.data_dir, settings.secret_key)
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    clock = SystemClock()

    def unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock, key)

    calendar = ChinaWorkingCalendar()
    faq = FaqService(spec, calendar, renderer.source_problem, content.negatives)
    if settings.faq_dir is not None:
        for attempt in range(2):
            try:
                with unit_of_work() as uow:
                    if faq.seed(uow.faq, content.faq_entries):
                        uow.commit()
                break
            except (IntegrityError, ConcurrentUpdateError):
                if attempt:  # a worker starting at the same moment stored them: check again
                    raise
    documents = open_document_store(settings, sessions=sessions, key=key)
    service = ConversationService(
        spec,
        unit_of_work,
        documents,
        clock,
        faq=faq,
        admin_ids=settings.admin_ids,
        support_chat_id=settings.support_chat_id,
        calendar=calendar,
        review_chat_id=settings.review_chat_id,
        review_language=settings.review_language,
        back_office=settings.webhook_url is not None,
        retention_days=settings.retention_days,
        reports=BackgroundReports(engine, spec, calendar, documents, unit_of_work, clock),
    )
    # Events are applied in worker threads, so one applicant's slow upload check does not hold
    # up the others (SQLite still takes one writer at a time, queueing in BEGIN IMMEDIATE).
    executor = ThreadPoolExecutor(max_workers=CORE_WORKERS, thread_name_prefix="cardbot-core")
    return Runtime(
        settings=settings,
        engine=engine,
        service=service,
        renderer=renderer,
        executor=executor,
        inbox=SqlInbox(engine, key),
        replies=ReplyQueue(engine, key),
        message_refs=SqlMessageRefs(engine),
        sessions=sessions,
        metrics=Metrics(engine),
    )
