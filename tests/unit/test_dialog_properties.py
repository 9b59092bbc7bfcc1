"""Property-based: long random conversations never crash, lose what was accepted, leave the
applicant in a state the dialog does not define, or send what Telegram would refuse.

A hypothesis state machine plays one to three applicants sending every kind of event: hostile
text, commands, buttons (shown, stale and forged), good and bad files (alone and in albums),
messages the bot cannot use and repeated deliveries. After each event it checks:

1. `ConversationService.handle` raised nothing (and every reply rendered);
2. every stored applicant is in a state of the flow machine, coherent with their application;
3. nothing accepted before the event was lost or changed unless the event explains it
   (the step being answered again, a confirmed cancel or erase, the submission itself), no
   other applicant's record changed, every stored document is in the document store and no
   document is kept for no one;
4. every reply is valid Telegram HTML, non-empty and within Telegram's limits, goes to the
   sender's chat, its buttons carry 1 to 64 bytes of callback data and its attachments exist.

The run is derandomized (and uses no example database), so CI sees the same examples each time.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import itertools
import tempfile
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from cardbot.content.render import RenderedMessage
from cardbot.core.clock import local_date
from cardbot.core.events import (
    ButtonPress,
    Command,
    Event,
    FileUpload,
    GroupReply,
    IncomingFile,
    Text,
    Unsupported,
    UserRef,
)
from cardbot.core.flow import CATEGORY, CONSENT, IDLE, NEW, SUBMITTED, SUMMARY
from cardbot.core.model import DECIDED_STATUSES, OPEN_STATUSES, Applicant, Application, Status
from cardbot.core.validation import VALIDATORS
from tests.support import files
from tests.support.botapi_standin import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_MESSAGE_LENGTH,
    render_text,
    utf16_length,
)
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC, Harness

MAX_BUTTONS = 100  # Telegram's limit on the buttons of one inline keyboard
USERS = (
    UserRef(user_id=1001, chat_id=1001, language_code="zh-hans"),
    UserRef(user_id=2002, chat_id=2002, language_code="en-US"),
    UserRef(user_id=3003, chat_id=3003, language_code=None),
)

# Questions the FAQ knows: asking one never changes stored answers or documents.
FAQ_QUESTIONS = (
    "审核要多久？",
    "需要什么材料?",
    "怎么查询进度？",
    "How long does the review take?",
    "What documents do I need?",
)
VALID_TEXTS = (
    VALID_ID,
    VALID_USCC,
    VALID_PHONE,
    "+86 138 0013 8000",
    "张三",
    "欧阳 娜娜",
    "Jane Doe",
    "E12345678",
    "Acme Trading Co., Ltd.",
    "<b>Acme</b> & Co *Ltd*",
    "深圳市某某科技有限公司",
    "500",
    "1,000",
    "1000000",
)
# Valid answers that also read as questions: the FAQ answers, and a button takes them as is.
QUESTION_ANSWERS = ("13800138000?", "王小明吗", "Acme Trading Co., Ltd.?", "How Trading Co")
HOSTILE_TEXTS = (
    "",
    " ",
    "\n\t \u3000",
    "\u200b\u200d",
    "\x00",
    "\x07\x1b[31mred\x1b[0m",
    "\u202e张三",
    "\u202egnp.exe",
    "😀",
    "👨‍👩‍👧‍👦" * 3,
    "<b>x</b> & *y*",
    "</b>",
    "<script>alert(1)</script>",
    "&amp; &lt; &#0; &bogus; &",
    "_*[`~>#+-=|{}.!",
    "{{ 7 * 7 }} {% raw %}",
    "0",
    "-1",
    "1000001",
    "99999999999999999999",
    "3.5",
    "/start",
    "a" * 4096,
    "张" * 4097,
    "😀" * 2100,
    "x" * 10_000,
    "A&" * 50,
    "名" * 50,
    "名" * 51,
    "<" * 1000,
    "& " * 500,
    *FAQ_QUESTIONS,
    *VALID_TEXTS,
    *QUESTION_ANSWERS,
)
COMMAND_NAMES = (
    "start",
    "help",
    "status",
    "summary",
    "cancel",
    "back",
    "lang",
    "faq",
    "mydata",
    "delete",
    "nosuchcommand",
    "faqadmin",
    "unanswered",
    "grant",
    "revoke",
    "roles",
)
FORGED_BUTTONS = (
    "",
    ":",
    "rv:1:approve",
    "cat:nonexistent",
    "cat:",
    "x" * 70,
    "nav:" + "y" * 66,
    "nav:",
    "nav:submit",
    "nav:cancel_yes",
    "nav:cancel_no",
    "nav:accept",
    "nav:reapply",
    "nav:skip",
    "nav:keep",
    "nav:start",
    "pick:id_type:alien",
    "pick:id_type:passport",
    "pick:full_name:张三",
    "edit:nonexistent",
    "edit:category",
    "edit:daily_call_volume",
    "faq:nonexistent",
    "faq:list",
    "human:ask",
    "lang:fr",
    "lang:en",
    "lang:zh",
    "consent:yes",
    "consent:maybe",
    "del:ask",
    "del:yes",
    "del:no",
    "fa:x",
    "ua:1:close",
    "<b>",
)
UNSUPPORTED_KINDS = (
    "sticker",
    "voice",
    "location",
    "contact",
    "poll",
    "edited",
    "forwarded",
    "other",
)

FILES: dict[str, Callable[[], bytes]] = {
    **{f"photo-{seed}": functools.partial(files.photo, seed=seed) for seed in range(1, 7)},
    "photo-png": functools.partial(files.photo, seed=7, fmt="PNG"),
    "blank-photo": files.blank_photo,
    "tiny-photo": files.tiny_photo,
    "truncated-photo": files.truncated_photo,
    "truncated-png": files.truncated_png,
    "corrupted-png": files.corrupted_png,
    "decompression-bomb": files.decompression_bomb,
    "pdf": files.pdf,
    "pdf-2-pages": functools.partial(files.pdf, pages=2),
    "encrypted-pdf": files.encrypted_pdf,
    "broken-pdf": files.broken_pdf,
    "self-referencing-pdf": files.self_referencing_pdf,
    "windows-executable": files.windows_executable,
    "zip-archive": files.zip_archive,
    "empty": lambda: b"",
}
GOOD_FILES = (*(f"photo-{seed}" for seed in range(1, 7)), "photo-png", "pdf", "pdf-2-pages")
# Files that never reached the bot: too large to download, or the download failed.
UNFETCHED = {"unfetched-huge": 30 * 1024 * 1024, "unfetched": 123_456}


@functools.cache
def file_bytes(name: str) -> bytes:
    """The bytes of one test file, made once per test session."""
    return FILES[name]()


# A valid answer for each kind of typed step, by validator (id_number depends on the ID type).
VALID_ANSWERS: dict[str, tuple[str, ...]] = {
    "person_name": ("张三", "Jane Doe", "欧阳 娜娜"),
    "phone": (VALID_PHONE, "+86 138 0013 8000"),
    "company_name": ("Acme Trading Co., Ltd.", "Acme & Co. (Shenzhen)", "北京某某科技有限公司"),
    "uscc": (VALID_USCC,),
    "daily_call_volume": ("500", "1,000", "1000000"),
}

texts = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.text(max_size=40),
    st.text(alphabet="0123456789Xx +-", max_size=24),
)
button_data = st.one_of(
    st.sampled_from(FORGED_BUTTONS),
    st.text(max_size=80),
    st.from_regex(
        r"(nav|cat|pick|edit|faq|lang|consent|human|fa|ua|rv):[a-z_:0-9]{0,70}", fullmatch=True
    ),
)


def snapshot(h: Harness) -> dict[int, Applicant]:
    """Every stored applicant, copied."""
    return copy.deepcopy(dict(h.db.applicants))


def flat_buttons(message: RenderedMessage) -> list[str]:
    """The callback data of a message's buttons, in order."""
    return [data for row in message.buttons for _label, data in row]


