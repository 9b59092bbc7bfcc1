"""SQLAlchemy repositories for the audit trail and the back-office outbox."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cardbot.core.model import AuditEvent, Review
from cardbot.core.ports import Clock
from cardbot.db.models import AuditEventRow, WebhookOutboxRow


class SqlAuditLog:
    """Audit events in the database; rows are added, never changed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, event: AuditEvent) -> None:
        """Record one event."""
        self.session.add(
            AuditEventRow(
                number=event.number,
                event=event.event,
                actor_id=event.actor_id,
                at=event.at,
                data=dict(event.data),
            )
        )

    def history(self, number: str) -> list[AuditEvent]:
        """Every event of the application, oldest first."""
        rows = self.session.execute(
            select(AuditEventRow)
            .where(AuditEventRow.number == number)
            .order_by(AuditEventRow.at, AuditEventRow.id)
        ).scalars()
        return [AuditEvent(r.number, r.event, r.actor_id, r.at, dict(r.data or {})) for r in rows]

    def scrub(self, number: str, keep: frozenset[str]) -> None:
        """Drop every data field but `keep` from the application's events."""
        rows = self.session.execute(
            select(AuditEventRow).where(AuditEventRow.number == number)
        ).scalars()
        for row in rows:
            kept = {k: v for k, v in (row.data or {}).items() if k in keep}
            if kept != row.data:
                row.data = kept


class SqlOutbox:
    """Back-office notifications queued in the same transaction as the change they report."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def add(self, payload: dict[str, Any]) -> None:
        """Queue one notification for delivery."""
        now = self.clock.now()
        self.session.add(
            WebhookOutboxRow(
                payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )


def review_to_data(review: Review) -> dict[str, Any]:
    """The review state as JSON-safe data."""
    return {
        "reviewer_id": review.reviewer_id,
        "reviewer_name": review.reviewer_name,
        "reasons": list(review.reasons),
        "comment": review.comment,
        "requested": list(review.requested),
        "changed": list(review.changed),
        "digest": dict(review.digest),
        "round": review.round,
        "draft": review.draft,
        "decided_at": review.decided_at.isoformat() if review.decided_at else None,
        "reminded_round": review.reminded_round,
        "read_round": review.read_round,
        "notes": [dict(note) for note in review.notes],
        "note_waiting": list(review.note_waiting),
    }


def review_from_data(data: dict[str, Any] | None) -> Review:
    """The review state stored by review_to_data (missing keys take their defaults), sharing
    nothing mutable with `data` (a save compares the two)."""
    data = data or {}
    decided = data.get("decided_at")
    return Review(
        reviewer_id=data.get("reviewer_id"),
        reviewer_name=data.get("reviewer_name"),
        reasons=list(data.get("reasons") or ()),
        comment=data.get("comment"),
        requested=list(data.get("requested") or ()),
        changed=list(data.get("changed") or ()),
        digest=dict(data.get("digest") or {}),
        round=int(data.get("round") or 1),
        draft=copy.deepcopy(data.get("draft")),
        decided_at=datetime.fromisoformat(decided) if decided else None,
        reminded_round=int(data.get("reminded_round") or 0),
        read_round=int(data.get("read_round") or 0),
        notes=[dict(note) for note in data.get("notes") or ()],
        note_waiting=[int(user) for user in data.get("note_waiting") or ()],
    )
