"""Staff's list of the questions the FAQ could not answer: attach one to an entry (it is
answered from then on) or dismiss it. The staff desk checks the caller's role first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cardbot.core.faq import MAX_LISTED
from cardbot.core.replies import Button
from cardbot.core.text import parse_id

if TYPE_CHECKING:
    from cardbot.core.turn import Turn

UNANSWERED_SHOWN = 10
SUGGESTED_ENTRIES = 2


def list_unanswered(turn: Turn) -> None:
    """The most asked unanswered questions, each with attach and dismiss buttons."""
    questions = turn.uow.faq.unanswered(UNANSWERED_SHOWN)
    matcher = turn.faq_matcher()
    rows = tuple(
        (
            *(
                Button("", f"ua:t:{q.id}:{entry_id}", text=f"#{q.id} → {entry_id}")
                for entry_id in matcher.match(q.question).candidates[:SUGGESTED_ENTRIES]
            ),
            Button("", f"ua:a:{q.id}", text=f"#{q.id} ➕"),
            Button("", f"ua:d:{q.id}", text=f"#{q.id} ✖️"),
        )
        for q in questions
    )
    turn.say(
        "staff/unanswered",
        rows,
        questions=[
            {"id": q.id, "question": q.question, "language": q.language, "count": q.count}
            for q in questions
        ],
    )


def choose_entry_for(turn: Turn, question_id: str) -> bool:
    """Which entry should this question lead to?"""
    rows = tuple(
        (Button("", f"ua:t:{question_id}:{entry_id}", text=entry_id),)
        for entry_id in list(turn.faq_matcher().entries)[:MAX_LISTED]
    )
    turn.say("staff/attach_choose", rows, question=question_id)
    return True


def attach(turn: Turn, question_id: str, entry_id: str) -> bool:
    """Add the question to the entry as a variant; it is answered from now on."""
    entry = turn.faq_matcher().entries.get(entry_id)
    number = parse_id(question_id)
    if entry is None or number is None:
        return False
    question = turn.uow.faq.close_unanswered(number, "attached")
    if question is None:
        turn.say("staff/unanswered_gone")
        return True
    turn.uow.faq.save_entry(
        entry.with_question(question.language, question.question),
        turn.applicant.user_id,
        f"question {question.language} from unanswered #{question.id}",
    )
    turn.say("staff/attached", entry=entry_id, question=question.question)
    return True


def dismiss(turn: Turn, question_id: str) -> bool:
    """Drop an unanswered question from the list."""
    number = parse_id(question_id)
    if number is None:
        return False
    question = turn.uow.faq.close_unanswered(number, "dismissed")
    turn.say("staff/dismissed" if question else "staff/unanswered_gone")
    return True
