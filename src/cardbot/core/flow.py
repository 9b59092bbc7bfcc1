"""The conversation state machine, built with `transitions` from the dialog spec."""

from __future__ import annotations

from typing import Any

from transitions import EventData, Machine

from cardbot.core.model import Applicant, Application, Status
from cardbot.core.spec import DialogSpec, Step

NEW = "new"
CONSENT = "consent"
CATEGORY = "category"
SUMMARY = "summary"
SUBMITTED = "submitted"
IDLE = "idle"
FIXED_STATES = (NEW, CONSENT, CATEGORY, SUMMARY, SUBMITTED, IDLE)


class FlowModel:
    """What the machine moves: one applicant, with the questions that follow from their answers."""

    state: str

    def __init__(self, spec: DialogSpec, applicant: Applicant) -> None:
        self.spec = spec
        self.applicant = applicant

    @property
    def application(self) -> Application | None:
        """The applicant's current application, if they have started one."""
        return self.applicant.application

    def applies(self, step_id: str) -> bool:
        """True when the step is asked of this applicant, given their category and answers."""
        app = self.application
        return app is not None and self.spec.applies(app.category, step_id, app.answers)

    def is_optional(self, step_id: str) -> bool:
        """True when the applicant's category may skip the step."""
        app = self.application
        return app is not None and step_id in self.spec.categories[app.category].optional

    def pending(self, step_id: str) -> bool:
        """True when the step still needs an answer or a document."""
        app = self.application
        if app is None:
            return True
        step = self.spec.steps[step_id]
        if step_id in app.redo:
            return True
        if step.kind == "document":
            if step_id in app.skipped and self.is_optional(step_id):
                return False
            return any(slot not in app.documents for slot in step.slots)
        return step_id not in app.answers

    def editable(self, step_id: str) -> bool:
        """False for items a reviewer did not ask to be redone, while a resubmission is open."""
        app = self.application
        if app is None or app.status != Status.RESUBMISSION_REQUESTED:
            return True
        return step_id in app.review.requested or self.pending(step_id)

    def applicable_steps(self) -> list[Step]:
        """The steps asked of this applicant, in order."""
        app = self.application
        return [] if app is None else self.spec.applicable_steps(app.category, app.answers)

    def asked_slots(self) -> set[str]:
        """The document slots of the steps asked of this applicant."""
        return {slot for step in self.applicable_steps() for slot in step.slots}

    def is_complete(self) -> bool:
        """True when no applicable step is pending."""
        return self.application is not None and not any(
            self.pending(step.id) for step in self.applicable_steps()
        )


def _model(event: EventData) -> FlowModel:
    assert isinstance(event.model, FlowModel)
    return event.model


def _applies(step_id: str) -> Any:
    def condition(event: EventData) -> bool:
        return _model(event).applies(step_id)

    return condition


def _pending(step_id: str) -> Any:
    def condition(event: EventData) -> bool:
        return _model(event).pending(step_id)

    return condition


def _editable(step_id: str) -> Any:
    def condition(event: EventData) -> bool:
        return _model(event).editable(step_id)

    return condition


def _not_resubmitting(event: EventData) -> bool:
    app = _model(event).application
    return app is None or app.status != Status.RESUBMISSION_REQUESTED


def _complete(event: EventData) -> bool:
    return _model(event).is_complete()


