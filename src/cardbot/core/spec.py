"""The shape of the application flow, as loaded from dialogs/flow.yaml."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["text", "choice", "document"]


@dataclass(frozen=True)
class Step:
    """One question: a typed answer, a button choice, or one or more documents."""

    id: str
    kind: StepKind
    validator: str | None = None
    choices: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Category:
    """A kind of applicant and, in order, the steps it must complete."""

    id: str
    steps: tuple[str, ...]
    optional: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DocumentRules:
    """What any uploaded document must be."""

    accepted_types: tuple[str, ...]
    max_bytes: int


@dataclass(frozen=True)
class ReasonText:
    """What an applicant reads about one reason, in one language."""

    title: str
    explanation: str
    improve: str


@dataclass(frozen=True)
class Reason:
    """Why reviewers reject or ask for a resubmission (dialogs/reasons.yaml)."""

    id: str
    decisions: frozenset[str]
    final: bool
    items: tuple[str, ...]
    texts: Mapping[str, ReasonText]


@dataclass(frozen=True)
class DialogSpec:
    """The whole flow: categories, steps in their global order, document rules, reasons."""

    categories: Mapping[str, Category]
    steps: Mapping[str, Step]
    documents: DocumentRules
    reasons: Mapping[str, Reason] = field(default_factory=dict)

    @property
    def step_order(self) -> tuple[str, ...]:
        """Every step id, in the order the steps are declared."""
        return tuple(self.steps)

    def document_kinds(self) -> tuple[str, ...]:
        """Every document slot any step can fill."""
        return tuple(slot for step in self.steps.values() for slot in step.slots)

    def resubmission_reasons(self, items: Sequence[str]) -> list[str]:
        """The reasons a request to send these items again may give: those for resubmissions
        that concern any item, or one of these."""
        return [
            reason.id
            for reason in self.reasons.values()
            if "resubmit" in reason.decisions
            and (not reason.items or any(item in reason.items for item in items))
        ]

    def applies(self, category: str, step_id: str, answers: Mapping[str, str]) -> bool:
        """True when the category asks the step, given the answers so far."""
        chosen = self.categories.get(category)
        if chosen is None or step_id not in chosen.steps:
            return False
        step = self.steps[step_id]
        return all(answers.get(key) in values for key, values in step.when.items())

    def applicable_steps(self, category: str, answers: Mapping[str, str]) -> list[Step]:
        """The steps the category asks, in order, given the answers so far."""
        return [step for step in self.steps.values() if self.applies(category, step.id, answers)]
