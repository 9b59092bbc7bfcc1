"""The whole package for one reviewer's private chat: every answer in full, every document."""

from __future__ import annotations

from cardbot.core.model import Application
from cardbot.core.ports import UnitOfWork
from cardbot.core.replies import Attachment, Reply
from cardbot.core.review.flags import flags_context, refresh_flags
from cardbot.core.review.team import ReviewTeam


def dossier(team: ReviewTeam, app: Application, chat_id: int) -> Reply:
    """The whole current package for one reviewer's private chat: every answer in full
    and every document, the items renewed in the last resubmission marked."""
    steps = team.spec.applicable_steps(app.category, app.answers)
    changed = set(app.review.changed) if app.review.round > 1 else set()
    answers = [
        {
            "step": s.id,
            "kind": s.kind,
            "value": app.answers.get(s.id, ""),
            "changed": s.id in changed,
        }
        for s in steps
        if s.kind != "document" and app.answers.get(s.id)
    ]
    documents = tuple(
        Attachment(
            app.documents[slot].storage_key,
            app.documents[slot].mime_type,
            f"document.{slot}",
        )
        for step in steps
        if step.kind == "document"
        for slot in step.slots
        if slot in app.documents
    )
    return Reply(
        "review/dossier",
        chat_id,
        team.language,
        {
            "number": app.number,
            "category": app.category,
            "status": app.status.value,
            "round": app.review.round,
            "answers": answers,
            "changed": sorted(changed),
            "document_count": len(documents),
            "flags": flags_context(app.flags),
        },
        attachments=documents,
    )


def send_dossier(
    team: ReviewTeam,
    uow: UnitOfWork,
    app: Application,
    reviewer_id: int,
    actor: int | None,
    why: str,
) -> Reply | None:
    """The package for a reviewer's private chat (audited), or None when they have never
    started the bot (Telegram lets a bot write only to people who did)."""
    private = uow.load_applicant(reviewer_id)
    if private is None or private.chat_id <= 0:
        return None
    team.record(uow, app, "documents_sent", actor, to=reviewer_id, why=why)
    refresh_flags(uow, app)
    return dossier(team, app, private.chat_id)
