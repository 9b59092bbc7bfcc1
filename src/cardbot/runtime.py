"""Wiring: builds the core service and its adapters from the settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.config import ConfigError, Settings
from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.content.loader import load_spec
from cardbot.content.render import Renderer
from cardbot.core.conversation import ConversationService
from cardbot.core.faq_service import FaqService
from cardbot.core.ports import UnitOfWork
from cardbot.db.inbox import SqlInbox
from cardbot.db.message_refs import SqlMessageRefs
from cardbot.db.migrate import upgrade
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.storage.encrypted import DocumentKeyError, EncryptedDocumentStore
from cardbot.storage.keys import load_or_create_key

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
    message_refs: SqlMessageRefs
    sessions: sessionmaker[Session]

    def close(self) -> None:
        """Release database connections and the worker threads."""
        self.executor.shutdown(wait=True)
        self.engine.dispose()


def open_document_store(settings: Settings) -> EncryptedDocumentStore:
    """The encrypted document store, its key checked; files from before encryption are
    encrypted in place first."""
    settings.ensure_data_dir()
    key = load_or_create_key(settings.data_dir, settings.secret_key)
    store = EncryptedDocumentStore(settings.documents_dir, key)
    try:
        store.check_key()
    except DocumentKeyError as exc:
        raise ConfigError(str(exc)) from None
    store.migrate_plaintext()
    return store


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Load content, bring the schema up to date and build the conversation service."""
    spec = load_spec(settings.dialogs_dir)
    renderer = Renderer(settings.dialogs_dir)
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    clock = SystemClock()

    def unit_of_work() -> UnitOfWork:
        return SqlUnitOfWork(sessions, clock)

    negatives = load_negatives(settings.faq_dir) if settings.faq_dir else []
    calendar = ChinaWorkingCalendar()
    faq = FaqService(spec, calendar, renderer.source_problem, negatives)
    if settings.faq_dir is not None:
        entries = load_faq(settings.faq_dir)
        with unit_of_work() as uow:
            if faq.seed(uow.faq, entries):
                uow.commit()
    service = ConversationService(
        spec,
        unit_of_work,
        open_document_store(settings),
        clock,
        faq=faq,
        admin_ids=settings.admin_ids,
        support_chat_id=settings.support_chat_id,
        calendar=calendar,
        review_chat_id=settings.review_chat_id,
        review_language=settings.review_language,
        back_office=settings.webhook_url is not None,
        retention_days=settings.retention_days,
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
        inbox=SqlInbox(sessions),
        message_refs=SqlMessageRefs(sessions),
        sessions=sessions,
    )
