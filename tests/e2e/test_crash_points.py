"""Fault injection at every point of a submission and of the claim that sends its documents: a
real `cardbot run` is SIGKILLed exactly there (the stand-in holds one Bot API call, the process
dies while it waits), started again, and what the applicant, the review group and the reviewer
got is counted.

A submit commits the application with its outbox rows (the review card, and the applicant's
receipt), answers the button, then sends the card and the receipt. Documents never go to the
group: a reviewer's claim sends the package (its text, then the documents as an album) to the
reviewer's private chat, as one outbox row. A held call is modelled both ways Telegram may leave
it: held and then dropped (never carried out: the message must come after the restart, once)
and carried out with its answer lost (the message went out, the bot never learned it: it comes
again, the one repeat the at-least-once rule allows). A worker killed right after acknowledging
an update is covered by
`test_workers.py::test_an_update_left_by_a_worker_killed_after_acknowledging_it_is_answered_in_seconds`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cardbot.core.roles import REVIEWER
from cardbot.db.reply_outbox import ReplyQueue
from cardbot.db.repository import SqlUnitOfWork
from cardbot.db.session import make_engine, make_session_factory
from cardbot.runtime import SystemClock
from tests.e2e.test_application_flow import Person
from tests.e2e.test_review_desk import fill_small_business
from tests.e2e.test_run_command import start_process
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser, SentMessage, Stall

REVIEW = FakeChat(-1009876543210, "supergroup", "cardbot review")
REVIEWER_USER = FakeUser(1499, "Li", language_code="zh-hans")
NUMBER = re.compile(r"DX-\d{4}-\d{6}")
RECEIPT = "🎉 申请已提交"
NOT_NOW = "现在还不需要文件"
STARTED = "已由审核人员开始审核"
# What fill_small_business uploads: two sides of the ID card and the licence.
DOCUMENTS = frozenset(hashlib.sha256(files.photo(seed=seed)).hexdigest() for seed in (1, 2, 3))
PATIENCE = 60.0


class Deployment:
    """`cardbot run` on one data folder, killed and started again as a test needs."""

    def __init__(self, api: BotApiStandIn, workdir: Path) -> None:
        self.api = api
        self.workdir = workdir
        self.runs = 0
        self.process: asyncio.subprocess.Process | None = None
        self.engine = make_engine(f"sqlite:///{workdir / 'data' / 'cardbot.db'}")
        self.outbox = ReplyQueue(self.engine)

    async def start(self) -> None:
        """Start a run (its log in the work folder)."""
        self.runs += 1
        log = self.workdir / f"run-{self.runs}.log"
        self.process = await start_process(
            self.api, self.workdir, log=log, CARDBOT_REVIEW_CHAT_ID=str(REVIEW.id)
        )

    async def kill(self) -> None:
        """SIGKILL the run and wait until it is gone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM the run, as systemd does, and wait until it exited."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    def waiting(self, chat_id: int | None = None) -> int:
        """How many messages wait in the outbox (for one chat, when given)."""
        return self.outbox.count(chat_id)