class DialogMachine(RuleBasedStateMachine):
    """Applicants sending random events to one ConversationService."""

    def __init__(self) -> None:
        super().__init__()
        self._workdir = tempfile.TemporaryDirectory()
        self.workdir = Path(self._workdir.name)
        self.h = Harness(self.workdir, with_faq=True)
        self.h.user = USERS[0]
        self.states = self.h.service.flow.states
        self.spec = self.h.spec
        self.keys = itertools.count(1)
        self.uploads = itertools.count(1)
        self.sent: list[tuple[UserRef, Event, str]] = []
        self.last_buttons: dict[int, list[str]] = {}
        self.seen_buttons: dict[int, list[str]] = {}
        self.upload_hashes: dict[Path, str] = {}
        self.good_files = itertools.cycle(GOOD_FILES)

    def teardown(self) -> None:
        self._workdir.cleanup()

    # -- sending and checking ------------------------------------------------------------

    def deliver(self, event: Event, *, repeat: tuple[UserRef, str] | None = None) -> None:
        """Send one event as the current (or repeated) user and check every property."""
        user, key = repeat or (self.h.user, f"prop:{next(self.keys)}")
        current = self.h.user
        self.h.user = user
        before = snapshot(self.h)
        try:
            replies = self.h.send(event, key=key)  # 1. raises if handle() or rendering fails
        finally:
            self.h.user = current
        after = self.h.db.applicants  # committed records are replaced, never changed in place
        if repeat is None:
            self.sent.append((user, event, key))
        if replies and repeat is None:
            shown = flat_buttons(replies[-1])
            self.last_buttons[user.user_id] = shown
            seen = self.seen_buttons.setdefault(user.user_id, [])
            seen += [data for data in shown if data not in seen]
        for message in replies:
            self.check_message(message, user)
        if not replies:
            silent = isinstance(event, GroupReply) or (
                isinstance(event, FileUpload) and event.file.group_id is not None
            )
            assert silent or repeat, f"no reply to {event!r}"
        # Everything said but toasts went through the outbox, in order; a repeat says nothing
        # more (what it said was sent: the harness delivers the outbox after each event).
        assert self.h.delivered == [r for r in self.h.sent if not r.toast]
        assert repeat is None or replies == [], f"a repeat of {event!r} said something again"
        for applicant in after.values():
            self.check_state(applicant)
        self.check_documents_stored(after)
        for user_id in before.keys() | after.keys():
            if repeat is not None or user_id != user.user_id:
                assert after.get(user_id) == before.get(user_id), (
                    f"{event!r} from {user.user_id} (repeat={repeat is not None}) "
                    f"changed the stored record of {user_id}"
                )
        if repeat is None:
            self.check_kept(event, before.get(user.user_id), after.get(user.user_id))

    def check_message(self, message: RenderedMessage, user: UserRef) -> None:
        """4. The reply would be accepted by Telegram, and goes to the sender."""
        assert message.chat_id == user.chat_id, f"reply to chat {message.chat_id}: {message}"
        text = html.escape(message.text) if message.toast else message.text
        plain = render_text(text, "HTML").strip()  # raises ApiError on invalid Telegram HTML
        assert plain, f"empty message: {message}"
        assert utf16_length(plain) <= MAX_MESSAGE_LENGTH, f"{utf16_length(plain)} chars long"
        buttons = [button for row in message.buttons for button in row]
        assert len(buttons) <= MAX_BUTTONS, f"{len(buttons)} buttons"
        for label, data in buttons:
            assert label.strip(), f"button with an empty label: {message.buttons}"
            size = len(data.encode("utf-8"))
            assert 1 <= size <= MAX_CALLBACK_DATA_BYTES, f"callback data of {size} bytes: {data!r}"
        for attachment in message.attachments:
            assert 0 < utf16_length(attachment.caption) <= MAX_CAPTION_LENGTH, attachment
            render_text(attachment.caption, "HTML")
            assert attachment.storage_key in self.h.documents.blobs, f"{attachment} is gone"

    def check_state(self, applicant: Applicant) -> None:
        """2. The stored state is one the flow machine defines, and fits the application."""
        state, app = applicant.state, applicant.application
        assert state in self.states, f"{applicant.user_id} is in unknown state {state!r}"
        if state in (NEW, CONSENT):
            assert app is None, f"{state} with an application: {app}"
        if state in self.spec.steps or state in (SUMMARY, SUBMITTED):
            assert app is not None, f"{applicant.user_id} in {state!r} without an application"
        if app is None:
            return
        if state in self.spec.steps:
            assert self.spec.applies(app.category, state, app.answers), (
                f"{state!r} is not asked of a {app.category} with answers {app.answers}"
            )
        # Without reviewers nothing takes a submitted application out of `submitted`.
        if state == SUBMITTED or app.status in OPEN_STATUSES:
            assert state == SUBMITTED and app.status == Status.SUBMITTED, (state, app.status)
            assert app.number is not None
        if app.status == Status.DRAFT:
            assert app.number is None, app

    def check_documents_stored(self, after: Mapping[int, Applicant]) -> None:
        """3. Each stored document is in the document store, unchanged; nothing is left over."""
        blobs = self.h.documents.blobs
        referenced = set()
        for applicant in after.values():
            if applicant.application is None:
                continue
            for slot, doc in applicant.application.documents.items():
                assert doc.storage_key in blobs, f"{slot} of {applicant.user_id} was deleted"
                assert hashlib.sha256(blobs[doc.storage_key]).hexdigest() == doc.sha256, slot
                referenced.add(doc.storage_key)
        # Applications kept apart from the conversation (decided ones, until purged).
        for app in self.h.db.applications.values():
            referenced |= {doc.storage_key for doc in app.documents.values()}
        assert set(blobs) <= referenced, f"documents kept for no one: {set(blobs) - referenced}"

    def check_kept(self, event: Event, before: Applicant | None, after: Applicant | None) -> None:
        """3. What the sender had stored is still there, or the event explains the change."""
        old = before.application if before else None
        new = after.application if after else None
        # /delete (or its button), then "yes": everything about the applicant is erased.
        erased = (
            event == ButtonPress("del:yes")
            and before is not None
            and before.pending_action == "delete"
        )
        if after is None:
            assert old is None or erased, f"{event!r} deleted the applicant and {old}"
            if erased:
                kept = [a for a in self.h.db.applications.values() if a.user_id == before.user_id]
                assert not kept, f"erased, yet {kept} are kept"
            return
        assert not erased, f"{event!r} confirmed erasing, yet {after} is kept"
        if old is None:
            if new is not None:
                assert isinstance(event, ButtonPress) and event.data.startswith("cat:"), (
                    f"{event!r} created an application"
                )
                assert not new.answers and not new.documents and new.number is None, new
            return
        assert before is not None
        # /start after a decision begins a new application (the decided one is not reused).
        starts_anew = (
            (isinstance(event, Command) and event.name == "start")
            or event == ButtonPress("nav:start")
        ) and (before.state == IDLE and old.number is not None and old.status in DECIDED_STATUSES)
        if new is None:
            confirmed_cancel = (
                event == ButtonPress("nav:cancel_yes")
                and before.pending_action == "cancel"
                and old.status == Status.DRAFT
            )
            assert confirmed_cancel or starts_anew, f"{event!r} dropped the application {old}"
            if confirmed_cancel:
                kept = self.h.db.applications.get(old.id) if old.id is not None else None
                assert kept is None, f"the cancelled draft is kept: {kept}"
            return
        assert new.id == old.id, f"{event!r} replaced application {old} by {new}"
        if not isinstance(event, Text | FileUpload | ButtonPress):
            assert new == old, f"{event!r} changed the application:\n{old}\n->\n{new}"
            return
        if isinstance(event, Text) and event.text in FAQ_QUESTIONS:
            assert (new.answers, new.documents) == (old.answers, old.documents), event
        if old.number is not None:
            kept = ("answers", "documents", "number", "status", "category", "submitted_at")
            for name in kept:
                assert getattr(new, name) == getattr(old, name), (
                    f"{event!r} changed {name} of submitted application {old.number}: "
                    f"{getattr(old, name)!r} -> {getattr(new, name)!r}"
                )
            return
        submitted = new.number is not None
        if submitted:
            assert event == ButtonPress("nav:submit"), f"{event!r} submitted {new}"
        if new.category != old.category:
            assert isinstance(event, ButtonPress) and event.data == f"cat:{new.category}"
            assert before.state == CATEGORY, f"category changed in {before.state}"
        self.check_answers_kept(event, before, old, new, submitted)
        self.check_documents_kept(event, before, old, new, submitted)

    def settable(self, event: Event, before: Applicant, old: Application) -> dict[str, str]:
        """The answers this event may store: {step id: value}, at most one."""
        step = self.spec.steps.get(before.state)
        if step is None:
            return {}
        typed: str | None = None
        if isinstance(event, Text):
            typed = event.text
        elif event == ButtonPress(f"nav:accept:{before.state}") and "accept" in (
            before.pending_action or ""
        ):
            typed = before.pending_text
        if step.kind == "text" and typed is not None:
            assert step.validator is not None
            verdict = VALIDATORS[step.validator](typed, old.answers, self.today())
            return {step.id: verdict.value} if verdict.ok and verdict.value else {}
        if step.kind == "choice" and isinstance(event, ButtonPress):
            scope, step_id, choice = [*event.data.split(":", 2), "", ""][:3]
            if scope == "pick" and step_id == step.id and choice in step.choices:
                return {step.id: choice}
        return {}

    def check_answers_kept(
        self,
        event: Event,
        before: Applicant,
        old: Application,
        new: Application,
        submitted: bool,
    ) -> None:
        settable = self.settable(event, before, old)
        changed = {
            k
            for k in old.answers.keys() | new.answers.keys()
            if old.answers.get(k) != new.answers.get(k)
        }
        applicable = {s.id for s in self.spec.applicable_steps(old.category, old.answers)}
        for key in sorted(changed):
            if key in settable:
                assert new.answers.get(key) == settable[key], (
                    f"{event!r} in {before.state} stored {new.answers.get(key)!r} as {key}, "
                    f"expected {settable[key]!r}"
                )
                continue
            assert key not in new.answers, (
                f"{event!r} in {before.state} changed {key}: "
                f"{old.answers.get(key)!r} -> {new.answers[key]!r}"
            )
            if submitted:
                assert key not in applicable, f"submitting dropped the answer {key}"
                continue
            # Storing one answer drops later answers it made invalid (e.g. a new ID type).
            step = self.spec.steps[key]
            assert settable and settable.keys() <= changed and step.validator, (
                f"{event!r} in {before.state} lost the answer {key}={old.answers[key]!r}"
            )
            verdict = VALIDATORS[step.validator](old.answers[key], new.answers, self.today())
            assert not verdict.ok, f"{event!r} dropped the still valid answer {key}"

    def check_documents_kept(
        self,
        event: Event,
        before: Applicant,
        old: Application,
        new: Application,
        submitted: bool,
    ) -> None:
        changed = {
            slot
            for slot in old.documents.keys() | new.documents.keys()
            if old.documents.get(slot) != new.documents.get(slot)
        }
        if submitted:
            needed = {
                slot
                for step in self.spec.applicable_steps(old.category, old.answers)
                for slot in step.slots
            }
            assert all(s not in new.documents and s not in needed for s in changed), (
                f"submitting dropped needed documents: {changed}"
            )
            return
        if not changed:
            return
        step = self.spec.steps.get(before.state)
        assert isinstance(event, FileUpload) and step is not None and step.kind == "document", (
            f"{event!r} in {before.state} changed documents {sorted(changed)}"
        )
        assert len(changed) == 1 and changed <= set(step.slots), (
            f"one upload in {step.id} changed {sorted(changed)}"
        )
        (slot,) = changed
        assert event.file.path is not None, "a file never fetched was stored"
        assert new.documents[slot].sha256 == self.upload_hashes[event.file.path], slot

    def today(self) -> date:
        """Today on the service's clock (validators depend on it)."""
        return local_date(self.h.clock.now())

    # -- events --------------------------------------------------------------------------

    def upload_event(self, name: str, group: str | None, unique_id: str | None) -> FileUpload:
        """A file the applicant sent, saved where the adapter would save it."""
        if name in UNFETCHED:
            return FileUpload(IncomingFile(None, UNFETCHED[name], "big.jpg", unique_id, group))
        data = file_bytes(name)
        path = self.workdir / f"upload-{next(self.uploads)}"
        path.write_bytes(data)
        self.upload_hashes[path] = hashlib.sha256(data).hexdigest()
        return FileUpload(IncomingFile(path, len(data), f"{name}.bin", unique_id, group))

    def progress_event(self, variant: int, item: int = 0) -> Event:
        """The event a cooperative applicant would send next."""
        stored = self.h.db.applicants.get(self.h.user.user_id)
        state = stored.state if stored else NEW
        app = stored.application if stored else None
        step = self.spec.steps.get(state)
        if state == NEW:
            return Command("start")
        if state == CONSENT:
            return ButtonPress("consent:yes")
        if state == CATEGORY:
            categories = list(self.spec.categories)
            return ButtonPress(f"cat:{categories[variant % len(categories)]}")
        if state == SUMMARY and app is not None:
            # Mostly submit (or carry on); sometimes go back to change something first.
            shown = self.last_buttons.get(self.h.user.user_id, [])
            items = [
                CATEGORY,
                *(s.id for s in self.spec.applicable_steps(app.category, app.answers)),
            ]
            return [
                ButtonPress("nav:submit" if "nav:submit" in shown else "nav:continue"),
                ButtonPress("nav:submit" if "nav:submit" in shown else "nav:continue"),
                ButtonPress("nav:submit" if "nav:submit" in shown else "nav:continue"),
                ButtonPress("nav:edit"),
                ButtonPress(f"edit:{items[item % len(items)]}"),
                ButtonPress(f"edit:{items[item % 2]}"),
                ButtonPress("nav:back"),
                Command("back"),
            ][variant % 8]
        if state == IDLE:
            return [ButtonPress("nav:start"), Command("mydata"), Command("status")][variant % 3]
        if step is None or app is None:
            # Submitted: nothing to do but ask, which must change nothing.
            names = ("status", "help", "start", "mydata", "back", "cancel", "faq", "lang")
            return Command(names[variant % len(names)])
        if step.kind == "choice":
            return ButtonPress(f"pick:{step.id}:{step.choices[variant % len(step.choices)]}")
        if step.kind == "document":
            group = f"album-{step.id}-{variant}" if variant % 2 else None
            return self.upload_event(next(self.good_files), group, None)
        if step.validator == "id_number":
            return Text("E12345678" if app.answers.get("id_type") == "passport" else VALID_ID)
        answers = VALID_ANSWERS.get(step.validator or "", HOSTILE_TEXTS)
        return Text(answers[variant % len(answers)])

    @initialize(head_start=st.integers(min_value=0, max_value=24), variant=st.integers(0, 7))
    def head_start(self, head_start: int, variant: int) -> None:
        """Begin some runs deep in the flow: a cooperative applicant's first events."""
        for _ in range(head_start):
            self.deliver(self.progress_event(variant))

    @rule(variant=st.integers(min_value=0, max_value=7), item=st.integers(0, 15))
    def progress(self, variant: int, item: int) -> None:
        self.deliver(self.progress_event(variant, item))

    @rule(variant=st.integers(min_value=0, max_value=7), item=st.integers(0, 15))
    def progress_more(self, variant: int, item: int) -> None:
        self.deliver(self.progress_event(variant, item))

    @rule(user=st.sampled_from(USERS))
    def switch_user(self, user: UserRef) -> None:
        self.h.user = user

    @rule(text=texts)
    def text(self, text: str) -> None:
        self.deliver(Text(text))

    @rule(
        name=st.one_of(
            st.sampled_from(COMMAND_NAMES), st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True)
        ),
        args=st.one_of(st.just(""), texts),
    )
    def command(self, name: str, args: str) -> None:
        self.deliver(Command(name, args))

    @rule(
        source=st.sampled_from(("shown", "shown", "shown", "stale", "forged")),
        index=st.integers(min_value=0, max_value=999),
        forged=button_data,
    )
    def press(self, source: str, index: int, forged: str) -> None:
        """Mostly a button of the last message; sometimes an older one, or forged data."""
        user_id = self.h.user.user_id
        buttons = {
            "shown": self.last_buttons.get(user_id),
            "stale": self.seen_buttons.get(user_id),
        }.get(source)
        self.deliver(ButtonPress(buttons[index % len(buttons)] if buttons else forged))

    @rule(
        name=st.sampled_from((*FILES, *UNFETCHED)),
        group=st.sampled_from((None, None, "album-1", "album-2")),
        unique_id=st.sampled_from((None, "AQADunique")),
    )
    def upload(self, name: str, group: str | None, unique_id: str | None) -> None:
        self.deliver(self.upload_event(name, group, unique_id))

    @rule(
        event=st.one_of(
            st.builds(Unsupported, st.sampled_from(UNSUPPORTED_KINDS)),
            # A reply in the applicant's own chat is not a staff group's: it is ignored.
            st.builds(GroupReply, st.sampled_from(("#Q1 a question", "")), texts),
        )
    )
    def unusable(self, event: Event) -> None:
        self.deliver(event)

    @rule(
        ask=st.sampled_from(
            (
                Command("cancel"),
                ButtonPress("nav:cancel"),
                Command("delete"),
                ButtonPress("del:ask"),
            )
        ),
        answer=st.sampled_from(("yes", "no", None)),
        look=st.booleans(),
    )
    def confirm(self, ask: Event, answer: str | None, look: bool) -> None:
        """Ask to cancel (or to erase everything), maybe answer as the buttons offer, and
        maybe look at what is kept (/mydata)."""
        self.deliver(ask)
        erasing = ask in (Command("delete"), ButtonPress("del:ask"))
        if answer is not None:
            self.deliver(ButtonPress(f"del:{answer}" if erasing else f"nav:cancel_{answer}"))
        if look:
            self.deliver(Command("mydata"))

    @precondition(lambda self: bool(self.sent))
    @rule(index=st.integers(min_value=0, max_value=999))
    def repeat_delivery(self, index: int) -> None:
        user, event, key = self.sent[index % len(self.sent)]
        self.deliver(event, repeat=(user, key))


DialogMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDialogProperties = DialogMachine.TestCase
