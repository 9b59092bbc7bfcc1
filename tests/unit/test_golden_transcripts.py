"""Golden transcripts: every message people see, in both languages, in every state.

Each scenario plays people through the core (applicants, a reviewer, staff, an admin) and
writes down what they do and what they then read, as Telegram displays it. The transcripts are
kept in tests/golden/ and reviewed like code: a change to any message shows as a diff there.
After an intended change, rewrite them with

    CARDBOT_GOLDEN_UPDATE=1 .venv/bin/pytest tests/unit/test_golden_transcripts.py

and read the diff before committing. Every template must appear in some transcript, and every
message is screened for faults a reader would notice (glued lines, empty bullets, markup).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cardbot.core.model import Flag
from cardbot.core.ports import ReportOrder
from cardbot.core.replies import Attachment, Reply
from cardbot.core.report_desk import period, report_ready
from cardbot.core.roles import REVIEWER
from cardbot.core.roles import STAFF as STAFF_ROLE
from tests.support import files
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE, VALID_USCC, Harness
from tests.support.transcript import Play, golden_path, screen_problems, shown_problems

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("CARDBOT_GOLDEN_UPDATE") == "1"
LANGUAGES = {"zh": "zh-hans", "en": "en"}
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing
REVIEW_GROUP = -100777
# What reading an ID card can find (the reading itself is tests/integration's).
READ_FLAGS = [
    Flag("name_mismatch", (), field="full_name", document="id_front"),
    Flag("id_expired", (), document="id_back"),
]
SUPPORT_GROUP = -100888
ADMIN = 9001
STAFF = 9002
NEW_STAFF = 9003
REVIEWER_ID = 9101
REPORT_HEADLINE = {
    "started": 41,
    "submitted": 30,
    "approved": 21,
    "rejected": 4,
    "median_working_days": 4,
    "p90_working_days": 11,
    "share_within_10": 0.875,
    "overdue_now": 2,
}
REPORT_FILES = (
    Attachment("0" * 32, "text/html", "report.document"),
    Attachment("1" * 32, "image/png", "report.funnel"),
    Attachment("2" * 32, "image/png", "report.promise"),
)
# What people type, which may contain anything; the screen checks judge only the bot's words.
TYPED = ("<b>Acme</b> & Co", "我们在深圳 <b>总部</b>")


def stage(tmp_path: Path, lang: str, *, reading: bool = False) -> Play:
    """The whole cast on one core: the FAQ, a review group, a support group, roles granted;
    with `reading`, the flow of documents read (CARDBOT_OCR on).

    The groups work in the scenario's language too, so that both languages of their messages
    are shown.
    """
    chat = Harness(
        tmp_path,
        reading=reading,
        now=NOW,
        with_faq=True,
        review_language=lang,
        admin_ids=frozenset({ADMIN}),
        support_chat_id=SUPPORT_GROUP,
        review_chat_id=REVIEW_GROUP,
    )
    with chat.unit_of_work() as uow:
        uow.roles.grant(REVIEWER_ID, REVIEWER, None)
        uow.roles.grant(STAFF, STAFF_ROLE, None)
        uow.commit()
    return Play(chat, chats={REVIEW_GROUP: "review group", SUPPORT_GROUP: "support group"})


def words(lang: str, zh: str, en: str) -> str:
    """What a person writing in `lang` would type."""
    return zh if lang == "zh" else en


# -- scenarios -----------------------------------------------------------------------------------


def individual(play: Play, lang: str) -> None:
    """An individual applies with a resident ID, asks questions on the way, and is approved."""
    me = play.person("applicant", 1001, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap("cat:individual")
    play.note("typing answers, one mistake each")
    play.say("张三3")
    play.say("张三")
    play.tap("pick:id_type:resident_id")
    play.say("110105194912310021")
    play.say("11010520081201001X")
    play.say(VALID_ID)
    play.say(words(lang, "多久能批下来？", "How long does approval take?"))
    play.say("12345")
    play.say(VALID_PHONE)
    play.edit("李四")
    play.note("the two sides of the ID card as an album")
    play.upload(files.photo(seed=1), "front.jpg", group="album-1")
    play.upload(files.photo(seed=2), "back.jpg", group="album-1")
    play.command("status")
    play.command("mydata")
    play.tap("nav:submit")
    play.note("after submission")
    play.command("status")
    play.command("start")
    play.command("help")
    play.say(words(lang, "审批需要多长时间？", "How long does the review take?"))
    play.command("cancel")
    play.edit("张三丰")


def enterprise(play: Play, lang: str) -> None:
    """An enterprise applies with every document, going back once and editing from the summary."""
    me = play.person("applicant", 1002, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap("cat:enterprise")
    play.say("王芳")
    play.tap("pick:id_type:resident_id")
    play.say(VALID_ID)
    play.say(VALID_PHONE)
    play.note("company details, one mistake each, and a file sent too early")
    play.upload(files.photo(seed=10), "front.jpg")
    play.say("Acme " * 30)
    play.say("<script>")
    play.say("<b>Acme</b> & Co")
    play.say("Acme & Co., Ltd.")
    play.say("N2350100MA32MBW05D")
    play.say(VALID_USCC)
    play.tap("nav:back")
    play.tap("nav:keep")
    play.say(words(lang, "很多", "lots"))
    play.say("300")
    play.note("the ID card side by side, with a wrong file first")
    play.upload(files.zip_archive(), "id.zip")
    play.upload(files.photo(seed=11), "front.jpg")
    play.upload(files.photo(seed=12), "back.jpg")
    play.note("the licence and the tax registration")
    play.upload(files.encrypted_pdf(), "licence.pdf")
    play.upload(files.pdf(), "licence.pdf")
    play.upload(files.photo(seed=13, fmt="PNG"), "tax.png")
    play.note("changing an answer from the summary")
    play.tap("nav:edit")
    play.tap("edit:phone")
    play.say("13900139000")
    play.tap("nav:submit")
    play.command("status")


def small_business(play: Play, lang: str) -> None:
    """A small business skips the optional tax registration and cancels, then starts again."""
    me = play.person("applicant", 1003, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap("cat:small_business")
    play.say("Li Lei")
    play.tap("pick:id_type:resident_id")
    play.say(VALID_ID)
    play.say(VALID_PHONE)
    play.say("小微商贸有限公司")
    play.say(VALID_USCC)
    play.upload(files.photo(seed=21), "front.jpg", group="album-21")
    play.upload(files.photo(seed=22), "back.jpg", group="album-21")
    play.upload(files.pdf(), "licence.pdf")
    play.tap("nav:skip")
    play.tap("nav:back")  # a button of the answered question: refused
    play.command("back")
    play.tap("nav:keep")
    play.note("cancelling, then starting again")
    play.command("cancel")
    play.tap("nav:cancel_no")
    play.command("cancel")
    play.tap("nav:cancel_yes")
    play.command("cancel")
    play.command("start")


def passport(play: Play, lang: str) -> None:
    """A foreign individual applies with a passport, and files are refused until one is right."""
    me = play.person("applicant", 1004, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap("cat:individual")
    play.say("John Smith")
    play.tap("pick:id_type:passport")
    play.say("??")
    play.say("E12345678")
    play.say("+44 20 7946 0958")
    play.note("the passport page: text, a sticker, then bad files")
    play.say("我的护照在这里")
    play.sticker()
    play.upload(b"", "empty.jpg")
    play.upload(files.blank_photo(), "blank.jpg")
    play.upload(files.tiny_photo(), "tiny.jpg")
    play.upload(files.truncated_photo(), "broken.jpg")
    play.upload(files.windows_executable(), "passport.exe")
    play.upload(files.many_page_pdf(40), "book.pdf")
    play.upload(files.photo(seed=31), "passport.jpg")
    play.tap("nav:submit")


def review_approved(play: Play, lang: str) -> None:
    """A reviewer claims, notes, reveals and approves; the applicant is told at once."""
    submitted(play, lang, 1005)
    play.note("the documents are read in the background: what they say goes on the card")
    desk = play.chat.service.review
    for request in desk.waiting_to_be_read(5):
        for reply in desk.note_readings(request, READ_FLAGS):
            play.show(reply)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).command("queue")
    play.command("show", "DX-2026-000001")
    play.tap("rv:1:claim")
    play.tap("rv:1:note")
    prompt = play.last_in[REVIEW_GROUP]
    play.reply(prompt, "电话已核实 <ok>")
    play.tap("rv:1:docs")  # never started the bot privately: told how, in the group
    play.press("rv:1:reveal", "the show-ID button of a card posted before cards were masked")
    play.tap("rv:1:investigate")
    play.tap("rv:1:investigate_ok")
    play.tap("rv:1:approve")
    play.tap("rv:1:back")
    play.tap("rv:1:approve")
    play.tap("rv:1:approve_ok")
    play.press("rv:1:approve_ok", "the old confirm button again")
    play.command("help")
    play.note("the reviewer writes to the bot privately")
    private = play.person("reviewer", REVIEWER_ID, LANGUAGES[lang])
    play.as_(private).command("queue")
    play.say(words(lang, "你好", "hello"))
    stranger = play.member("someone else", 4242, REVIEW_GROUP, "review group")
    play.as_(stranger).press("rv:1:claim", "a card button")
    play.command("queue")
    applicant = play.person("applicant", 1005, LANGUAGES[lang])
    play.as_(applicant).command("status")
    play.command("mydata")


def review_resubmission(play: Play, lang: str) -> None:
    """A reviewer asks for the licence again with a comment; the applicant sends it; approved."""
    play.note("the reviewer has started the bot privately, so documents reach them there")
    private = play.person("reviewer", REVIEWER_ID, LANGUAGES[lang])
    play.as_(private).command("start")
    submitted(play, lang, 1006, category="enterprise")
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).tap("rv:1:claim")
    play.tap("rv:1:resubmit")
    play.press("rv:1:send", "an old confirm button of another draft")
    play.tap("rv:1:i:business_license")
    play.tap("rv:1:comment")
    play.reply(play.last_in[REVIEW_GROUP], "请拍清楚印章")
    play.tap("rv:1:s:unreadable")
    applicant = play.person("applicant", 1006, LANGUAGES[lang])
    play.as_(applicant).command("status")
    play.say("王芳")
    play.upload(files.pdf(), "licence-clear.pdf")
    play.tap("nav:submit")
    play.as_(reviewer).tap("rv:1:claim")
    play.tap("rv:1:docs")
    play.tap("rv:1:approve")
    play.tap("rv:1:approve_ok")


def review_rejected(play: Play, lang: str) -> None:
    """One application is rejected for a reason that can be fixed, another for good."""
    submitted(play, lang, 1007)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).tap("rv:1:claim")
    play.tap("rv:1:reject")
    play.press("rv:1:send", "an old send button, before any reason")
    play.tap("rv:1:r:expired")
    play.tap("rv:1:send")
    applicant = play.person("applicant", 1007, LANGUAGES[lang])
    play.as_(applicant).tap("nav:reapply")
    play.command("status")
    play.note("a second applicant, rejected for good")
    submitted(play, lang, 1008)
    play.note("the queue filtered: flagged, unclaimed, and a filter it does not know")
    play.as_(reviewer).command("queue", "flagged")
    play.command("queue", "unclaimed")
    play.command("queue", "everything")
    play.note("the reviewer starts the bot privately: the package with its flags comes there")
    play.as_(play.person("reviewer", REVIEWER_ID, LANGUAGES[lang])).command("start")
    play.as_(reviewer).tap("rv:3:claim")  # application 2 is the first one's new draft
    play.tap("rv:3:reject")
    play.tap("rv:3:r:false_information")
    play.tap("rv:3:send")
    other = play.person("second applicant", 1008, LANGUAGES[lang])
    play.note("the rejection notice's button to a person, then the question for them")
    play.as_(other).tap("human:person")
    play.say(words(lang, "为什么说我的信息不真实？", "Why do you say my information was false?"))
    play.command("status")
    play.command("start")


def review_claims(play: Play, lang: str) -> None:
    """Claims change hands: released by the claimer, reassigned by an admin, freed on revoke."""
    submitted(play, lang, 1020)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).tap("rv:1:claim")
    play.command("mine")
    play.tap("rv:1:release")
    play.command("mine")
    play.command("assign", f"DX-2026-000001 {REVIEWER_ID}")
    admin = play.member("admin", ADMIN, REVIEW_GROUP, "review group")
    play.as_(admin).command("assign", "DX-2026-000001 4242")
    play.command("assign", "DX-2026-000001")
    play.command("assign", f"DX-2026-000001 {REVIEWER_ID}")
    play.note("the admin revokes the reviewer role in a private chat: the claim is freed")
    private = play.person("admin", ADMIN, LANGUAGES[lang])
    play.as_(private).command("revoke", f"{REVIEWER_ID} reviewer")


def withdrawn_and_deleted(play: Play, lang: str) -> None:
    """Asked for more, an applicant withdraws instead, then looks at their data and deletes it."""
    submitted(play, lang, 1009)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).tap("rv:1:claim")
    play.tap("rv:1:resubmit")
    play.press("rv:1:s:unreadable", "an old reason button, before any item")
    play.tap("rv:1:i:id_card")
    play.tap("rv:1:s:unreadable")
    me = play.person("applicant", 1009, LANGUAGES[lang])
    play.as_(me).command("cancel")
    play.tap("nav:cancel_no")
    play.command("cancel")
    play.tap("nav:cancel_yes")
    play.command("status")
    play.command("delete")
    play.tap("del:no")
    play.command("delete")
    play.tap("del:yes")
    play.command("mydata")
    play.command("status")


def purged(play: Play, lang: str) -> None:
    """An approved application past the retention period: only its number and status remain."""
    submitted(play, lang, 1010)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).tap("rv:1:claim")
    play.tap("rv:1:approve")
    play.tap("rv:1:approve_ok")
    play.chat.clock.current += timedelta(days=200)
    play.note("200 days later, after the retention purge")
    assert play.chat.service.privacy.purge().numbers == ["DX-2026-000001"]
    me = play.person("applicant", 1010, LANGUAGES[lang])
    play.as_(me).command("status")
    play.command("mydata")


def estimate(play: Play, lang: str) -> None:
    """Submitted on Christmas Eve: the window reaches a year with no published holidays."""
    play.chat.clock.current = datetime(2026, 12, 24, 2, 0, tzinfo=UTC)
    submitted(play, lang, 1011)
    me = play.person("applicant", 1011, LANGUAGES[lang])
    play.as_(me).command("status")
    play.say(words(lang, "多久能批下来", "when will I get a result"))
    play.chat.clock.current = datetime(2027, 1, 7, 2, 0, tzinfo=UTC)
    play.note("eight working days later: the reviewers are reminded")
    for reply in play.chat.service.review.reminders():
        play.show(reply)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).command("queue")
    play.command("queue", "overdue")


def questions(play: Play, lang: str) -> None:
    """An applicant asks questions, browses the FAQ, asks a person and gets an answer."""
    me = play.person("applicant", 1012, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap("cat:individual")
    play.say(words(lang, "被拒绝了怎么办", "what if I am rejected"))
    play.say(words(lang, "你们公司在哪个城市？", "Where is your company located?"))
    play.tap("human:")
    play.command("faq")
    play.tap("faq:legality")
    play.say("x" * 1200)
    play.command("lang")
    play.tap("lang:en" if lang == "zh" else "lang:zh")
    play.command("nonsense")
    staff = play.member("staff member", STAFF, SUPPORT_GROUP, "support group")
    question = play.messages[-1]
    for message in play.messages:
        if message.chat_id == SUPPORT_GROUP:
            question = message
    stranger = play.member("someone", 4242, SUPPORT_GROUP, "support group")
    play.as_(stranger).reply(question, "spam")
    play.as_(staff).reply(question, "我们在深圳 <b>总部</b>")
    play.note("the applicant replies to the answer: it goes to the same ticket, not the FAQ")
    play.as_(me).say(words(lang, "周末也办公吗", "Are you open at weekends too"))
    follow_up = play.last_in[SUPPORT_GROUP]
    play.as_(staff).reply(follow_up, "周末不办公")
    play.note("asking for a person in words, at any point")
    play.as_(me).say(words(lang, "别说了，叫个人来", "I want to talk to a person"))


def staff_desk(play: Play, lang: str) -> None:
    """An admin grants roles; staff edit, add, roll back FAQ entries and sort unanswered ones."""
    me = play.person("applicant", 1013, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.say(words(lang, "可以开发票吗？", "Can I get an invoice?"))
    play.command("grant", "5 staff")
    admin = play.person("admin", ADMIN, LANGUAGES[lang])
    play.as_(admin).command("roles")
    play.command("grant", "five staff")
    play.command("grant", f"{NEW_STAFF} staff")
    play.command("grant", f"{NEW_STAFF} staff")
    play.command("grant", "77 reviewer")
    play.command("revoke", "77 reviewer")
    play.command("roles")
    staff = play.person("staff", NEW_STAFF, LANGUAGES[lang])
    play.as_(staff).command("faqadmin")
    play.tap("fa:e:legality")
    play.tap("fa:a:legality:zh")
    play.say("Hello {{ nobody.knows }")
    play.say("新的回答：请向<b>运营商</b>核实。")
    play.tap("fa:pub")
    play.tap("fa:list")
    play.tap("fa:e:legality")
    play.tap("fa:h:legality")
    play.tap("fa:r:legality:1")
    play.command("faqadmin")
    play.tap("fa:e:check-status")
    play.tap("fa:q:check-status:zh")
    play.say("能不能用座机接收通知")
    play.command("faqadmin")
    play.tap("fa:new")
    play.say("Bad Id!")
    play.say("payment-methods")
    play.say("可以用什么方式付款？")
    play.say("How can I pay?")
    play.say("支持银行转账。")
    play.say("Bank transfer is accepted.")
    play.tap("fa:drop")
    play.command("unanswered")
    play.tap("ua:a:")
    play.tap("ua:t:")
    play.command("unanswered")
    play.press("ua:t:1:legality", "an old button")
    play.note("the operations report: an applicant may not have it; staff get it made")
    play.as_(me).command("report")
    play.as_(staff).command("report")  # no report maker on this stage: it cannot be made
    order = ReportOrder(staff.user.chat_id, lang, NOW - timedelta(days=30), NOW, NEW_STAFF)
    play.note("where a report maker runs: the order is taken, then the report arrives")
    play.show_made_elsewhere(
        Reply("staff/report_started", staff.user.chat_id, lang, context=period(order))
    )
    play.show_made_elsewhere(report_ready(order, REPORT_HEADLINE, REPORT_FILES))


def edges(play: Play, lang: str) -> None:
    """The unusual turns: declining, going back too far, odd files, too many questions."""
    me = play.person("applicant", 1014, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:no")
    play.tap("nav:start")
    play.tap("consent:yes")
    play.command("back")
    play.tap("cat:individual")
    play.say("赵六")
    play.say(words(lang, "随便", "whatever"))
    play.tap("pick:id_type:passport")
    play.say("A1")
    play.say("E98765432")
    play.command("start")
    play.say(VALID_PHONE)
    play.note("files that cannot be taken")
    play.upload(files.photo(seed=41), "huge.jpg", declared_size=30 * 1024 * 1024, lost=True)
    play.upload(files.photo(seed=41), "lost.jpg", lost=True)
    play.upload(files.broken_pdf(), "broken.pdf")
    with files.tight_check_limits():  # a file that takes seconds to read: certainly too long
        play.upload(files.object_stream_pdf(300_000), "complex.pdf")
    play.upload(files.many_page_pdf(60), "book.pdf")
    play.upload(files.photo(seed=42), "a.jpg", group="album-3")
    play.upload(files.photo(seed=43), "b.jpg", group="album-3")
    play.upload(files.photo(seed=44), "c.jpg", group="album-3")
    play.press("nav:reapply", "a button from long ago")
    play.note("asking for a person more often than support can answer")
    for attempt in range(7):
        play.say(
            words(
                lang,
                f"第{attempt}个问题：你们在哪里办公？",
                f"Question {attempt}: where is your company located?",
            )
        )
        play.tap("human:")
    play.note("a second applicant sends the same photo for both sides of the ID card")
    other = play.person("second applicant", 1016, LANGUAGES[lang])
    play.as_(other).command("start")
    play.tap("consent:yes")
    play.tap("cat:individual")
    play.say("钱七")
    play.tap("pick:id_type:resident_id")
    play.say(VALID_ID)
    play.say(VALID_PHONE)
    play.upload(files.photo(seed=45), "front.jpg")
    play.upload(files.photo(seed=45), "front-again.jpg")
    play.upload(files.photo(seed=46), "back.jpg")
    play.note("the stored back side is damaged before submission: the final check catches it")
    documents = play.chat.documents.blobs
    documents[max(documents)] = files.truncated_photo()
    play.tap("nav:submit")


def bridge(play: Play, lang: str) -> None:
    """What the Telegram bridge says on its own: too many messages at once, an internal error."""
    me = play.person("applicant", 1017, LANGUAGES[lang])
    play.as_(me).command("start")
    play.note("the bridge, when messages come faster than one person can type")
    play.show(Reply("slow_down", me.user.chat_id, lang))
    play.note("the bridge, when handling an update failed")
    play.show(Reply("error", me.user.chat_id, lang))


def desk_edges(play: Play, lang: str) -> None:
    """The review and support groups' unusual turns: usage errors, stray replies, erased data."""
    submitted(play, lang, 1015)
    reviewer = play.member("reviewer", REVIEWER_ID, REVIEW_GROUP, "review group")
    play.as_(reviewer).command("show")
    play.command("show", "DX-2026-000999")
    play.command("show", "1")
    card = play.last_in[REVIEW_GROUP]
    play.reply(card, "looks fine")
    play.tap("rv:1:claim")
    play.tap("rv:1:reject")
    play.tap("rv:1:r:other")
    play.tap("rv:1:comment")
    prompt = play.last_in[REVIEW_GROUP]
    play.reply(prompt, "x" * 1100)
    play.tap("rv:1:back")
    play.press("rv:1:bogus", "a forged button")
    play.press("rv:999:claim", "a button of an application that does not exist")
    play.note("a question for support from the same applicant, who then deletes everything")
    me = play.person("applicant", 1015, LANGUAGES[lang])
    play.as_(me).say(words(lang, "你们在哪里办公？", "Where is your company located?"))
    play.tap("human:")
    question = [m for m in play.messages if m.chat_id == SUPPORT_GROUP][-1]
    play.command("delete")
    play.tap("del:yes")
    staff = play.member("staff member", STAFF, SUPPORT_GROUP, "support group")
    play.as_(staff).reply(question, "在深圳")
    play.note("staff sort the unanswered questions")
    desk = play.person("staff", STAFF, LANGUAGES[lang])
    play.as_(desk).command("unanswered")
    play.tap("ua:d:")
    play.command("faqadmin")
    play.tap("fa:e:legality")
    play.tap("fa:q:legality:zh")
    play.say("问" * 400)


