"""The ReportMaker of a running bot: makes each report in a thread of its own, away from the
updates, stores its files in the document store (encrypted, like every document) and posts the
finished message to the outbox, from where the sender delivers it like any other.

The files of a report are deleted from the store once a later report is made and they are
older than KEEP_FILES (the message has long been sent by then); with the database store the
hourly orphan sweep also removes them.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from cardbot.core.ports import Clock, DocumentStore, ReportOrder, UnitOfWork, post
from cardbot.core.replies import Attachment, Reply
from cardbot.core.report_desk import HTML_TYPE, PNG_TYPE, report_failed, report_ready
from cardbot.core.spec import DialogSpec
from cardbot.core.workdays import WorkingCalendar
from cardbot.report.build import write_report
from cardbot.report.queries import Period

log = logging.getLogger(__name__)
KEEP_FILES = timedelta(days=1)
LABELS = {"html": "report.document", "funnel": "report.funnel", "promise": "report.promise"}


class BackgroundReports:
    """Makes operations reports one at a time in a background thread."""

    def __init__(
        self,
        engine: Engine,
        spec: DialogSpec,
        calendar: WorkingCalendar,
        documents: DocumentStore,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.calendar = calendar
        self.documents = documents
        self.unit_of_work = unit_of_work
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardbot-report")
        self._stored: deque[tuple[datetime, list[str]]] = deque()
        self._lock = threading.Lock()

    def request(self, order: ReportOrder) -> None:
        """Make the report in the background; its message goes to the outbox when ready."""
        self._executor.submit(self.make, order)

    def make(self, order: ReportOrder) -> Reply:
        """Make the report now, store its files, post its message (or that it failed)."""
        started = time.monotonic()
        try:
            reply = self._made(order)
        except Exception as exc:  # a database or drawing failure: say so, never leave them waiting
            log.exception("report not made: %s", exc.__class__.__name__)
            reply = report_failed(order)
        with self.unit_of_work() as uow:
            post(uow, [reply], None)
            uow.commit()
        log.info("report for %s made in %.2f s", order.requested_by, time.monotonic() - started)
        return reply

    def close(self) -> None:
        """Finish the report being made, then stop."""
        self._executor.shutdown(wait=True)

    def _made(self, order: ReportOrder) -> Reply:
        period = Period(order.since, order.until, self.clock.now())
        with tempfile.TemporaryDirectory(prefix="cardbot-report-") as folder:
            written = write_report(
                self.engine, self.spec, self.calendar, period, Path(folder), order.language
            )
            files = [
                ("html", written.html, HTML_TYPE),
                *((name, path, PNG_TYPE) for name, path in written.images.items()),
            ]
            keys = []
            try:
                for name, path, mime_type in files:
                    keys.append((self.documents.put(path), mime_type, LABELS[name]))
            except Exception:
                self._delete([key for key, _, _ in keys])
                raise
        self._remember([key for key, _, _ in keys])
        attachments = tuple(Attachment(key, mime, label) for key, mime, label in keys)
        return report_ready(order, written.headline, attachments)

    def _remember(self, keys: list[str]) -> None:
        """Keep the new report's keys; delete the files of reports older than KEEP_FILES."""
        now = self.clock.now()
        with self._lock:
            old: list[str] = []
            while self._stored and self._stored[0][0] < now - KEEP_FILES:
                old += self._stored.popleft()[1]
            self._stored.append((now, keys))
        self._delete(old)

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.documents.delete(key)
            except OSError as exc:
                log.warning("report file not deleted: %s", exc.__class__.__name__)