@pytest.fixture
async def deployment(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[Deployment]:
    """A running `cardbot run` with a review group."""
    api.add_chat(REVIEW)
    running = Deployment(api, tmp_path)
    await running.start()
    await api.wait_until(
        lambda: any(name == "getUpdates" for name, _ in api.calls), PATIENCE, "the bot polling"
    )
    with SqlUnitOfWork(make_session_factory(running.engine), SystemClock()) as uow:
        uow.roles.grant(REVIEWER_USER.id, REVIEWER, None)
        uow.commit()
    api.send_text(REVIEWER_USER, "/start")  # the reviewer's private chat, for the documents
    await api.wait_until(
        lambda: bool(api.messages_to(REVIEWER_USER.id)), PATIENCE, "the reviewer's help"
    )
    try:
        yield running
    finally:
        if running.process is not None and running.process.returncode is None:
            running.process.kill()
            await running.process.wait()
        running.engine.dispose()


@dataclass
class Submission:
    """An applicant at the summary, about to press "确认提交"."""

    person: Person
    before: int  # messages the applicant had got by then

    def said(self, api: BotApiStandIn) -> list[SentMessage]:
        """What the applicant got since the summary."""
        return api.messages_to(self.person.user.id)[self.before :]

    def press(self, api: BotApiStandIn) -> int:
        """Press "确认提交" on the summary; returns the update id."""
        summary = self.person.last
        assert summary is not None
        return api.press_button(self.person.user, summary, summary.button_data("确认提交"))


async def at_the_summary(api: BotApiStandIn, user_id: int) -> Submission:
    """A small business filled in up to its summary, nothing else left to say."""
    person = Person(api, FakeUser(user_id, "O", language_code="zh-hans"))
    await fill_small_business(person)
    await person.no_more_messages()
    assert api.messages_to(REVIEW.id) == []
    return Submission(person, len(api.messages_to(user_id)))


def applicant_shape(messages: list[SentMessage]) -> str:
    """The applicant's messages as letters: R the receipt, N "no file needed now", S "a
    reviewer started", ? else."""
    return "".join(
        "R"
        if m.plain.startswith(RECEIPT)
        else "N"
        if NOT_NOW in m.plain
        else "S"
        if STARTED in m.plain
        else "?"
        for m in messages
    )


def group_shape(messages: list[SentMessage]) -> str:
    """The review group's messages as letters: C a review card, D a document, ? else."""
    return "".join(
        "C" if m.kind == "text" and NUMBER.search(m.plain) else "D" if m.kind == "photo" else "?"
        for m in messages
    )


def package_shape(messages: list[SentMessage]) -> str:
    """The reviewer's private messages as letters: P a package's text, D a document (the
    reviewer's help at /start left out)."""
    return "".join(
        "P" if m.kind == "text" and NUMBER.search(m.plain) else "D" if m.kind == "photo" else ""
        for m in messages
    )


def assert_said(api: BotApiStandIn, submission: Submission, *, applicant: str, group: str) -> None:
    """The applicant and the group got exactly these messages (as shapes), in this order; the
    receipt and every card name the same application; no document reached the group."""
    to_applicant = submission.said(api)
    to_group = api.messages_to(REVIEW.id)
    assert applicant_shape(to_applicant) == applicant, [m.plain[:40] for m in to_applicant]
    assert group_shape(to_group) == group, [m.plain[:40] for m in to_group]
    receipts = [m for m in to_applicant if m.plain.startswith(RECEIPT)]
    numbers = {match.group(0) for m in receipts if (match := NUMBER.search(m.plain))}
    assert len(numbers) == 1 and len(receipts) == applicant.count("R"), numbers
    for card in to_group:
        assert NUMBER.findall(card.plain)[:1] == sorted(numbers), card.plain[:80]


def assert_package(api: BotApiStandIn, shape: str) -> None:
    """The reviewer got exactly this (as a shape): every album carries all the documents and
    answers the one package text, which is never sent twice unless it went out unconfirmed."""
    private = api.messages_to(REVIEWER_USER.id)
    assert package_shape(private) == shape, [m.plain[:40] for m in private]
    photos = [m for m in private if m.kind == "photo"]
    albums = [photos[i : i + 3] for i in range(0, len(photos), 3)]
    for album in albums:
        assert {hashlib.sha256(m.media or b"").hexdigest() for m in album} == DOCUMENTS
        assert len({m.media_group_id for m in album}) == 1, "the documents go as one album"
    texts = [m for m in private if m.kind == "text" and NUMBER.search(m.plain)]
    replies = [p for name, p in api.calls if name == "sendMediaGroup"]
    assert {r["reply_parameters"]["message_id"] for r in replies} <= {m.message_id for m in texts}


async def said_everything(
    api: BotApiStandIn, deployment: Deployment, submission: Submission
) -> None:
    """Wait until the outbox is empty, the receipt and the card arrived, and the bot has been
    quiet for a while."""

    def done() -> bool:
        receipt = "R" in applicant_shape(submission.said(api))
        carded = "C" in group_shape(api.messages_to(REVIEW.id))
        return receipt and carded and deployment.waiting() == 0

    await api.wait_until(done, timeout=PATIENCE, what="the receipt and the card")
    await api.wait_idle(quiet=1.0, timeout=PATIENCE)


def claim(api: BotApiStandIn) -> int:
    """The reviewer claims the newest card; returns the update id."""
    card = [m for m in api.messages_to(REVIEW.id) if m.kind == "text"][-1]
    return api.press_button(REVIEWER_USER, card, card.button_data("认领"))


async def package_arrived(api: BotApiStandIn, deployment: Deployment) -> None:
    """Wait until the reviewer has a package text followed by its album and nothing waits."""

    def done() -> bool:
        shape = package_shape(api.messages_to(REVIEWER_USER.id))
        return shape.rpartition("P")[2].startswith("DDD") and deployment.waiting() == 0

    await api.wait_until(done, timeout=PATIENCE, what="the package and its documents")
    await api.wait_idle(quiet=1.0, timeout=PATIENCE)


async def kill_while_held(
    api: BotApiStandIn, deployment: Deployment, submission: Submission, stall: Stall
) -> None:
    """Press submit, SIGKILL the process while the stalled call is held, give the call up
    (a dropped call is never carried out; a carried-out one has no one left to answer) and
    start the process again."""
    submission.press(api)
    await stall.held(timeout=PATIENCE)
    await deployment.kill()
    stall.drop()
    await deployment.start()


async def kill_while_the_claim_is_held(
    api: BotApiStandIn, deployment: Deployment, stall: Stall
) -> None:
    """The reviewer claims; SIGKILL while the stalled call is held, then start again."""
    claim(api)
    await stall.held(timeout=PATIENCE)
    await deployment.kill()
    stall.drop()
    await deployment.start()


# --------------------------------------------------------------------------- the crash points


async def test_killed_before_the_submit_committed_it_is_applied_and_said_once_after_restart(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The submit is in the bot's inbox, queued behind the same applicant's upload whose
    download is held: killed there, nothing of it was applied or sent."""
    submission = await at_the_summary(api, 1401)
    stray = files.photo(seed=9)
    api.hold_download(stray)
    api.send_photo(submission.person.user, stray)
    submit = submission.press(api)
    await api.wait_until(
        lambda: bool(api.held_downloads) and submit not in api.pending_updates,
        timeout=PATIENCE,
        what="the upload's download held and the submit kept in the bot's inbox",
    )
    assert deployment.waiting() == 0, "not committed"
    await deployment.kill()
    api.release_downloads()
    assert submission.said(api) == [] and api.messages_to(REVIEW.id) == []

    await deployment.start()
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="NR", group="C")


async def test_killed_after_the_commit_before_any_send_everything_is_said_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """Killed while the button's answer (the first call after the commit) is held."""
    submission = await at_the_summary(api, 1402)
    stall = api.stall("answerCallbackQuery")
    submission.press(api)
    await stall.held(timeout=PATIENCE)
    assert deployment.waiting(REVIEW.id) == 1, "the card committed"
    assert deployment.waiting(submission.person.user.id) == 1, "the receipt committed"
    await deployment.kill()
    stall.drop()
    assert submission.said(api) == [] and api.messages_to(REVIEW.id) == []

    await deployment.start()
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="C")


async def test_killed_while_the_card_is_sent_and_it_never_arrived_it_is_said_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card's sendMessage held and dropped: Telegram never carried it out."""
    submission = await at_the_summary(api, 1403)
    stall = api.stall("sendMessage", chat_id=REVIEW.id)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="C")


