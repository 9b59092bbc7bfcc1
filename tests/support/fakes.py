"""Recording fakes for the core's ports: an in-memory store, document store and clock."""

from __future__ import annotations

import collections
import copy
import dataclasses
import itertools
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cardbot.core.faq import FaqEntry
from cardbot.core.image_hash import hash_distance
from cardbot.core.model import (
    DECIDED_STATUSES,
    OPEN_STATUSES,
    WITH_REVIEWERS,
    Applicant,
    Application,
    AuditEvent,
    FaqRevision,
    Status,
    SupportTicket,
    UnansweredQuestion,
)
from cardbot.core.ports import Tally
from cardbot.core.replies import Reply, decode_reply, encode_reply


@dataclass
class MemoryDatabase:
    """What a database would hold: applicants, handled deliveries, number counters."""

    applicants: dict[int, Applicant] = field(default_factory=dict)
    processed: dict[str, datetime] = field(default_factory=dict)
    # The applicants' trouble: (day, kind, key, detail) → how many.
    tally: collections.Counter[tuple[date, str, str, str]] = field(
        default_factory=collections.Counter
    )
    counters: dict[int, int] = field(default_factory=dict)
    commits: int = 0
    next_application_id: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    faq_revisions: list[FaqRevision] = field(default_factory=list)
    unanswered: dict[int, UnansweredQuestion] = field(default_factory=dict)
    roles: set[tuple[int, str]] = field(default_factory=set)
    tickets: dict[int, SupportTicket] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    # The reply outbox: (row id, update key, the reply as stored JSON), in order.
    messages: list[tuple[int, str | None, str]] = field(default_factory=list)
    next_message_id: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    applications: dict[int, Application] = field(default_factory=dict)
    # One entry per commit that asked to wipe deleted data: whether it was thorough.
    wipes: list[bool] = field(default_factory=list)


class MemoryAuditLog:
    """Audit events in memory, kept on commit."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.pending: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> None:
        self.pending.append(event)

    def history(self, number: str) -> list[AuditEvent]:
        return [e for e in [*self.db.audit, *self.pending] if e.number == number]

    def scrub(self, number: str, keep: frozenset[str]) -> None:
        for events in (self.db.audit, self.pending):
            events[:] = [
                dataclasses.replace(e, data={k: v for k, v in e.data.items() if k in keep})
                if e.number == number
                else e
                for e in events
            ]


class MemoryOutbox:
    """Back-office notifications in memory, kept on commit."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []

    def add(self, payload: dict[str, Any]) -> None:
        self.pending.append(payload)


