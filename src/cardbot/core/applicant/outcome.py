"""A reviewer's step reaching the applicant (in review, further checks, a decision, items to
redo), and applying again after a rejection that is not final."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cardbot.core import flow as states
from cardbot.core.applicant.answers import set_answer
from cardbot.core.asking import prompt
from cardbot.core.model import Application, Status
from cardbot.core.replies import Button
from cardbot.core.turn import Turn


def announce(turn: Turn, outcome: str) -> None:
    """Tell the applicant about a reviewer's step, and move them where it leads."""
    app = turn.app
    team = turn.service.review.team
    language = turn.applicant.language
    context: dict[str, Any] = {"number": app.number, **team.notice_context(app)}
    if outcome in ("approved", "rejected"):
        if not turn.fire("close"):
            turn.applicant.state = states.IDLE
        reasons = team.reasons_for_applicant(app, language)
        final = team.is_final(app)
        rows: list[tuple[Button, ...]] = []
        if outcome == "rejected" and not final:
            rows.append((Button("button.reapply", "nav:reapply"),))
        rows.append((Button("button.more_questions", "faq:list"),))
        if outcome == "rejected" and turn.service.support_chat_id is not None:
            rows.append((Button("button.ask_person", "human:person"),))
        turn.say(
            f"decision/{outcome}",
            tuple(rows),
            reasons=reasons,
            comment=app.review.comment,
            final=final,
            **context,
        )
    elif outcome == "resubmission_requested":
        if not turn.fire("reopen"):
            turn.applicant.state = states.SUMMARY
            turn.model.state = states.SUMMARY
        turn.say(
            "decision/resubmit",
            reasons=team.reasons_for_applicant(app, language),
            comment=app.review.comment,
            items=list(app.review.requested),
            **context,
        )
        turn.fire("advance")
        prompt(turn)
    else:
        turn.say(f"decision/{outcome}", **context)


def on_reapply(turn: Turn) -> bool:
    """After a rejection that is not final: a new application with what is still valid."""
    old = turn.applicant.application
    if turn.state != states.IDLE or old is None or old.status != Status.REJECTED:
        return False
    if turn.service.review.team.is_final(old):
        return False
    spec, store = turn.spec, turn.service.documents
    reasons = [spec.reasons[r] for r in old.review.reasons if r in spec.reasons]
    invalid = {item for reason in reasons for item in reason.items}
    new = Application(category=old.category, created_at=turn.service.clock.now())
    turn.applicant.application = new
    for step in spec.applicable_steps(old.category, old.answers):
        if step.id in invalid:
            continue
        if step.kind != "document" and step.id in old.answers:
            set_answer(turn, step.id, old.answers[step.id])
        for slot in step.slots:
            doc = old.documents.get(slot)
            if doc is None:
                continue
            with store.local_path(doc.storage_key) as path:
                key = store.put(path)
            turn.stored_keys.append(key)
            new.documents[slot] = replace(doc, storage_key=key)
    turn.fire("start_over")
    turn.fire("advance")
    turn.say("reapply_started", number=old.number, dropped=sorted(invalid))
    prompt(turn)
    return True