async def test_killed_after_the_card_went_out_unconfirmed_it_comes_again_with_its_documents(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card carried out, its answer lost: sent again (the allowed repeat), then the album."""
    submission = await at_the_summary(api, 1404)
    stall = api.stall("sendMessage", chat_id=REVIEW.id, carried_out=True)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CC")


async def test_killed_mid_album_that_never_arrived_the_package_gets_all_its_documents(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The claim's package text accepted, its album's sendMediaGroup held and dropped: after
    the restart the album goes as a reply to that text, which is not sent again."""
    submission = await at_the_summary(api, 1405)
    submission.press(api)
    await said_everything(api, deployment, submission)
    stall = api.stall("sendMediaGroup", chat_id=REVIEWER_USER.id)
    await kill_while_the_claim_is_held(api, deployment, stall)
    await package_arrived(api, deployment)
    await deployment.stop()

    assert_said(api, submission, applicant="RS", group="C")
    assert_package(api, "PDDD")
    albums = [params for name, params in api.calls if name == "sendMediaGroup"]
    assert len(albums) == 2, "the dropped album and the one sent after the restart"


async def test_killed_mid_album_that_went_out_unconfirmed_the_documents_come_again(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The album carried out, its answer lost: the documents come again after the one package
    text (the allowed repeat)."""
    submission = await at_the_summary(api, 1406)
    submission.press(api)
    await said_everything(api, deployment, submission)
    stall = api.stall("sendMediaGroup", chat_id=REVIEWER_USER.id, carried_out=True)
    await kill_while_the_claim_is_held(api, deployment, stall)
    await package_arrived(api, deployment)
    await deployment.stop()

    assert_said(api, submission, applicant="RS", group="C")
    assert_package(api, "PDDDDDD")


async def test_killed_while_the_receipt_is_sent_and_it_never_arrived_it_is_said_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card and its album accepted, the receipt's sendMessage held and dropped."""
    submission = await at_the_summary(api, 1407)
    stall = api.stall("sendMessage", chat_id=submission.person.user.id)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="C")


async def test_killed_after_the_receipt_went_out_unconfirmed_it_comes_once_more(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The receipt carried out, its answer lost: the applicant sees it twice, the group once."""
    submission = await at_the_summary(api, 1408)
    stall = api.stall("sendMessage", chat_id=submission.person.user.id, carried_out=True)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="RR", group="C")


async def test_killed_after_everything_was_sent_nothing_is_said_again(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """Killed once every row was sent and deleted (the update perhaps still in the inbox)."""
    submission = await at_the_summary(api, 1409)
    submission.press(api)
    await said_everything(api, deployment, submission)
    await deployment.kill()

    calls = len(api.calls)
    await deployment.start()
    await api.wait_until(
        lambda: any(name == "getUpdates" for name, _ in api.calls[calls:]),
        timeout=PATIENCE,
        what="the restarted bot polling",
    )
    await api.wait_idle(quiet=1.0, timeout=PATIENCE)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="C")


# --------------------------------------------------------------------------- slow and failing


async def test_a_slow_bot_api_during_the_submission_gets_each_message_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card is answered after 8 s: waited for (the receipt after it), never sent again;
    the same for the package on the claim."""
    submission = await at_the_summary(api, 1410)
    api.answer_slowly("sendMessage", 8.0)
    calls = len(api.calls)
    submission.press(api)
    await said_everything(api, deployment, submission)
    api.answer_slowly("sendMessage", 8.0)
    claim(api)
    await package_arrived(api, deployment)
    await deployment.stop()

    assert_said(api, submission, applicant="RS", group="C")
    assert_package(api, "PDDD")
    sends = [
        (name, params.get("chat_id"))
        for name, params in api.calls[calls:]
        if name in ("sendMessage", "sendMediaGroup")
    ]
    person = submission.person.user.id
    assert sorted(sends, key=str) == sorted(
        [
            ("sendMessage", REVIEW.id),  # the card
            ("sendMessage", person),  # the receipt
            ("sendMessage", REVIEWER_USER.id),  # the package's text
            ("sendMediaGroup", REVIEWER_USER.id),  # its documents
            ("sendMessage", person),  # "a reviewer started"
        ],
        key=str,
    ), "each sent once"


async def test_failing_bot_api_answers_get_each_message_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """5xx answers to the button, the card, the receipt and the package's album are retried
    until each message went out once."""
    submission = await at_the_summary(api, 1411)
    errors = len(api.errors)
    api.fail("answerCallbackQuery", status=502)
    api.fail("sendMessage", status=500, times=2)
    submission.press(api)
    await said_everything(api, deployment, submission)
    api.fail("sendMediaGroup", status=503, times=2)
    claim(api)
    await package_arrived(api, deployment)
    await deployment.stop()

    assert_said(api, submission, applicant="RS", group="C")
    assert_package(api, "PDDD")
    failed = [(m, status) for m, status, _ in api.errors[errors:] if m != "getUpdates"]
    assert failed == [
        ("answerCallbackQuery", 502),
        ("sendMessage", 500),
        ("sendMessage", 500),
        ("sendMediaGroup", 503),
        ("sendMediaGroup", 503),
    ]
