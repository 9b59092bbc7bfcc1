"""Reading an applicant's document photos right after their upload, so the answers they carry
can be proposed instead of typed (core/applicant/prefill.py). Runs off the update path, in
the reading pool; what was read goes back to the core as one `DocumentsRead` event, applied
once however often it is delivered. A photo that cannot be read in time gives nothing, and
the applicant types as before."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cardbot.core.events import DocumentRead, DocumentsRead, Incoming, UserRef
from cardbot.core.replies import Reply
from cardbot.core.service import ConversationService
from cardbot.reading.model import BUSINESS_LICENSE, ID_FRONT, NO_TEXT, PASSPORT, Reading
from cardbot.reading.pool import read_all

log = logging.getLogger(__name__)

# What a reading gives each answer a slot's photo fills in (dialogs/flow.yaml, reading.fills).
FIELDS: Mapping[tuple[str, str], Callable[[Reading], str | None]] = {
    (ID_FRONT, "full_name"): lambda r: r.name,
    (ID_FRONT, "id_number"): lambda r: r.id_number,
    (PASSPORT, "full_name"): lambda r: r.passport_name,
    (PASSPORT, "id_number"): lambda r: r.passport_number,
    (BUSINESS_LICENSE, "company_name"): lambda r: r.company_name,
    (BUSINESS_LICENSE, "uscc"): lambda r: r.uscc or r.uscc_from_qr,
}

Handle = Callable[[Incoming], list[Reply]]


class PrefillReader:
    """Reads the photos the core wants read for one applicant and hands it what was found.

    One reading at a time per applicant: an upload while their photos are being read asks for
    one more round afterwards (with the photos then stored), so an applicant sending twenty
    photos queues at most one reading ahead of everyone else's in the pool. Readings wait in
    threads of their own (`executor`), never in those the bot sends and stores updates with.
    """

    def __init__(
        self, service: ConversationService, handle: Handle | None = None, threads: int = 4
    ) -> None:
        self.service = service
        self.handle = handle or service.handle
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="cardbot-prefill")
        self._reading: set[int] = set()
        self._again: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False

    def read_and_propose(self, user: UserRef) -> list[Reply]:
        """Read the applicant's photos that can fill in answers they still owe (waiting for
        the reading pool) and apply what was read; returns the replies (in the outbox), none
        when a reading of theirs is already under way (it reads once more afterwards)."""
        with self._lock:
            if user.user_id in self._reading:
                self._again.add(user.user_id)
                return []
            self._reading.add(user.user_id)
        replies: list[Reply] = []
        try:
            while True:
                replies += self._read_once(user)
                with self._lock:  # decided and released together: no later upload is lost
                    if user.user_id not in self._again:
                        self._reading.discard(user.user_id)
                        return replies
                    self._again.discard(user.user_id)
        except BaseException:
            with self._lock:
                self._reading.discard(user.user_id)
                self._again.discard(user.user_id)
            raise

    def close(self) -> None:
        """Stop taking readings; those waiting are dropped (the applicant types instead), and
        one finishing is not applied."""
        self._closed = True
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _read_once(self, user: UserRef) -> list[Reply]:
        """One round: the photos that fill answers in first (their proposal waits for nothing
        else), then those read only to check they can be read."""
        wanted = self.service.readings_wanted(user.user_id)
        fills = self.service.spec.fills
        replies: list[Reply] = []
        for filling in (True, False):
            group = {slot: w for slot, w in wanted.items() if bool(fills.get(slot)) == filling}
            if not group:
                continue
            event = self._read(group)
            if not event.documents or self._closed:
                break
            replies += self.handle(Incoming(delivery_key(user.user_id, group), user, event))
        return replies

    def _read(self, wanted: Mapping[str, tuple[str, str]]) -> DocumentsRead:
        sources: list[tuple[str, Path | bytes]] = []
        hashes: list[str] = []
        for slot, (storage_key, sha256) in wanted.items():
            try:
                sources.append((slot, self.service.documents.read(storage_key)))
                hashes.append(sha256)
            except Exception as exc:  # erased meanwhile, or unreadable: nothing to propose
                log.info("a %s was not read for a proposal: %s", slot, exc.__class__.__name__)
        readings = read_all(sources)
        fills = self.service.spec.fills
        return DocumentsRead(
            tuple(
                document_read(reading, sha256, fills.get(reading.kind, ()))
                for reading, sha256 in zip(readings, hashes, strict=True)
            )
        )


def document_read(reading: Reading, sha256: str, steps: tuple[str, ...]) -> DocumentRead:
    """What the core is told of one reading: the text read for each answer the photo fills
    in (nothing from a photo of another document or side than the one asked)."""
    values: dict[str, str] = {}
    if reading.text_read and not reading.side_wrong:
        for step_id in steps:
            field = FIELDS.get((reading.kind, step_id))
            value = field(reading) if field is not None else None
            if value:
                values[step_id] = value
    return DocumentRead(
        reading.kind,
        sha256,
        values,
        unreadable=reading.status == NO_TEXT,
        blurry=reading.image_blurry,
    )


def delivery_key(user_id: int, wanted: Mapping[str, tuple[str, str]]) -> str:
    """The event's key: the same stored uploads read again make the same event, applied once
    (a photo sent again is stored again, under a new key, and read afresh)."""
    uploads = "|".join(f"{slot}:{key}" for slot, (key, _sha256) in sorted(wanted.items()))
    return f"read:{user_id}:{hashlib.sha256(uploads.encode()).hexdigest()[:32]}"