class MemoryReplyOutbox:
    """The reply outbox in memory, kept on commit; each reply is stored as the SQL outbox
    stores it and must come back equal (a context that does not survive fails at once)."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db
        self.pending: list[tuple[int, str | None, str]] = []

    def add(self, reply: Reply, update_key: str | None) -> None:
        text = encode_reply(reply)
        assert decode_reply(text) == reply, f"{reply.template} does not survive the outbox"
        self.pending.append((next(self.db.next_message_id), update_key, text))

    def pending_for(self, update_key: str) -> list[Reply]:
        rows = [*self.db.messages, *self.pending]
        return [decode_reply(text) for _id, key, text in rows if key == update_key]


def deliver_outbox(db: MemoryDatabase) -> list[Reply]:
    """What a sender does: take every waiting reply, in order (they count as sent)."""
    replies = [decode_reply(text) for _id, _key, text in db.messages]
    db.messages.clear()
    return replies


class MemoryFaqRepository:
    """FAQ revisions and unanswered questions in memory (applied at once, not on commit)."""

    def __init__(self, db: MemoryDatabase, clock: FixedClock) -> None:
        self.db = db
        self.clock = clock

    def version(self) -> int:
        return len(self.db.faq_revisions)

    def current_entries(self) -> list[FaqEntry]:
        latest: dict[str, FaqEntry] = {}
        for revision in self.db.faq_revisions:
            latest[revision.entry.id] = revision.entry
        return [latest[key] for key in sorted(latest)]

    def save_entry(self, entry: FaqEntry, author_id: int | None, note: str) -> int:
        number = len(self.history(entry.id)) + 1
        self.db.faq_revisions.append(FaqRevision(entry, number, author_id, note, self.clock.now()))
        return number

    def history(self, entry_id: str) -> list[FaqRevision]:
        return [r for r in self.db.faq_revisions if r.entry.id == entry_id]

    def record_unanswered(self, question: str, language: str) -> None:
        for key, item in self.db.unanswered.items():
            if item.question == question and item.language == language:
                self.db.unanswered[key] = dataclasses.replace(
                    item, count=item.count + 1, status="open"
                )
                return
        key = len(self.db.unanswered) + 1
        self.db.unanswered[key] = UnansweredQuestion(key, question, language, 1)

    def unanswered(self, limit: int) -> list[UnansweredQuestion]:
        items = [q for q in self.db.unanswered.values() if q.status == "open"]
        return sorted(items, key=lambda q: (-q.count, q.id))[:limit]

    def close_unanswered(self, question_id: int, status: str) -> UnansweredQuestion | None:
        item = self.db.unanswered.get(question_id)
        if item is None or item.status != "open":
            return None
        self.db.unanswered[question_id] = dataclasses.replace(item, status=status)
        return self.db.unanswered[question_id]


class MemoryRoleRepository:
    """Granted roles in memory."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def roles_of(self, user_id: int) -> set[str]:
        return {role for uid, role in self.db.roles if uid == user_id}

    def grant(self, user_id: int, role: str, granted_by: int | None) -> bool:
        if (user_id, role) in self.db.roles:
            return False
        self.db.roles.add((user_id, role))
        return True

    def revoke(self, user_id: int, role: str) -> bool:
        if (user_id, role) not in self.db.roles:
            return False
        self.db.roles.discard((user_id, role))
        return True

    def all_roles(self) -> list[tuple[int, str]]:
        return sorted(self.db.roles)


class MemorySupportRepository:
    """Support tickets in memory."""

    def __init__(self, db: MemoryDatabase) -> None:
        self.db = db

    def open_ticket(self, user_id: int, chat_id: int, question: str, language: str) -> int:
        number = len(self.db.tickets) + 1
        self.db.tickets[number] = SupportTicket(number, user_id, chat_id, question, language)
        return number

    def count_recent(self, user_id: int, since: datetime) -> int:
        return sum(1 for t in self.db.tickets.values() if t.user_id == user_id)

    def ticket(self, ticket_id: int) -> SupportTicket | None:
        found = self.db.tickets.get(ticket_id)
        return copy.copy(found) if found else None

    def update_ticket(self, ticket: SupportTicket) -> None:
        self.db.tickets[ticket.id] = copy.copy(ticket)


