"""Fault injection at every point of a submission: a real `cardbot run` is SIGKILLed exactly
there (the stand-in holds one Bot API call, the process dies while it waits), started again,
and what the applicant and the review group got is counted.

A submit commits the application with its outbox rows (the review card with its documents, and
the applicant's receipt), answers the button, then sends the card, its album and the receipt.
A held call is modelled both ways Telegram may leave it: held and then dropped (never carried
out: the message must come after the restart, once) and carried out with its answer lost (the
message went out, the bot never learned it: it comes again, the one repeat the at-least-once
rule allows). A worker killed right after acknowledging an update is covered by
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

from cardbot.db.reply_outbox import ReplyQueue
from cardbot.db.session import make_engine
from tests.e2e.test_application_flow import Person
from tests.e2e.test_review_desk import fill_small_business
from tests.e2e.test_run_command import start_process
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser, SentMessage, Stall

REVIEW = FakeChat(-1009876543210, "supergroup", "cardbot review")
NUMBER = re.compile(r"DX-\d{4}-\d{6}")
RECEIPT = "🎉 申请已提交"
NOT_NOW = "现在还不需要文件"
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
    """The applicant's messages as letters: R the receipt, N "no file needed now", ? else."""
    return "".join(
        "R" if m.plain.startswith(RECEIPT) else "N" if NOT_NOW in m.plain else "?"
        for m in messages
    )


def group_shape(messages: list[SentMessage]) -> str:
    """The review group's messages as letters: C a review card, D a document, ? else."""
    return "".join(
        "C" if m.kind == "text" and NUMBER.search(m.plain) else "D" if m.kind == "photo" else "?"
        for m in messages
    )


def cards_with_documents(messages: list[SentMessage]) -> list[tuple[SentMessage, list[bytes]]]:
    """Each card of the group with the documents that follow it (up to the next card)."""
    blocks: list[tuple[SentMessage, list[bytes]]] = []
    for message in messages:
        if message.kind == "text":
            blocks.append((message, []))
        else:
            assert blocks, f"a document before any card: {group_shape(messages)}"
            assert message.media is not None
            blocks[-1][1].append(message.media)
    return blocks


def assert_said(api: BotApiStandIn, submission: Submission, *, applicant: str, group: str) -> None:
    """The applicant and the group got exactly these messages (as shapes), in this order; the
    receipt and every card name the same application; every card is followed by all its
    documents, or (sent again after the process died not knowing it went out) at once by
    itself again; nothing else was said."""
    to_applicant = submission.said(api)
    to_group = api.messages_to(REVIEW.id)
    assert applicant_shape(to_applicant) == applicant, [m.plain[:40] for m in to_applicant]
    assert group_shape(to_group) == group, [m.plain[:40] for m in to_group]
    receipts = [m for m in to_applicant if m.plain.startswith(RECEIPT)]
    numbers = {match.group(0) for m in receipts if (match := NUMBER.search(m.plain))}
    assert len(numbers) == 1 and len(receipts) == applicant.count("R"), numbers
    blocks = cards_with_documents(to_group)
    for index, (card, documents) in enumerate(blocks):
        assert NUMBER.findall(card.plain)[:1] == sorted(numbers), card.plain[:80]
        if documents:
            albums = [documents[i : i + 3] for i in range(0, len(documents), 3)]
            assert all(
                {hashlib.sha256(d).hexdigest() for d in album} == DOCUMENTS for album in albums
            ), "each album carries all the card's documents"
        else:
            following = blocks[index + 1][0] if index + 1 < len(blocks) else None
            assert following is not None and following.text == card.text, (
                "a card without its documents is only one sent again right after"
            )
    last = [m for m in to_group if m.kind == "photo"][-3:]
    assert len({m.media_group_id for m in last}) == 1, "the documents go as one album"


async def said_everything(
    api: BotApiStandIn, deployment: Deployment, submission: Submission
) -> None:
    """Wait until the outbox is empty, the receipt and a card with its documents arrived, and
    the bot has been quiet for a while."""

    def done() -> bool:
        shape = group_shape(api.messages_to(REVIEW.id))
        receipt = "R" in applicant_shape(submission.said(api))
        documented = shape.rpartition("C")[2].startswith("DDD")  # the last card's album
        return receipt and documented and deployment.waiting() == 0

    await api.wait_until(done, timeout=PATIENCE, what="the receipt, the card and its documents")
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

    assert_said(api, submission, applicant="NR", group="CDDD")


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

    assert_said(api, submission, applicant="R", group="CDDD")


