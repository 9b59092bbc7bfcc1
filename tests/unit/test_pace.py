"""Room in a chat for calls that may be left out (taking the buttons off answered questions)."""

from __future__ import annotations

from cardbot.telegram.pace import ChatPace


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_chat_has_room_until_its_budget_is_used_within_the_window() -> None:
    clock = Clock()
    pace = ChatPace(window=5.0, budget=3, clock=clock)
    assert pace.has_room(1)
    for _ in range(3):
        pace.record(1)
        clock.now += 1.0
    assert not pace.has_room(1)
    assert pace.has_room(2), "another chat is not affected"
    clock.now += 2.5  # the first message is now more than 5 seconds old
    assert pace.has_room(1)


def test_a_chat_written_to_at_a_human_pace_always_has_room() -> None:
    clock = Clock()
    pace = ChatPace(window=5.0, budget=5, clock=clock)
    for _ in range(100):
        pace.record(1)  # the next question
        assert pace.has_room(1)
        pace.record(1)  # the buttons of the answered one
        clock.now += 3.0  # a person reads, thinks and types