class MemoryUnitOfWork:
    """A unit of work over MemoryDatabase: changes are applied only on commit."""

    def __init__(self, db: MemoryDatabase, clock: FixedClock | None = None) -> None:
        self.db = db
        self.faq = MemoryFaqRepository(db, clock or FixedClock(datetime(2026, 11, 30, tzinfo=UTC)))
        self.roles = MemoryRoleRepository(db)
        self.support = MemorySupportRepository(db)
        self.audit = MemoryAuditLog(db)
        self.outbox = MemoryOutbox()
        self.messages = MemoryReplyOutbox(db)
        self._applicants: dict[int, Applicant | None] = {}
        self._processed: dict[str, datetime] = {}
        self._counters: dict[int, int] = {}
        self._later: list[Callable[[], None]] = []
        self._wipe: bool | None = None
        self.clock = clock or FixedClock(datetime(2026, 11, 30, tzinfo=UTC))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._applicants.clear()

    def claim_update(self, key: str) -> bool:
        if key in self.db.processed or key in self._processed:
            return False
        self._processed[key] = self.clock.now()
        return True

    def add_tally(self, day: date, tally: Tally) -> None:
        def add() -> None:
            for (kind, key, detail), count in tally.items():
                self.db.tally[(day, kind, key, detail)] += count

        self._later.append(add)

    def forget_deliveries(self, before: datetime) -> int:
        old = [key for key, moment in self.db.processed.items() if moment < before]

        def forget() -> None:
            for key in old:
                self.db.processed.pop(key, None)

        self._later.append(forget)
        return len(old)

    def load_applicant(self, user_id: int) -> Applicant | None:
        found = self.db.applicants.get(user_id)
        return copy.deepcopy(found)

    def save_applicant(self, applicant: Applicant) -> None:
        if applicant.application is not None and applicant.application.id is None:
            applicant.application.id = next(self.db.next_application_id)
        if applicant.application is not None:
            applicant.application.user_id = applicant.user_id
        self._applicants[applicant.user_id] = copy.deepcopy(applicant)

    def delete_applicant(self, user_id: int) -> None:
        self._applicants[user_id] = None

    def next_application_number(self, year: int) -> str:
        last = self._counters.get(year, self.db.counters.get(year, 0)) + 1
        self._counters[year] = last
        return f"DX-{year}-{last:06d}"

    def _numbered(self, exclude_number: str | None):  # type: ignore[no-untyped-def]
        """Every numbered application, whatever its status (committed ones and the
        applicants' current ones)."""
        apps = dict(self.db.applications)
        for applicant in self.db.applicants.values():
            app = applicant.application
            if app is not None and app.id is not None:
                apps[app.id] = app
        for app in apps.values():
            if app.number and app.number != exclude_number:
                yield app

    def applications_with_answer(
        self,
        field: str,
        value: str,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        return sorted(
            {
                (str(app.number), app.status.value)
                for app in self._numbered(exclude_number)
                if app.answers.get(field) == value
            }
        )[:limit]

    def applications_with_document(
        self,
        sha256: str,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        return sorted(
            {
                (str(app.number), app.status.value)
                for app in self._numbered(exclude_number)
                if any(doc.sha256 == sha256 for doc in app.documents.values())
            }
        )[:limit]

    def applications_with_similar_photo(
        self,
        phash: str,
        max_distance: int,
        *,
        exclude_number: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        return sorted(
            {
                (str(app.number), app.status.value)
                for app in self._numbered(exclude_number)
                if any(
                    doc.phash is not None and hash_distance(doc.phash, phash) <= max_distance
                    for doc in app.documents.values()
                )
            }
        )[:limit]

    def load_application(self, number: str) -> Application | None:
        for applicant in self.db.applicants.values():
            if applicant.application and applicant.application.number == number:
                return copy.deepcopy(applicant.application)
        return None

    def load_application_by_id(self, application_id: int) -> Application | None:
        for applicant in self.db.applicants.values():
            if applicant.application and applicant.application.id == application_id:
                return copy.deepcopy(applicant.application)
        return None

    def open_applications(
        self,
        *,
        limit: int | None = None,
        submitted_before: datetime | None = None,
        unread: bool = False,
    ) -> list[Application]:
        found = [
            copy.deepcopy(a.application)
            for a in self.db.applicants.values()
            if a.application is not None
            and a.application.status in OPEN_STATUSES
            and (
                submitted_before is None
                or (a.application.submitted_at or submitted_before) < submitted_before
            )
            and (
                not unread
                or (
                    a.application.status in WITH_REVIEWERS
                    and a.application.review.read_round < a.application.review.round
                )
            )
        ]
        return sorted(found, key=lambda app: (app.submitted_at, app.id or 0))[:limit]

    def applications_of(self, user_id: int) -> list[Application]:
        found = [copy.deepcopy(a) for a in self.db.applications.values() if a.user_id == user_id]
        current = self.db.applicants.get(user_id)
        if current and current.application and current.application.id not in self.db.applications:
            found.append(copy.deepcopy(current.application))
        return sorted(found, key=lambda app: app.id or 0)

    def erase_user(self, user_id: int) -> list[str]:
        apps = self.applications_of(user_id)

        def erase() -> None:
            self.db.applicants.pop(user_id, None)
            for app in apps:
                self.db.applications.pop(app.id or 0, None)
            for ticket_id in [i for i, t in self.db.tickets.items() if t.user_id == user_id]:
                del self.db.tickets[ticket_id]

        self._applicants[user_id] = None
        self._later.append(erase)
        return [d.storage_key for app in apps for d in app.documents.values()]

    def closed_before(self, cutoff: datetime, limit: int) -> list[Application]:
        found = [
            copy.deepcopy(a)
            for a in self.db.applications.values()
            if a.closed_at is not None and a.closed_at < cutoff and a.purged_at is None
        ]
        return sorted(found, key=lambda app: (app.closed_at, app.id or 0))[:limit]

    def purge_application(self, application_id: int) -> list[str]:
        stored = self.db.applications.get(application_id)
        if stored is None:
            return []
        keys = [d.storage_key for d in stored.documents.values()]
        now = self.clock.now()

        def purge(app: Application) -> None:
            app.answers, app.documents, app.flags, app.purged_at = {}, {}, [], now
            app.review.comment, app.review.notes, app.review.draft = None, [], None

        def apply() -> None:
            purge(self.db.applications[application_id])
            for applicant in self.db.applicants.values():
                if applicant.application and applicant.application.id == application_id:
                    purge(applicant.application)

        self._later.append(apply)
        return keys

    def _drop_replaced_draft(self, user_id: int, keep: int | None) -> None:
        """As the SQL store does: a draft the applicant no longer works on is deleted."""
        previous = self.db.applicants.get(user_id)
        old = previous.application if previous else None
        if old is None or old.id is None or old.id == keep:
            return
        stored = self.db.applications.get(old.id)
        if stored is not None and stored.status == Status.DRAFT:
            del self.db.applications[old.id]

    def wipe_deleted_on_commit(self, *, thorough: bool = False) -> None:
        self._wipe = thorough or bool(self._wipe)

    def commit(self) -> None:
        for user_id, applicant in self._applicants.items():
            current = applicant.application if applicant else None
            self._drop_replaced_draft(user_id, current.id if current else None)
            if applicant is None:
                self.db.applicants.pop(user_id, None)
            else:
                self.db.applicants[user_id] = applicant
                app = applicant.application
                if app is not None and app.id is not None:
                    if app.status in DECIDED_STATUSES and app.closed_at is None:
                        app.closed_at = self.clock.now()
                    self.db.applications[app.id] = copy.deepcopy(app)
        for change in self._later:
            change()
        self._later = []
        self.db.processed.update(self._processed)
        self.db.counters.update(self._counters)
        self.db.audit += self.audit.pending
        self.db.outbox += self.outbox.pending
        self.db.messages += self.messages.pending
        self.audit.pending, self.outbox.pending, self.messages.pending = [], [], []
        self.db.commits += 1
        self._applicants.clear()
        if self._wipe is not None:
            self.db.wipes.append(self._wipe)
            self._wipe = None


class MemoryDocumentStore:
    """Keeps document bytes in a dict and records every call."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self._ids = itertools.count(1)

    def put(self, source: Path) -> str:
        key = f"{next(self._ids):032x}"
        self.blobs[key] = source.read_bytes()
        return key

    def read(self, key: str) -> bytes:
        return self.blobs[key]

    def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.blobs.pop(key, None)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / key
            path.write_bytes(self.blobs[key])
            yield path


@dataclass
class FixedClock:
    """A clock that says what the test tells it."""

    current: datetime

    def now(self) -> datetime:
        return self.current
