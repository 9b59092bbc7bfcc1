"""/report over the real Telegram stack: staff get the HTML report and the two headline charts;
anyone else gets nothing of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cardbot.core.roles import STAFF
from tests.e2e.conftest import RunningBot
from tests.support.botapi_standin import BotApiStandIn, FakeUser, SentMessage
from tests.support.waiting import until

STAFF_USER = FakeUser(950, "Zhou", language_code="zh-hans")
APPLICANT = FakeUser(951, "Chen", language_code="zh-hans")


@pytest.fixture
async def report_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """cardbot on SQLite, with one staff member."""
    running = RunningBot(api, tmp_path, None)
    await running.start()
    assert running.runtime is not None
    with running.runtime.service.unit_of_work() as uow:
        uow.roles.grant(STAFF_USER.id, STAFF, None)
        uow.commit()
    try:
        yield running
    finally:
        await running.stop()


def files_to(api: BotApiStandIn, chat_id: int) -> list[SentMessage]:
    """The photos and documents sent to the chat."""
    return [m for m in api.messages_to(chat_id) if m.kind in ("photo", "document")]


async def test_staff_get_the_report_as_a_document_and_two_photos(
    api: BotApiStandIn, report_bot: RunningBot
) -> None:
    api.send_text(STAFF_USER, "/report")
    taken = await api.next_message(STAFF_USER.id, timeout=15)
    assert "正在生成" in taken.plain
    await until(lambda: len(files_to(api, STAFF_USER.id)) >= 3, "the report's files", 60)
    sent = files_to(api, STAFF_USER.id)
    assert sorted(m.kind for m in sent) == ["document", "photo", "photo"]
    (document,) = (m for m in sent if m.kind == "document")
    assert document.media is not None and document.media.startswith(b"<!DOCTYPE html>")
    assert all(m.media and m.media.startswith(b"\x89PNG") for m in sent if m.kind == "photo")
    texts = [m for m in api.messages_to(STAFF_USER.id) if m.kind == "text"]
    summary = [m for m in texts if "运营报告" in m.plain]
    assert summary and "超过 10 个工作日待审核：0" in summary[-1].plain


async def test_someone_who_is_not_staff_gets_no_report(
    api: BotApiStandIn, report_bot: RunningBot
) -> None:
    api.send_text(APPLICANT, "/start")
    await until(report_bot.settled, "the bot to settle", 30)
    api.send_text(APPLICANT, "/report")
    await until(
        lambda: any("权限" in m.plain for m in api.messages_to(APPLICANT.id)), "a refusal", 30
    )
    await until(report_bot.settled, "the bot to settle", 30)
    assert files_to(api, APPLICANT.id) == []
    assert not any("运营报告" in m.plain for m in api.messages_to(APPLICANT.id))
