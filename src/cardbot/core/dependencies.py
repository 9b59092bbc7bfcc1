"""What every part of the conversation may use: the dialogs, the ports and the settings.

Built once by `ConversationService` and handed to each turn as `turn.service`; defined low
in the import graph so that no part has to import the service (or another part) for them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from cardbot.core.faq_service import FaqService
from cardbot.core.flow import FlowMachine
from cardbot.core.ports import Clock, DocumentStore, ReportMaker, UnitOfWork
from cardbot.core.review.desk import ReviewDesk
from cardbot.core.spec import DialogSpec
from cardbot.core.workdays import WorkingCalendar


@dataclass(frozen=True)
class Dependencies:
    """The dialogs, the ports and the settings of one conversation service."""

    spec: DialogSpec
    flow: FlowMachine
    unit_of_work: Callable[[], UnitOfWork]
    documents: DocumentStore
    clock: Clock
    calendar: WorkingCalendar
    review: ReviewDesk
    faq: FaqService | None
    admin_ids: frozenset[int]
    support_chat_id: int | None
    # The review and the support group are the same team: one language for both.
    team_language: str
    retention_days: int
    reports: ReportMaker | None = None

    def delete_quietly(self, keys: list[str]) -> None:
        """Remove documents no longer needed; one already gone is not an error."""
        delete_quietly(self.documents, keys)


def delete_quietly(documents: DocumentStore, keys: list[str]) -> None:
    """Remove documents no longer needed from the store; one already gone is not an error."""
    for key in keys:
        with suppress(OSError):
            documents.delete(key)
