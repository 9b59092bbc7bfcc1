"""The shape of the application flow, as loaded from dialogs/flow.yaml."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
class ReadingPlan:
    """How the flow runs when document photos are read (CARDBOT_OCR on): the documents come
    first, and what is read from them is proposed for the applicant to confirm."""

    # Every step id, in the order asked when documents are read.
    order: tuple[str, ...]
    # Choices answered at the start (the document step they decide offers the others).
    assume: Mapping[str, str] = field(default_factory=dict)
    # The answers each document slot's photo can fill in.
    fills: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DialogSpec:
    """The whole flow: categories, steps in their global order, document rules, reasons."""

    categories: Mapping[str, Category]
    steps: Mapping[str, Step]
    documents: DocumentRules
    reasons: Mapping[str, Reason] = field(default_factory=dict)
    reading: ReadingPlan | None = None
    # True in the flow of `for_reading`: documents first, their answers proposed.
    reads_documents: bool = False

    def for_reading(self) -> DialogSpec:
        """The flow as it runs when documents are read: the reading plan's order (the same
        flow when there is no plan)."""
        plan = self.reading
        if plan is None:
            return self
        rank = {step_id: index for index, step_id in enumerate(plan.order)}
        return replace(
            self,
            steps={step_id: self.steps[step_id] for step_id in plan.order},
            categories={
                key: replace(category, steps=tuple(sorted(category.steps, key=rank.__getitem__)))
                for key, category in self.categories.items()
            },
            reads_documents=True,
        )

    @property
    def assumed(self) -> Mapping[str, str]:
        """The choices answered at the start in this flow (only when documents are read)."""
        return self.reading.assume if self.reading and self.reads_documents else {}

    @property
    def fills(self) -> Mapping[str, tuple[str, ...]]:
        """The answers each document slot can fill in (only when documents are read)."""
        return self.reading.fills if self.reading and self.reads_documents else {}

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
