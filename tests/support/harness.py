"""Drive the conversation core like an applicant would, rendering every reply."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cardbot.calendar_cn import ChinaWorkingCalendar
from cardbot.content.faq_files import load_faq, load_negatives
from cardbot.content.loader import load_spec
from cardbot.content.render import RenderedMessage, Renderer
from cardbot.core.events import (
    ButtonPress,
    Command,
    DocumentRead,
    DocumentsRead,
    Event,
    FileUpload,
    Incoming,
    IncomingFile,
    Text,
    UserRef,
)
from cardbot.core.faq_service import FaqService
from cardbot.core.model import Applicant
from cardbot.core.ports import DocumentStore, UnitOfWork
from cardbot.core.replies import Reply
from cardbot.core.service import ConversationService
from cardbot.db.reply_outbox import ReplyQueue
from tests.support import files
from tests.support.fakes import (
    FixedClock,
    MemoryDatabase,
    MemoryDocumentStore,
    MemoryUnitOfWork,
    deliver_outbox,
)

DIALOGS = Path(__file__).resolve().parents[2] / "dialogs"
FAQ = Path(__file__).resolve().parents[2] / "faq"
VALID_ID = "11010519491231002X"
VALID_USCC = "91350100M000100Y43"
VALID_PHONE = "13800138000"


class Harness:
    """One or more applicants talking to a ConversationService with fake ports."""

    def __init__(
        self,
        workdir: Path,
        *,
        unit_of_work: Callable[[], UnitOfWork] | None = None,
        documents: DocumentStore | None = None,
        now: datetime | None = None,
        dialogs: Path = DIALOGS,
        db: MemoryDatabase | None = None,
        with_faq: bool = False,
        admin_ids: frozenset[int] = frozenset(),
        support_chat_id: int | None = None,
        review_chat_id: int | None = None,
        back_office: bool = False,
        review_language: str = "zh",
        reading: bool = False,
    ) -> None:
        self.workdir = workdir
        self.spec = load_spec(dialogs)
        if reading:  # documents first, what is read from them proposed (CARDBOT_OCR on)
            self.spec = self.spec.for_reading()
        self.renderer = Renderer(dialogs)
        self.db = db or MemoryDatabase()
        self.documents: Any = documents or MemoryDocumentStore()
        self.clock = FixedClock(now or datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
        self.unit_of_work = unit_of_work or (lambda: MemoryUnitOfWork(self.db, self.clock))
        self.faq = (
            FaqService(
                self.spec,
                ChinaWorkingCalendar(),
                self.renderer.source_problem,
                load_negatives(FAQ),
            )
            if with_faq
            else None
        )
        if self.faq is not None:
            with self.unit_of_work() as uow:
                self.faq.seed(uow.faq, load_faq(FAQ))
                uow.commit()
        self.service = ConversationService(
            self.spec,
            self.unit_of_work,
            self.documents,
            self.clock,
            faq=self.faq,
            admin_ids=admin_ids,
            support_chat_id=support_chat_id,
            calendar=ChinaWorkingCalendar(),
            review_chat_id=review_chat_id,
            back_office=back_office,
            review_language=review_language,
        )
        self.user = UserRef(user_id=1001, chat_id=1001, language_code="zh-hans")
        self.last: RenderedMessage | None = None
        self.sent: list[Reply] = []  # the replies of the last event, as the core returned them
        self.delivered: list[Reply] = []  # what the outbox held after the last event
        self._keys = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]
        self._files = itertools.count(1)

    def send(self, event: Event, *, key: str | None = None) -> list[RenderedMessage]:
        """Send one event; every reply is rendered (so a broken template fails the test)."""
        incoming = Incoming(key or f"test:{self._run}:{next(self._keys)}", self.user, event)
        self.sent = self.service.handle(incoming)
        self.delivered = self.deliver_outbox()  # as the bridge sends and deletes them
        rendered = [self.renderer.render(reply) for reply in self.sent]
        if rendered:
            self.last = rendered[-1]
        return rendered

    def deliver_outbox(self) -> list[Reply]:
        """Take what waits in the outbox (in memory or in the SQL database), as sent."""
        with self.unit_of_work() as uow:
            session = getattr(uow, "session", None)
        if session is None:
            return deliver_outbox(self.db)
        queue = ReplyQueue(session.get_bind())
        sent = []
        while chats := queue.chats_waiting():
            for chat_id in chats:
                for pending in queue.claim(chat_id, "harness"):
                    sent.append(pending.reply)
                    queue.sent(pending.id, "harness")
        return sent

    def text(self, text: str) -> list[RenderedMessage]:
        """Type a message."""
        return self.send(Text(text))

    def command(self, name: str, args: str = "") -> list[RenderedMessage]:
        """Send a slash command."""
        return self.send(Command(name, args))

    def as_user(self, user_id: int, language_code: str = "zh-hans") -> None:
        """Carry on as another person."""
        self.user = UserRef(user_id=user_id, chat_id=user_id, language_code=language_code)

    def in_group(self, user_id: int, chat_id: int, name: str = "审核员") -> None:
        """Carry on as a person writing in a group (the review or support group)."""
        self.user = UserRef(user_id=user_id, chat_id=chat_id, language_code="zh-hans", name=name)

    def press(self, data: str) -> list[RenderedMessage]:
        """Press a button by its data (which may be forged)."""
        return self.send(ButtonPress(data))

    def tap(self, label: str) -> list[RenderedMessage]:
        """Press the button of the last message whose label contains `label`."""
        assert self.last is not None, "no message yet"
        for row in self.last.buttons:
            for text, data in row:
                if label in text:
                    return self.press(data)
        raise AssertionError(f"no button {label!r} in {self.last.buttons}")

    def upload(
        self, data: bytes, *, group: str | None = None, name: str = "f"
    ) -> list[RenderedMessage]:
        """Send a file with these bytes."""
        path = self.workdir / f"upload-{next(self._files)}"
        path.write_bytes(data)
        return self.send(FileUpload(IncomingFile(path, len(data), name, None, group)))

    def documents_read(
        self,
        values: dict[str, dict[str, str]],
        *,
        unreadable: bool = False,
        blurry: bool = False,
    ) -> list[RenderedMessage]:
        """Hand the core what reading found on the stored photos the core wants read, as the
        reading job does after an upload (see `documents_read_event`)."""
        event = self.documents_read_event(
            self.user.user_id, values, unreadable=unreadable, blurry=blurry
        )
        return self.send(event, key=f"read:{self._run}:{next(self._keys)}")

    def documents_read_event(
        self,
        user_id: int,
        values: dict[str, dict[str, str]],
        *,
        unreadable: bool = False,
        blurry: bool = False,
        poor: frozenset[str] | None = None,
    ) -> DocumentsRead:
        """What reading found on the stored photos the core wants read for the user (slot →
        step → text; a slot not given: nothing). `unreadable` and `blurry` describe the photos
        of the `poor` slots: by default those that fill answers in (not the ID card's back,
        which is read only to check it)."""
        wanted = self.service.readings_wanted(user_id)
        poor = poor if poor is not None else frozenset(s for s, f in self.spec.fills.items() if f)
        return DocumentsRead(
            tuple(
                DocumentRead(
                    slot,
                    sha256,
                    values.get(slot, {}),
                    unreadable and slot in poor,
                    blurry and slot in poor,
                )
                for slot, (_key, sha256) in wanted.items()
            )
        )

    @property
    def applicant(self) -> Applicant:
        """What the store holds for the applicant now."""
        with self.unit_of_work() as uow:
            applicant = uow.load_applicant(self.user.user_id)
        assert applicant is not None, "no applicant stored"
        return applicant

    @property
    def state(self) -> str:
        """The applicant's stored state."""
        return self.applicant.state

    @property
    def buttons(self) -> list[str]:
        """The callback data of the last message's buttons."""
        assert self.last is not None
        return [data for row in self.last.buttons for _label, data in row]

    def start_as(self, category: str) -> None:
        """Consent and choose a category."""
        self.command("start")
        self.press("consent:yes")
        self.press(f"cat:{category}")

    def complete_individual(self, seeds: tuple[int, int] = (1, 2)) -> None:
        """Consent, answer everything an individual is asked, and send both ID card sides."""
        self.start_as("individual")
        self.fill_identity()
        self.upload(files.photo(seed=seeds[0]), group=f"album-{seeds}")
        self.upload(files.photo(seed=seeds[1]), group=f"album-{seeds}")

    def fill_identity(self, *, passport: bool = False) -> None:
        """Answer name, ID type and number, phone."""
        self.text("张三")
        self.press("pick:id_type:passport" if passport else "pick:id_type:resident_id")
        self.text("E12345678" if passport else VALID_ID)
        self.text(VALID_PHONE)
