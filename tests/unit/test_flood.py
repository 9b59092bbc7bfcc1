"""The flood gate: a burst, then a steady pace per user, one notice per flood."""

from __future__ import annotations

from cardbot.telegram.flood import FloodGate


class Ticks:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_each_update_waits_its_turn_and_the_user_is_told_once() -> None:
    clock = Ticks()
    gate = FloodGate(burst=3, per_second=2.0, clock=clock)

    first = [gate.admit(1) for _ in range(3)]
    fourth, fifth = gate.admit(1), gate.admit(1)

    assert all(a.wait == 0 and not a.warn for a in first)
    assert fourth.wait == 0.5 and fourth.warn
    assert fifth.wait == 1.0 and not fifth.warn


def test_one_user_flooding_leaves_others_their_own_burst() -> None:
    gate = FloodGate(burst=2, per_second=1.0, clock=Ticks())
    for _ in range(10):
        gate.admit(1)
    assert gate.admit(2).wait == 0 and gate.admit(2).wait == 0


def test_a_refilled_bucket_ends_the_flood_so_the_next_one_is_announced_again() -> None:
    clock = Ticks()
    gate = FloodGate(burst=2, per_second=1.0, clock=clock)
    for _ in range(3):
        gate.admit(1)
    clock.now += 10
    assert [gate.admit(1).warn for _ in range(3)] == [False, False, True]


def test_a_steady_pace_below_the_limit_never_waits() -> None:
    clock = Ticks()
    gate = FloodGate(burst=1, per_second=1.0, clock=clock)
    for _ in range(20):
        assert gate.admit(1).wait == 0
        clock.now += 1.0
