"""FAQ help in the conversation: an entry's answer when the FAQ is sure (then the current
question again), the closest entries and a person to ask when it is not, the list of entries."""

from __future__ import annotations

from cardbot.core import flow as states
from cardbot.core.asking import prompt_after_answer
from cardbot.core.faq import MAX_LISTED, FaqEntry, FaqMatch
from cardbot.core.faq_terms import normalise
from cardbot.core.languages import DEFAULT_LANGUAGE
from cardbot.core.replies import Button
from cardbot.core.text import mask_digits
from cardbot.core.turn import ACCEPT, ASK_PERSON, Turn

MAX_QUESTION = 300
MIN_SUGGESTION_SCORE = 0.12


def faq_match(turn: Turn, text: str) -> FaqMatch | None:
    """What the FAQ makes of the text, if cardbot has an FAQ."""
    if turn.service.faq is None:
        return None
    return turn.faq_matcher().match(text)


def faq_is_sure(turn: Turn, text: str) -> bool:
    """True when the FAQ is sure which of its entries the text asks about."""
    match = faq_match(turn, text)
    return (
        match is not None
        and match.entry_id is not None
        and match.score >= turn.faq_matcher().settings.sure
    )


def answer_faq_if_confident(turn: Turn, text: str) -> bool:
    """Answer the question when the FAQ is sure which entry it is."""
    match = faq_match(turn, text)
    return (
        match is not None
        and match.entry_id is not None
        and answer_faq(turn, match.entry_id, "typed")
    )


def try_faq(
    turn: Turn, text: str, *, offer_help: bool, could_be_answer: bool = False, sure: bool = False
) -> bool:
    """Answer from the FAQ (then repeat the question), or, for a question it cannot
    answer, say so and offer the closest entries and a person. When the text could also
    be the current step's answer, a button takes it as that. With `sure`, only a match
    scoring at least the matcher's `sure` level is answered."""
    match = faq_match(turn, text)
    if match is None:
        return False
    if sure and match.score < turn.faq_matcher().settings.sure:
        return False
    if match.entry_id is not None and answer_faq(turn, match.entry_id, "typed"):
        if could_be_answer:
            offer_as_answer(turn, text)
        prompt_after_answer(turn)
        return True
    if not offer_help:
        return False
    say_unsure(turn, text, match, could_be_answer=could_be_answer)
    prompt_after_answer(turn)
    return True


def offer_as_answer(turn: Turn, text: str) -> None:
    """Keep the text, in case it was meant as the answer after all."""
    turn.applicant.pending_text = text
    turn.applicant.pending_action = ACCEPT
    turn.say(
        "use_as_answer",
        ((Button("button.use_as_answer", turn.step_data("accept")),),),
        text=text,
    )


def answer_faq(turn: Turn, entry_id: str, how: str) -> bool:
    """Send one FAQ entry's answer, in the applicant's language where it exists, counting
    it for the report as asked `how`: typed (a question it matched) or chosen (a button)."""
    faq = turn.service.faq
    assert faq is not None
    entry = turn.faq_matcher().entries.get(entry_id)
    if entry is None:
        return False
    turn.trouble[("faq", entry_id, how)] += 1
    language = turn.applicant.language
    source = entry.answers.get(language) or entry.answers[DEFAULT_LANGUAGE]
    support = turn.service.support_chat_id is not None
    context = faq.answer_context(turn.applicant, turn.today(), support=support)
    more = ((Button("button.more_questions", "faq:list"),),)
    turn.replies.append(turn.reply_from_source(source, context, language, more))
    return True


def say_unsure(turn: Turn, text: str, match: FaqMatch, *, could_be_answer: bool) -> None:
    """Say the FAQ is not sure: the closest entries as buttons, a person to ask, and (when
    the text could be the step's answer) a button to take it as that."""
    assert turn.service.faq is not None
    applicant = turn.applicant
    language = applicant.language
    consented = applicant.consent_at is not None
    turn.trouble[("faq", "", "unanswered")] += 1
    if consented:
        turn.uow.faq.record_unanswered(mask_digits(normalise(text))[:MAX_QUESTION], language)
    entries = turn.faq_matcher().entries
    suggest = match.score >= MIN_SUGGESTION_SCORE
    rows: list[tuple[Button, ...]] = [
        (Button("", f"faq:{entry_id}", text=first_question(entries[entry_id], language)),)
        for entry_id in (match.candidates if suggest else ())
    ]
    actions = set()
    can_ask = consented and turn.service.support_chat_id is not None
    if can_ask:
        rows.append((Button("button.ask_person", "human:ask"),))
        actions.add(ASK_PERSON)
    if could_be_answer:
        rows.append((Button("button.use_as_answer", turn.step_data("accept")),))
        actions.add(ACCEPT)
    if actions:
        applicant.pending_text = text
        applicant.pending_action = " ".join(sorted(actions))
    turn.say(
        "faq_unsure",
        tuple(rows),
        suggestions=bool(rows) and suggest,
        can_ask_person=can_ask,
    )


def on_faq_list(turn: Turn) -> None:
    """Every FAQ entry as a button."""
    if turn.service.faq is None:
        turn.say("faq_list", ())
        return
    language = turn.applicant.language
    entries = list(turn.faq_matcher().entries.values())[:MAX_LISTED]
    rows = tuple(
        (Button("", f"faq:{entry.id}", text=first_question(entry, language)),) for entry in entries
    )
    turn.say("faq_list", rows)


def on_faq_button(turn: Turn, value: str) -> bool:
    """An entry chosen from the list or the suggestions."""
    if value == "list":
        on_faq_list(turn)
        return True
    if turn.service.faq is None or not answer_faq(turn, value, "chosen"):
        return False
    if turn.state != states.NEW:
        prompt_after_answer(turn)
    return True


def faq_refuses_subject(turn: Turn, text: str) -> bool:
    """True when the FAQ finds the text is about another product (10086's human service)."""
    match = faq_match(turn, text)
    return match is not None and match.reason.startswith("other:")


def first_question(entry: FaqEntry, language: str) -> str:
    """The entry's first question in `language` (else in Chinese), else its id."""
    questions = entry.questions.get(language) or entry.questions.get(DEFAULT_LANGUAGE) or ()
    return questions[0] if questions else entry.id
