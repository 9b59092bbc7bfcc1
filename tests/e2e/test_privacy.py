"""Privacy through the stand-in: /mydata with the files, an audited ID reveal only the reviewer
sees, and /delete under review that tells the reviewers and removes the card's personal data."""

from __future__ import annotations

from tests.e2e.conftest import RunningBot
from tests.e2e.test_application_flow import Person
from tests.e2e.test_review_desk import (
    REVIEW,
    REVIEWER_USER,
    press,
    review_bot,
    submit_small_business,
)
from tests.support.botapi_standin import BotApiStandIn, FakeUser
from tests.support.harness import VALID_ID

__all__ = ["review_bot"]  # the fixture, shared with the review desk tests


async def test_mydata_reveal_and_delete_under_review(
    api: BotApiStandIn, review_bot: RunningBot
) -> None:
    person = Person(api, FakeUser(821, "张", language_code="zh-hans"))
    await submit_small_business(person)
    card = await api.next_message(REVIEW.id, timeout=15)
    assert [m.kind for m in api.messages_to(REVIEW.id)] == ["text"], "no document in the group"

    (mine,) = await person.say("/mydata")
    assert VALID_ID in mine.plain and "Acme &amp; Co" in mine.text
    files = [await api.next_message(person.user.id, timeout=15) for _ in range(3)]
    assert [f.kind for f in files] == ["photo"] * 3

    await press(api, REVIEWER_USER, card, "reveal", review_bot)
    answer = api.callback_answers[-1]
    assert VALID_ID in answer["text"] and answer.get("show_alert") is True
    assert all(VALID_ID not in m.plain for m in api.messages_to(REVIEW.id))

    await person.say("/delete")
    (deleted,) = await person.tap("全部删除")
    assert "已全部删除" in deleted.plain
    notice = await api.next_message(REVIEW.id, timeout=15)
    assert "删除了个人信息" in notice.plain
    await api.wait_until(lambda: "删除了个人信息" in card.plain, 15, "the card is emptied")
    assert "Acme" not in card.plain and "1101" not in card.plain and card.buttons == []
    assert review_bot.runtime is not None
    with review_bot.runtime.service.unit_of_work() as uow:
        assert uow.load_applicant(person.user.id) is None
        assert uow.applications_of(person.user.id) == []
    # The script answers faster than anyone types and may pass Telegram's per-chat burst
    # (/mydata sends the files, too): a 429 asks the bot to wait, which it does; nothing else
    # may fail.
    assert {status for _method, status, _text in api.errors} <= {429}, api.errors