class FlowMachine:
    """One static machine for every applicant: load the state, fire one trigger, read it back."""

    def __init__(self, spec: DialogSpec) -> None:
        self.spec = spec
        steps: list[Any] = list(spec.step_order)
        self.machine = Machine(
            model=None,
            states=[*FIXED_STATES, *steps],
            initial=NEW,
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        self._add_flow_transitions(steps)
        self._triggers = {
            state: frozenset(self.machine.get_triggers(state)) for state in self.machine.states
        }

    def _add_flow_transitions(self, steps: list[Any]) -> None:
        add = self.machine.add_transition
        add("ask_consent", NEW, CONSENT)
        add("agree", CONSENT, CATEGORY)
        add("start_over", IDLE, CATEGORY)
        in_flow: list[Any] = [CATEGORY, *steps, SUMMARY]
        for step in steps:
            add("advance", in_flow, step, conditions=[_applies(step), _pending(step)])
        add("advance", in_flow, SUMMARY)
        for index, step in enumerate(steps):
            for earlier in reversed(steps[:index]):
                add("back", step, earlier, conditions=[_applies(earlier), _editable(earlier)])
            add("back", step, CATEGORY, conditions=[_not_resubmitting])
        for step in reversed(steps):
            add("back", SUMMARY, step, conditions=[_applies(step), _editable(step)])
            add(f"edit_{step}", SUMMARY, step, conditions=[_applies(step), _editable(step)])
        add("edit_category", SUMMARY, CATEGORY, conditions=[_not_resubmitting])
        add("show_summary", steps, SUMMARY)
        add("submit", SUMMARY, SUBMITTED, conditions=[_complete])
        add("cancel", in_flow, IDLE)
        add("close", SUBMITTED, IDLE)
        add("reopen", SUBMITTED, SUMMARY)

    def fire(self, model: FlowModel, trigger: str) -> bool:
        """Fire `trigger` on the model; False when it does not apply in the current state.

        The event runs on the model directly: the model is never added to the shared machine
        (adding binds every trigger to it, and several threads fire at once).
        """
        model.state = model.applicant.state
        if trigger not in self._triggers.get(model.state, ()):
            return False
        moved = bool(self.machine.events[trigger].trigger(model))
        model.applicant.state = model.state
        return moved

    @property
    def states(self) -> frozenset[str]:
        """Every state the machine knows."""
        return frozenset(self.machine.states)


def mermaid_diagram(spec: DialogSpec) -> str:
    """The flow as a Mermaid state diagram: each category's steps in order, branches labelled.

    Not drawn, because every step has them: back to the previous step, to the summary and
    from the summary to any step to change it, and cancelling (to `idle`).
    """
    lines = [
        "stateDiagram-v2",
        f"    [*] --> {NEW}",
        f"    {NEW} --> {CONSENT} : /start",
        f"    {CONSENT} --> [*] : decline (nothing kept)",
        f"    {CONSENT} --> {CATEGORY} : agree",
    ]
    for category in spec.categories.values():
        frontier: list[tuple[str, str]] = [(CATEGORY, category.id)]
        steps = list(category.steps)
        index = 0
        while index < len(steps):
            group = [steps[index]]
            while spec.steps[group[0]].when and index + len(group) < len(steps):
                if not spec.steps[steps[index + len(group)]].when:
                    break
                group.append(steps[index + len(group)])
            nodes = []
            for step_id in group:
                node = f"{category.id}__{step_id}"
                nodes.append(node)
                lines.append(f'    state "{step_id}" as {node}')
                when = ", ".join(
                    f"{k} = {'/'.join(v)}" for k, v in spec.steps[step_id].when.items()
                )
                for source, label in frontier:
                    text = ", ".join(part for part in (label, when) if part)
                    lines.append(f"    {source} --> {node}" + (f" : {text}" if text else ""))
            skipped = [
                (source, ", ".join(part for part in (label, f"skip {step_id}") if part))
                for step_id in group
                if step_id in category.optional
                for source, label in frontier
            ]
            frontier = [(node, "") for node in nodes] + skipped
            index += len(group)
        for source, label in frontier:
            lines.append(f"    {source} --> {SUMMARY}" + (f" : {label}" if label else ""))
    lines.append(f"    {SUMMARY} --> {SUBMITTED} : submit (package complete)")
    lines.append(f"    {SUBMITTED} --> {SUMMARY} : resubmission requested (named items only)")
    lines.append(f"    {SUBMITTED} --> {IDLE} : approved or rejected")
    lines.append(f"    {IDLE} --> {CATEGORY} : new application")
    return "\n".join(lines) + "\n"