async def test_killed_while_the_card_is_sent_and_it_never_arrived_it_is_said_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card's sendMessage held and dropped: Telegram never carried it out."""
    submission = await at_the_summary(api, 1403)
    stall = api.stall("sendMessage", chat_id=REVIEW.id)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CDDD")


async def test_killed_after_the_card_went_out_unconfirmed_it_comes_again_with_its_documents(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card carried out, its answer lost: sent again (the allowed repeat), then the album."""
    submission = await at_the_summary(api, 1404)
    stall = api.stall("sendMessage", chat_id=REVIEW.id, carried_out=True)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CCDDD")


async def test_killed_mid_album_that_never_arrived_the_card_gets_all_its_documents(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card accepted, its album's sendMediaGroup held and dropped: after the restart the
    album goes as a reply to that card, which is not sent again."""
    submission = await at_the_summary(api, 1405)
    stall = api.stall("sendMediaGroup", chat_id=REVIEW.id)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CDDD")
    (card,) = [m for m in api.messages_to(REVIEW.id) if m.kind == "text"]
    albums = [params for name, params in api.calls if name == "sendMediaGroup"]
    assert [a["reply_parameters"]["message_id"] for a in albums] == [card.message_id] * 2


async def test_killed_mid_album_that_went_out_unconfirmed_the_documents_come_again(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The album carried out, its answer lost: the documents come again after the one card
    (the allowed repeat)."""
    submission = await at_the_summary(api, 1406)
    stall = api.stall("sendMediaGroup", chat_id=REVIEW.id, carried_out=True)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CDDDDDD")
    (card,) = [m for m in api.messages_to(REVIEW.id) if m.kind == "text"]
    albums = [params for name, params in api.calls if name == "sendMediaGroup"]
    assert [a["reply_parameters"]["message_id"] for a in albums] == [card.message_id] * 2


async def test_killed_while_the_receipt_is_sent_and_it_never_arrived_it_is_said_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card and its album accepted, the receipt's sendMessage held and dropped."""
    submission = await at_the_summary(api, 1407)
    stall = api.stall("sendMessage", chat_id=submission.person.user.id)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CDDD")


async def test_killed_after_the_receipt_went_out_unconfirmed_it_comes_once_more(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The receipt carried out, its answer lost: the applicant sees it twice, the group once."""
    submission = await at_the_summary(api, 1408)
    stall = api.stall("sendMessage", chat_id=submission.person.user.id, carried_out=True)
    await kill_while_held(api, deployment, submission, stall)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="RR", group="CDDD")


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

    assert_said(api, submission, applicant="R", group="CDDD")


# --------------------------------------------------------------------------- slow and failing


async def test_a_slow_bot_api_during_the_submission_gets_each_message_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """The card is answered after 8 s: waited for (the album and receipt after it), never sent
    again."""
    submission = await at_the_summary(api, 1410)
    api.answer_slowly("sendMessage", 8.0)
    calls = len(api.calls)
    submission.press(api)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CDDD")
    sends = [name for name, _ in api.calls[calls:] if name in ("sendMessage", "sendMediaGroup")]
    assert sends == ["sendMessage", "sendMediaGroup", "sendMessage"], "each sent once"


async def test_failing_bot_api_answers_during_the_submission_get_each_message_once(
    api: BotApiStandIn, deployment: Deployment
) -> None:
    """5xx answers to the button, the card, the album and the receipt are retried until each
    message went out once."""
    submission = await at_the_summary(api, 1411)
    errors = len(api.errors)
    api.fail("answerCallbackQuery", status=502)
    api.fail("sendMessage", status=500, times=2)
    api.fail("sendMediaGroup", status=503, times=2)
    submission.press(api)
    await said_everything(api, deployment, submission)
    await deployment.stop()

    assert_said(api, submission, applicant="R", group="CDDD")
    failed = [(m, status) for m, status, _ in api.errors[errors:] if m != "getUpdates"]
    assert failed == [
        ("answerCallbackQuery", 502),
        ("sendMessage", 500),
        ("sendMessage", 500),
        ("sendMediaGroup", 503),
        ("sendMediaGroup", 503),
    ]
