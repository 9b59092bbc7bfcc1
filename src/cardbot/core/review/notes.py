"""A reviewer's typed reply to one of the bot's messages: a decision's comment, or a note."""

from __future__ import annotations

from cardbot.core.clock import local_time
from cardbot.core.review.action import MAX_COMMENT, GroupAction
from cardbot.core.review.cards import close_prompt
from cardbot.core.review.team import NUMBER

MAX_NOTE = 1000


def on_reply(action: GroupAction, replied_to: str, text: str) -> None:
    """A reply to a card or a prompt: a comment or a note, if one was asked for."""
    found = NUMBER.search(replied_to)
    if found is None:
        return
    if not action.is_reviewer("reply"):
        action.say("review/not_reviewer")
        return
    app = action.uow.load_application(found.group(0))
    loaded = action.load(app.id) if app is not None and app.id is not None else None
    if loaded is None:
        action.say("review/reply_ignored", number=found.group(0))
        return
    app, applicant = loaded
    action.applicant = applicant
    user_id = action.user.user_id
    draft = app.review.draft
    text = text.strip()
    drafting = (
        draft is not None
        and draft.get("by") == user_id
        and draft["action"] in ("reject", "resubmit")
    )
    noting = user_id in app.review.note_waiting
    # A comment when asked for one, or when the reviewer preparing a decision replies to
    # the card; otherwise a note when one was asked for.
    awaiting_comment = drafting and ((draft or {}).get("awaiting") == "comment" or not noting)
    if not awaiting_comment and not noting:
        action.say("review/reply_ignored", number=app.number)
        return
    if not text or len(text) > MAX_COMMENT:
        action.say("review/text_too_long", number=app.number, limit=MAX_COMMENT)
        return
    team = action.team
    if awaiting_comment:
        assert draft is not None
        draft["comment"] = text
        if draft.pop("awaiting", None):
            action.replies.append(close_prompt(team, app, user_id, "comment", "received"))
    else:
        app.review.note_waiting.remove(user_id)
        action.replies.append(close_prompt(team, app, user_id, "note", "received"))
        app.review.notes.append(
            {
                "by": action.name,
                "text": text[:MAX_NOTE],
                "at": local_time(team.clock.now()).strftime("%m-%d %H:%M"),
            }
        )
        team.record(action.uow, app, "noted", user_id, note=text[:MAX_NOTE])
    action.edit_card(app)
    action.uow.save_applicant(applicant)
