"""The router: hands each event in a person's private chat to the part it belongs to — the
staff desk, a support follow-up, the applicant's flow, FAQ help, the support relay, privacy.

Parts are functions (or, for the staff desk, a small class) that take the `Turn`; the
router imports them and none of them imports the router, so a new applicant command is a
function and one line in COMMAND_HANDLERS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cardbot.core import flow as states
from cardbot.core import privacy
from cardbot.core.applicant import answers, navigation, submission
from cardbot.core.applicant.prefill import on_documents_read
from cardbot.core.applicant.uploads import on_file
from cardbot.core.asking import APPLY, prompt, refuse, role_help
from cardbot.core.events import (
    ButtonPress,
    Command,
    DocumentsRead,
    Event,
    FileUpload,
    Text,
    Unsupported,
)
from cardbot.core.faq_help import answer_faq_if_confident, on_faq_button, on_faq_list
from cardbot.core.languages import LANGUAGES
from cardbot.core.review.commands import REVIEW_COMMANDS
from cardbot.core.roles import REVIEWER
from cardbot.core.staff import ADMIN_COMMANDS, STAFF_COMMANDS, StaffDesk
from cardbot.core.support_relay import on_ask_person, on_follow_up
from cardbot.core.turn import Turn
from cardbot.core.typed_text import on_text


def on_help(turn: Turn) -> None:
    """List what the bot can do, then repeat the current question."""
    turn.say("help", commands=list(COMMANDS))
    if turn.roles():
        role_help(turn)
    prompt(turn)


# The applicant's commands, in the order /help lists them.
COMMAND_HANDLERS: Mapping[str, Callable[[Turn], None]] = {
    "start": navigation.on_start,
    "help": on_help,
    "status": submission.on_status,
    "summary": navigation.on_summary,
    "back": navigation.on_back,
    "cancel": submission.on_cancel,
    "lang": navigation.on_lang,
    "faq": on_faq_list,
    "mydata": privacy.my_data,
    "delete": privacy.ask_delete,
}
COMMANDS = tuple(COMMAND_HANDLERS)


class ApplicantHandoff:
    """The `Handoff` a turn is made with: back to the applicant's flow."""

    def prompt(self, turn: Turn) -> None:
        """Ask the current question again (or say where things stand)."""
        prompt(turn)

    def on_text(self, turn: Turn, text: str) -> None:
        """Take typed text as an answer, a question, or a call for a person."""
        on_text(turn, text)


HANDOFF = ApplicantHandoff()


def route(turn: Turn, event: Event) -> None:
    """Handle one event."""
    if isinstance(event, DocumentsRead):  # not the person's doing: only the flow hears it
        on_documents_read(turn, event)
        return
    if staff_event(turn, event):
        return
    if isinstance(event, Text) and on_follow_up(turn, event.text):
        return
    if turn.state == states.NEW and not _chooses_language_or_data(event):
        greet(turn, event)
        return
    match event:
        case Command(name=name):
            on_command(turn, name)
        case ButtonPress(data=data):
            on_button(turn, data)
        case Text(text=text):
            on_text(turn, text)
        case FileUpload(file=file):
            on_file(turn, file)
        case Unsupported(kind="edited"):
            on_edited(turn)
        case Unsupported(kind=kind):
            refuse(turn, "problems/unsupported_message", kind=kind)


def _chooses_language_or_data(event: Event) -> bool:
    """True for what a new person may do before the consent: a language, their data."""
    if isinstance(event, Command):
        return event.name in ("lang", *privacy.PRIVACY_COMMANDS)
    return isinstance(event, ButtonPress) and event.data.startswith(("lang:", "del:"))


def greet(turn: Turn, event: Event) -> None:
    """A new person's first event: staff and reviewers get their own help (and may still
    choose to apply); anyone else is welcomed and asked for consent. A question the FAQ
    can answer is answered first, for anyone."""
    if turn.roles() and event != ButtonPress(f"nav:{APPLY}"):
        if isinstance(event, Text) and answer_faq_if_confident(turn, event.text):
            return
        asked = event.name if isinstance(event, Command) else None
        role_help(turn, asked=asked if asked in REVIEW_COMMANDS else None)
        return
    if isinstance(event, Text):
        answer_faq_if_confident(turn, event.text)
    turn.fire("ask_consent")
    turn.say("welcome")
    prompt(turn)


def staff_event(turn: Turn, event: Event) -> bool:
    """Staff and admin commands, their buttons and their typed input; False otherwise."""
    desk = StaffDesk(turn)
    match event:
        case Command(name=name, args=args) if name in STAFF_COMMANDS + ADMIN_COMMANDS:
            desk.on_command(name, args)
        case ButtonPress(data=data) if data.split(":", 1)[0] in ("fa", "ua"):
            scope, _, value = data.partition(":")
            if not desk.on_button(scope, value):
                turn.stale()
        case Command(name="cancel") if turn.applicant.staff_action:
            desk.discard()
        case Text(text=text) if turn.applicant.staff_action:
            desk.on_text(text)
        case _:
            return False
    return True


def on_command(turn: Turn, name: str) -> None:
    """Handle a slash command."""
    handler = COMMAND_HANDLERS.get(name)
    if handler is None and name in REVIEW_COMMANDS and REVIEWER in turn.roles():
        role_help(turn, asked=name)
        if turn.in_flow():
            prompt(turn)
        return
    if handler is None:
        turn.say("unknown_command", name=name)
        prompt(turn)
        return
    handler(turn)


def on_button(turn: Turn, data: str) -> None:
    """Handle a button press; anything stale or forged changes nothing."""
    scope, _, value = data.partition(":")
    state = turn.state
    handled = False
    if scope == "consent" and state == states.CONSENT:
        handled = answers.on_consent(turn, value)
    elif scope == "cat" and state == states.CATEGORY:
        handled = answers.on_category(turn, value)
    elif scope == "pick":
        handled = answers.on_pick(turn, value)
    elif scope == "nav":
        handled = navigation.on_nav(turn, value)
    elif scope == "edit" and state == states.SUMMARY:
        handled = navigation.on_edit(turn, value)
    elif scope == "faq":
        handled = on_faq_button(turn, value)
    elif scope == "human":
        handled = on_ask_person(turn, value)
    elif scope == "del":
        handled = privacy.on_button(turn, value)
    elif scope == "lang" and value in LANGUAGES:
        navigation.on_language(turn, value)
        handled = True
    if not handled:
        turn.stale()


def on_edited(turn: Turn) -> None:
    """An answer edited in Telegram changes nothing: say how to change one instead."""
    if turn.in_flow():
        refuse(turn, "problems/edited_message", in_flow=True)
        return
    turn.say("problems/edited_message", in_flow=False)
    prompt(turn)
