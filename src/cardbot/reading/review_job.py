"""The background reading of submitted packages for reviewers: each application waiting with
the reviewers is read once per round (every document photo in the reading pool), checked
against its typed answers, and the flags go on its review card. Runs outside the update path;
a document that cannot be read in time raises nothing."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from cardbot.core.model import Flag
from cardbot.core.ports import DocumentStore
from cardbot.core.replies import Reply
from cardbot.core.review.desk import ReviewDesk
from cardbot.core.review.readings import ReadingRequest
from cardbot.reading.crosscheck import crosscheck
from cardbot.reading.model import READABLE_KINDS
from cardbot.reading.pool import read_all

log = logging.getLogger(__name__)

# Applications read per round of the job; the rest wait for the next round.
READ_AT_ONCE = 4


def read_waiting(
    desk: ReviewDesk, documents: DocumentStore, limit: int = READ_AT_ONCE
) -> list[Reply]:
    """Read the packages waiting to be read and put their flags on the cards; returns the
    card edits (already in the outbox)."""
    replies: list[Reply] = []
    for request in desk.waiting_to_be_read(limit):
        flags = reading_flags(request, documents)
        replies += desk.note_readings(request, flags)
        log.info("read application %s: %d flags", request.application_id, len(flags))
    return replies


def reading_flags(request: ReadingRequest, documents: DocumentStore) -> list[Flag]:
    """The flags the application's document photos raise against its answers."""
    contents: list[tuple[str, Path | bytes]] = []
    for slot, (storage_key, _mime_type) in request.documents.items():
        if slot not in READABLE_KINDS:
            continue
        try:
            contents.append((slot, documents.read(storage_key)))
        except Exception as exc:  # gone (erased meanwhile) or unreadable: nothing to read
            log.info(
                "document of application %s not read: %s",
                request.application_id,
                exc.__class__.__name__,
            )
    readings = read_all(contents)
    found = crosscheck(request.answers, readings, date.fromisoformat(request.submitted_on))
    return [Flag(f.code, (), field=f.field, document=f.document) for f in found]
