"""Flooding through the stand-in: the flooder is slowed down and told once, loses nothing, and
does not hold up anyone else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.support.botapi_standin import BotApiStandIn, FakeUser

FLOOD = 12  # drained at 1 a second: room for the calm user to be answered meanwhile


@pytest.fixture
async def strict_bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """A bot that lets each user send a burst of 2 updates, then 1 a second."""
    running = RunningBot(api, tmp_path, None, flood_burst=2, flood_per_second=1.0)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_a_flooding_user_is_slowed_down_without_losing_messages_or_delaying_others(
    api: BotApiStandIn, strict_bot: RunningBot
) -> None:
    flooder = Person(api, FakeUser(701, "F", language_code="zh-hans"))
    calm = Person(api, FakeUser(702, "C", language_code="zh-hans"))
    await flooder.say("/start", replies=2)
    await flooder.tap("同意")

    for _ in range(FLOOD):
        api.send_sticker(flooder.user)
    await api.wait_until(
        lambda: any("逐条处理" in m.plain for m in api.messages_to(flooder.user.id)),
        timeout=15,
        what="the slow-down notice",
    )
    await calm.say("/start", replies=2)

    def answered() -> int:
        return sum("贴纸" in m.plain for m in api.messages_to(flooder.user.id))

    assert answered() < FLOOD, "the calm user waited for the whole flood"
    await api.wait_until(lambda: answered() == FLOOD, timeout=45, what="every sticker answered")
    await api.wait_idle(quiet=0.5)
    notices = [m for m in api.messages_to(flooder.user.id) if "逐条处理" in m.plain]
    assert len(notices) == 1 and answered() == FLOOD
    assert all(status == 429 for _method, status, _ in api.errors)  # retried, none lost