# -- documents read (CARDBOT_OCR on): documents first, what is read proposed ----------------
READ_ID = {"id_front": {"full_name": "王芳", "id_number": VALID_ID}}
READ_LICENCE = {"business_license": {"company_name": "Acme Trading Co., Ltd.", "uscc": VALID_USCC}}


def id_card_read(play: Play, lang: str, user_id: int, category: str) -> None:
    """An applicant of `category` begins, types the phone number, sends the ID card as an
    album, and is shown what was read off it."""
    me = play.person("applicant", user_id, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap(f"cat:{category}")
    play.say(VALID_PHONE)
    play.upload(files.photo(seed=user_id), "front.jpg", group=f"album-{user_id}")
    play.upload(files.photo(seed=user_id + 1), "back.jpg", group=f"album-{user_id}")
    play.photos_read(READ_ID)


def prefill_individual(play: Play, lang: str) -> None:
    """An individual applies in six own actions: the name and ID number are read off the ID
    card's photo and confirmed, with the submission, in one tap."""
    id_card_read(play, lang, 1101, "individual")
    play.tap("nav:prefill")
    play.command("status")


def prefill_enterprise(play: Play, lang: str) -> None:
    """An enterprise applies in eleven own actions: the ID card and the licence are read and
    confirmed, only the phone and the call volume are typed."""
    id_card_read(play, lang, 1102, "enterprise")
    play.tap("nav:prefill")
    play.upload(files.photo(seed=13), "licence.jpg")
    play.photos_read(READ_LICENCE)
    play.tap("nav:prefill")
    play.say("300")
    play.upload(files.photo(seed=14, fmt="PNG"), "tax.png")
    play.tap("nav:submit")


def prefill_edges(play: Play, lang: str) -> None:
    """What reading cannot settle: a passport instead of the ID card, a photo with no text,
    a misread answer typed instead, a reading that comes after the answer was typed, and old
    or forged confirmation taps."""
    me = play.person("applicant", 1103, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap("cat:small_business")
    play.say(VALID_PHONE)
    play.note("no resident ID card: a passport instead, then back to the ID card")
    play.tap("pick:id_type:passport")
    play.tap("pick:id_type:resident_id")
    play.upload(files.photo(seed=21), "front.jpg", group="album-21")
    play.upload(files.photo(seed=22), "back.jpg", group="album-21")
    play.note("nothing could be read on the photo: it is too blurry")
    play.photos_read({}, unreadable=True, blurry=True)
    play.say("王芳")
    play.say(VALID_ID)
    play.note("the licence misread: typed instead")
    play.upload(files.photo(seed=23), "licence.jpg")
    play.photos_read(READ_LICENCE)
    play.command("mydata")
    play.tap("nav:manual")
    play.tap("nav:prefill")  # the proposal's button, still on the message above
    play.say("Acme & Co., Ltd.")
    play.note("the photo turned down is not read again")
    play.photos_read(READ_LICENCE)
    play.say(VALID_USCC)
    play.press("nav:prefill:uscc", "a forged confirmation")
    play.tap("nav:skip")
    play.tap("nav:submit")


def submitted(play: Play, lang: str, user_id: int, category: str = "individual") -> None:
    """An applicant who has submitted a complete application of `category`."""
    who = "applicant" if user_id != 1008 else "second applicant"
    me = play.person(who, user_id, LANGUAGES[lang])
    play.as_(me).command("start")
    play.tap("consent:yes")
    play.tap(f"cat:{category}")
    play.say("王芳")
    play.tap("pick:id_type:resident_id")
    play.say(VALID_ID)
    play.say(VALID_PHONE)
    if category == "enterprise":
        play.say("Acme Trading Co., Ltd.")
        play.say(VALID_USCC)
        play.say("300")
    play.upload(files.photo(seed=user_id), "front.jpg", group=f"album-{user_id}")
    play.upload(files.photo(seed=user_id + 1), "back.jpg", group=f"album-{user_id}")
    if category == "enterprise":
        play.upload(files.pdf(), "licence.pdf")
        play.upload(files.photo(seed=3, fmt="PNG"), "tax.png")
    play.tap("nav:submit")


SCENARIOS: dict[str, Callable[[Play, str], None]] = {
    "individual": individual,
    "enterprise": enterprise,
    "small_business": small_business,
    "passport": passport,
    "review_approved": review_approved,
    "review_resubmission": review_resubmission,
    "review_rejected": review_rejected,
    "review_claims": review_claims,
    "withdrawn_and_deleted": withdrawn_and_deleted,
    "purged": purged,
    "estimate": estimate,
    "questions": questions,
    "staff_desk": staff_desk,
    "edges": edges,
    "desk_edges": desk_edges,
    "bridge": bridge,
    "prefill_individual": prefill_individual,
    "prefill_enterprise": prefill_enterprise,
    "prefill_edges": prefill_edges,
}
# Played in the flow of documents read (CARDBOT_OCR on).
READING_SCENARIOS = frozenset({"prefill_individual", "prefill_enterprise", "prefill_edges"})


def played(tmp_path: Path, scenario: str, lang: str) -> Play:
    """The scenario played in `lang`, in a folder of its own."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    play = stage(tmp_path, lang, reading=scenario in READING_SCENARIOS)
    SCENARIOS[scenario](play, lang)
    return play


Plays = Callable[[str, str], Play]


@pytest.fixture(scope="module")
def plays(tmp_path_factory: pytest.TempPathFactory) -> Plays:
    """Each scenario played once per language for all the tests of this module, which only
    read what was played."""
    done: dict[tuple[str, str], Play] = {}

    def play(scenario: str, lang: str) -> Play:
        if (scenario, lang) not in done:
            folder = tmp_path_factory.mktemp(f"{scenario}-{lang}")
            done[scenario, lang] = played(folder, scenario, lang)
        return done[scenario, lang]

    return play


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_transcript_matches_the_reviewed_one(plays: Plays, scenario: str, lang: str) -> None:
    play = plays(scenario, lang)
    path = golden_path(GOLDEN, f"{scenario}.{lang}")
    text = play.transcript()
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), "no reviewed transcript yet: run with CARDBOT_GOLDEN_UPDATE=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_message_reads_wrong(plays: Plays, scenario: str, lang: str) -> None:
    play = plays(scenario, lang)
    problems = [
        f"{problem} in:\n{message.text}"
        for message in play.messages
        for problem in screen_problems(message, TYPED)
    ]
    assert problems == []


def test_every_template_is_in_some_transcript(plays: Plays) -> None:
    shown: set[str] = set()
    for scenario in SCENARIOS:
        for lang in LANGUAGES:
            shown |= plays(scenario, lang).templates
    templates = {  # a partial (_name.j2) is shown by the templates that include it
        str(path.relative_to(DIALOGS / "templates").with_suffix(""))
        for path in (DIALOGS / "templates").rglob("*.j2")
        if not path.name.startswith("_")
    }
    missing = "\n".join(sorted(templates - shown))
    assert not missing, f"templates no transcript shows:\n{missing}"


def test_no_transcript_is_left_without_its_scenario() -> None:
    kept = {path.stem for path in GOLDEN.glob("*.txt")}
    assert kept <= {f"{s}.{lang}" for s in SCENARIOS for lang in LANGUAGES}


@pytest.mark.parametrize(
    "seen",
    [
        "预计结果：2026-12-08 至 2026-12-17进度",
        "Expected: 2026-12-08 to 2026-12-17History",
        "• 姓名：王芳• 证件类型：🪪 居民身份证",
        "✅ ID card, both sides: 2 file(s) received",
        "•",
        "Hello {{ name }}",
        "a\n\n\nb",
    ],
)
def test_the_screen_check_catches_what_people_saw(seen: str) -> None:
    assert shown_problems(seen, []) != []


def test_the_screen_check_passes_a_well_formed_message() -> None:
    assert shown_problems("📄 申请状态\n编号：DX-2026-000001\n• 姓名：张三", [[("ok", "x")]]) == []
