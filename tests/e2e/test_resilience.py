"""A flaky Bot API and a killed process: no reply lost, nothing acknowledged forgotten."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import signal
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cardbot.core.model import Applicant
from cardbot.runtime import build_runtime
from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.e2e.test_run_command import start_process
from tests.support import files
from tests.support.botapi_standin import BotApiStandIn, FakeChat, FakeUser
from tests.support.harness import VALID_ID, VALID_PHONE, VALID_USCC
from tests.support.waiting import until

REVIEW = FakeChat(-1009876543210, "supergroup", "cardbot review")
DOCUMENT_FILE = re.compile(r"^[0-9a-f]{32}$")  # a stored document's file is named by its key


def faults(api: BotApiStandIn) -> Counter[tuple[str, int]]:
    """How many calls of each method the stand-in failed, by status."""
    return Counter((method, status) for method, status, _description in api.errors)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- a flaky Bot API


@pytest.fixture
async def review_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """cardbot with a review group, so that submitting also sends a card and an album."""
    api.add_chat(REVIEW)
    running = RunningBot(api, tmp_path, None, review_chat_id=REVIEW.id)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_a_bot_api_answering_429_and_502_for_a_while_loses_no_message(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(701, "韧", language_code="zh-hans"))

    api.fail("sendMessage", status=429, times=2, retry_after=1)
    welcome, consent = await person.say("/start", replies=2)
    assert "电销卡审核助手" in welcome.plain
    assert "个人信息" in consent.plain

    api.fail("answerCallbackQuery", status=429, times=1, retry_after=1)
    api.fail("sendMessage", status=502, times=2)
    (category,) = await person.tap("同意")
    assert "申请人类型" in category.plain

    api.fail("getUpdates", status=502, times=1)
    (name,) = await person.tap("小微")
    assert "真实姓名" in name.plain

    api.fail("sendMessage", status=429, times=1, retry_after=1)
    api.fail("sendMessage", status=502, times=1)
    api.fail("sendMessage", status=429, times=1, retry_after=1)
    (id_type,) = await person.say("张三")
    assert "证件类型" in id_type.plain

    (id_number,) = await person.tap("居民身份证")
    assert "居民身份证号码" in id_number.plain
    # Two answers typed quickly while sending fails: both replies come, in order.
    api.fail("sendMessage", status=502, times=3)
    api.send_text(person.user, VALID_ID)
    api.send_text(person.user, VALID_PHONE)
    phone, company = await person.replies(2)
    assert "联系电话" in phone.plain
    assert "公司名称" in company.plain

    await person.say("Acme Trading Co., Ltd.")
    api.fail("getFile", status=429, times=1, retry_after=1)
    (id_card,) = await person.say(VALID_USCC)
    assert "身份证照片" in id_card.plain
    api.fail("sendMessage", status=429, times=2, retry_after=1)
    (licence,) = await person.album([files.photo(seed=31), files.photo(seed=32)])
    assert "营业执照" in licence.plain
    (tax,) = await person.photo(files.photo(seed=33))
    assert "税务登记证明" in tax.plain
    (summary,) = await person.tap("跳过")
    assert "✅" in summary.plain

    api.fail("sendMessage", status=429, times=1, retry_after=1)
    api.fail("sendMessage", status=502, times=1)
    (done,) = await person.tap("确认提交")
    assert "申请已提交" in done.plain and "DX-" in done.plain

    card = await api.next_message(REVIEW.id, timeout=20)
    assert "1101**********002X" in card.plain

    await person.no_more_messages()
    assert api.messages_to(REVIEW.id) == [card], "the card once; documents go to reviewers"
    texts = [m.text for m in api.messages_to(person.user.id)]
    assert len(texts) == len(set(texts)), "a reply was sent twice"
    assert len(api.callback_answers) == person.presses
    assert faults(api) == {
        ("sendMessage", 429): 7,
        ("sendMessage", 502): 7,
        ("answerCallbackQuery", 429): 1,
        ("getUpdates", 502): 1,
        ("getFile", 429): 1,
    }
    with review_bot.runtime.service.unit_of_work() as uow:  # type: ignore[union-attr]
        applicant = uow.load_applicant(person.user.id)
    assert applicant is not None and applicant.application is not None
    assert applicant.application.status == "submitted"


async def test_a_flood_wait_outlasting_the_rate_limiters_retries_loses_no_reply(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    """Six 429s in a row (about 7 s of flood control) on the reply to one answer."""
    person = Person(api, FakeUser(704, "洪", language_code="zh-hans"))
    await person.begin("个人")
    api.fail("sendMessage", status=429, times=6, retry_after=1)
    (reply,) = await person.say("张三")
    assert "证件类型" in reply.plain, f"the reply was lost; the applicant read {reply.plain!r}"
    await person.no_more_messages()


async def test_a_bad_gateway_lasting_over_fifteen_seconds_loses_no_reply(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    """Six 502s in a row on the reply to one answer (16 s with the bot's back-off)."""
    person = Person(api, FakeUser(705, "网", language_code="zh-hans"))
    await person.begin("个人")
    api.fail("sendMessage", status=502, times=6)
    api.send_text(person.user, "张三")
    reply = await api.next_message(person.user.id, timeout=40)
    person.last = reply
    assert "证件类型" in reply.plain, f"the reply was lost; the applicant read {reply.plain!r}"
    await person.no_more_messages()


async def test_a_bot_api_answering_slowly_is_waited_for_not_sent_to_twice(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    """Telegram delivers the welcome but answers only after 12 s: past PTB's default 5 s
    timeout, after which a resend would show the welcome twice."""
    person = Person(api, FakeUser(709, "慢", language_code="zh-hans"))
    api.answer_slowly("sendMessage", 12)
    welcome, consent = await person.say("/start", replies=2)
    assert "您好" in welcome.plain and "个人信息" in consent.plain
    await person.no_more_messages()
    assert len(api.messages_to(person.user.id)) == 2
    assert [m for m, _ in api.calls].count("sendMessage") == 2


async def test_a_button_press_is_still_answered_when_answer_callback_query_gets_a_502(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(702, "钮", language_code="zh-hans"))
    await person.say("/start", replies=2)
    api.fail("answerCallbackQuery", status=502, times=1)
    (category,) = await person.tap("同意")
    assert "申请人类型" in category.plain
    await person.no_more_messages()
    assert len(api.callback_answers) == person.presses, (
        "the button's spinner was never stopped: answerCallbackQuery is not retried after a 502"
    )


async def test_a_photo_is_taken_when_get_file_answers_502_once(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(703, "档", language_code="zh-hans"))
    await person.begin_with_resident_id("个人")
    await person.say(VALID_PHONE)
    api.fail("getFile", status=502, times=1)
    (answer,) = await person.photo(files.photo(seed=41))
    assert "国徽面" in answer.plain, (
        f"one 502 from getFile made the applicant send the photo again: {answer.plain!r}"
    )


# --------------------------------------------------------------------------- killed mid-upload


def stored(api: BotApiStandIn, workdir: Path, user_id: int) -> tuple[Applicant, dict[str, bytes]]:
    """What `cardbot run` in workdir kept for the applicant, read back through the app's own
    wiring (database and document store): the applicant, and each document's bytes by slot.

    Also checks the document store holds one file per stored document: none left over from
    the killed attempt, none stored twice.
    """
    runtime = build_runtime(RunningBot(api, workdir, None).settings)
    try:
        with runtime.service.unit_of_work() as uow:
            applicant = uow.load_applicant(user_id)
        assert applicant is not None and applicant.application is not None
        documents = applicant.application.documents
        content = {
            slot: runtime.service.documents.read(doc.storage_key)
            for slot, doc in documents.items()
        }
    finally:
        runtime.close()
    root = runtime.settings.documents_dir
    kept = sorted(path.name for path in root.rglob("*") if DOCUMENT_FILE.match(path.name))
    assert kept == sorted(doc.storage_key for doc in documents.values())
    for slot, doc in documents.items():
        assert doc.sha256 == sha256(content[slot])
    return applicant, content


async def restart(api: BotApiStandIn, workdir: Path) -> asyncio.subprocess.Process:
    """Start `cardbot run` again and wait until it polls."""
    polls = sum(1 for method, _ in api.calls if method == "getUpdates")
    process = await start_process(api, workdir)
    await api.wait_until(
        lambda: sum(1 for method, _ in api.calls if method == "getUpdates") > polls,
        timeout=20,
        what="the restarted bot polling",
    )
    return process


PLAIN_FILE_STARTS = (b"\xff\xd8\xff", b"\x89PNG", b"%PDF")


def plain_documents(workdir: Path) -> list[Path]:
    """Files under the data folder that any image viewer or PDF reader would open."""
    return [
        path
        for path in (workdir / "data").rglob("*")
        if path.is_file() and path.read_bytes()[:4].startswith(PLAIN_FILE_STARTS)
    ]


def inbox_rows(workdir: Path) -> int:
    """How many fetched updates `cardbot run` in workdir keeps unhandled in its inbox."""
    with contextlib.closing(sqlite3.connect(workdir / "data" / "cardbot.db")) as db:
        (count,) = db.execute("SELECT count(*) FROM telegram_inbox").fetchone()
        return int(count)


async def kill_while_downloading(
    api: BotApiStandIn, process: asyncio.subprocess.Process, workdir: Path
) -> None:
    """SIGKILL the bot as soon as it is downloading a held upload (before the core sees it)."""
    held = len(api.held_downloads)
    await api.wait_until(lambda: len(api.held_downloads) > held, 15, "the held download")
    # The updates handled before leave the inbox with the next batch (or 0.2 s after their
    # handling); wait until only the held one is kept, so that it alone is redelivered.
    await until(lambda: inbox_rows(workdir) == 1, "only the held update left in the inbox")
    process.send_signal(signal.SIGKILL)
    await process.wait()
    api.release_downloads()


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


async def test_killed_mid_album_restarts_with_the_album_applied_once(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    person = Person(api, FakeUser(711, "K", language_code="zh-hans"))
    front, back = files.photo(seed=51), files.photo(seed=52)
    process = await start_process(api, tmp_path)
    try:
        await person.begin_with_resident_id("个人")
        (id_card,) = await person.say(VALID_PHONE)
        assert "身份证照片" in id_card.plain
        api.hold_download(back)
        api.send_album(person.user, [front, back])
        await kill_while_downloading(api, process, tmp_path)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        api.release_downloads()

    # What the dead bot kept: the front (handled, no reply due within an album), not the back.
    # Killed a moment later, it would have left the downloaded back side in plain: as here.
    leftover = tmp_path / "data" / "incoming" / "tmpkilled" / "upload"
    leftover.parent.mkdir()
    leftover.write_bytes(back)
    assert plain_documents(tmp_path) == [leftover]
    killed, documents = stored(api, tmp_path, person.user.id)
    assert killed.state == "id_card"
    assert documents == {"id_front": front}

    sent_before = len(api.messages_to(person.user.id))
    process = await restart(api, tmp_path)
    try:
        assert not leftover.exists()  # the killed run's download was wiped at start
        (summary,) = await person.replies(1)  # the album's one answer, once
        assert summary.plain.startswith("✅ 身份证人像面（正面）、身份证国徽面（背面）已收到。")
        await person.no_more_messages()
        assert len(api.messages_to(person.user.id)) == sent_before + 1
        assert "已上传 2 份" in summary.plain
        (done,) = await person.tap("确认提交")
        assert "DX-" in done.plain
    finally:
        await stop(process)
    submitted, documents = stored(api, tmp_path, person.user.id)
    assert submitted.state == "submitted"
    assert documents == {"id_front": front, "id_back": back}
    assert plain_documents(tmp_path) == []


async def test_killed_mid_upload_restarts_with_every_acknowledged_document_still_there(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    person = Person(api, FakeUser(712, "L", language_code="zh-hans"))
    front, back, licence = (files.photo(seed=s) for s in (61, 62, 63))
    process = await start_process(api, tmp_path)
    try:
        await person.begin_with_resident_id("小微")
        await person.say(VALID_PHONE)
        await person.say("Acme Trading Co., Ltd.")
        await person.say(VALID_USCC)
        await person.photo(front)
        (ack,) = await person.photo(back)  # acknowledged: the licence is asked for
        assert "营业执照" in ack.plain
        api.hold_download(licence)
        api.send_document(person.user, licence, file_name="licence.jpg", mime_type="image/jpeg")
        await kill_while_downloading(api, process, tmp_path)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        api.release_downloads()

    killed, documents = stored(api, tmp_path, person.user.id)
    assert killed.state == "business_license"
    assert documents == {"id_front": front, "id_back": back}

    sent_before = len(api.messages_to(person.user.id))
    process = await restart(api, tmp_path)
    try:
        (tax,) = await person.replies(1)  # the redelivered licence is taken, once
        assert tax.plain.startswith("✅ 营业执照复印件已收到。\n\n")
        assert "税务登记证明" in tax.plain
        await person.no_more_messages()
        assert len(api.messages_to(person.user.id)) == sent_before + 1
        (summary,) = await person.tap("跳过")
        assert "已上传 2 份" in summary.plain and "已上传 1 份" in summary.plain
        (done,) = await person.tap("确认提交")
        assert "DX-" in done.plain
    finally:
        await stop(process)
    submitted, documents = stored(api, tmp_path, person.user.id)
    assert submitted.state == "submitted"
    assert documents == {"id_front": front, "id_back": back, "business_license": licence}
    assert plain_documents(tmp_path) == []
