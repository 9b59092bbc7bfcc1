"""The dialog state machine: one shared machine fires for many applicants, also from threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cardbot.content.loader import load_spec
from cardbot.core.flow import CATEGORY, CONSENT, NEW, FlowMachine, FlowModel
from cardbot.core.model import Applicant, Application
from tests.support.harness import DIALOGS

SPEC = load_spec(DIALOGS)


def walk(machine: FlowMachine, user_id: int) -> list[str]:
    """Take one individual applicant from the start to their first questions."""
    applicant = Applicant(user_id=user_id, chat_id=user_id, language="zh")
    model = FlowModel(SPEC, applicant)
    states = []
    for trigger in ("ask_consent", "agree"):
        assert machine.fire(model, trigger)
        states.append(applicant.state)
    applicant.application = Application(category="individual")
    for _ in range(2):
        assert machine.fire(model, "advance")
        states.append(applicant.state)
    applicant.application.answers["full_name"] = "张三"
    assert machine.fire(model, "back")
    states.append(applicant.state)
    return states


def test_a_trigger_that_does_not_apply_changes_nothing() -> None:
    machine = FlowMachine(SPEC)
    applicant = Applicant(user_id=1, chat_id=1, language="zh", state=NEW)
    assert not machine.fire(FlowModel(SPEC, applicant), "submit")
    assert applicant.state == NEW


def test_applicants_fired_from_many_threads_move_independently() -> None:
    machine = FlowMachine(SPEC)
    expected = walk(machine, 0)
    assert expected[:2] == [CONSENT, CATEGORY]
    with ThreadPoolExecutor(8) as pool:
        walks = list(pool.map(lambda user: walk(machine, user), range(1, 400)))
    assert all(states == expected for states in walks)
    assert machine.machine.models == []  # nobody is left attached to the shared machine
