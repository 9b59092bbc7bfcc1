"""Pre-screening of a whole package: every required item present, valid, and used once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cardbot.core.files import PROBLEM_CODES as FILE_PROBLEMS
from cardbot.core.files import check_file
from cardbot.core.image_hash import SIMILAR_IMAGE_DISTANCE
from cardbot.core.spec import DialogSpec
from cardbot.core.validation import PROBLEM_CODES as VALIDATION_PROBLEMS
from cardbot.core.validation import VALIDATORS

if TYPE_CHECKING:  # the model pulls in the FAQ matcher, which `cardbot prescreen` never needs
    from cardbot.core.model import Flag
    from cardbot.core.ports import ApplicationIndex

FLAG_CODES = ("id_number_in_use", "document_in_use", "similar_photo")
# Documents that look alike whoever holds them: the back of every resident ID card is the same
# design, and a perceptual hash (64 bits of a 32×32 picture) cannot tell two cards apart, so
# their photos are never called similar (the very same file still is).
ALIKE_BY_DESIGN = frozenset({"id_back"})
# A flag names this many other applications at most (the reviewer's card has to hold them).
FLAGGED_NUMBERS = 10
PROBLEM_CODES = (
    "missing_field",
    "missing_document",
    "invalid_choice",
    *VALIDATION_PROBLEMS,
    *FILE_PROBLEMS,
    "duplicate_document",
    "checksum_mismatch",
)


@dataclass(frozen=True)
class Problem:
    """Something that blocks submission, tied to a field or a document."""

    code: str
    field: str | None = None
    document: str | None = None
    details: Mapping[str, str] = dataclass_field(default_factory=dict)

    def step(self, spec: DialogSpec) -> str:
        """The step the problem is in: its field's, or the one its document is asked in."""
        if self.field is not None:
            return self.field
        found = (s.id for s in spec.steps.values() if self.document in s.slots)
        return next(found, self.document or "")


@dataclass(frozen=True)
class PackageDocument:
    """One document of a package: its kind, a readable local path (None if absent)."""

    kind: str
    path: Path | None
    sha256: str | None = None
    absent_reason: str | None = None


@dataclass(frozen=True)
class Package:
    """Everything an applicant hands in, independent of where it is stored."""

    category: str
    fields: Mapping[str, str]
    documents: Sequence[PackageDocument]
    number: str | None = None


def screen_package(spec: DialogSpec, package: Package, today: date) -> list[Problem]:
    """Every problem of the package, fields first, in the order the flow asks for them."""
    problems: list[Problem] = []
    answers = dict(package.fields)
    documents: dict[str, PackageDocument] = {}
    for document in package.documents:
        documents.setdefault(document.kind, document)
    optional = spec.categories[package.category].optional
    first_use: dict[str, str] = {}
    for step in spec.applicable_steps(package.category, answers):
        if step.kind != "document":
            problem = _field_problem(spec, step.id, answers, today)
            if problem is not None:
                problems.append(problem)
            continue
        for slot in step.slots:
            found = documents.get(slot)
            path = found.path if found is not None else None
            if found is None or path is None or not path.is_file():
                if step.id not in optional:
                    reason = (found.absent_reason if found else None) or "not_provided"
                    problems.append(
                        Problem("missing_document", document=slot, details={"reason": reason})
                    )
                continue
            verdict = check_file(path, path.stat().st_size, spec.documents)
            if not verdict.ok:
                problems.append(Problem(str(verdict.problem), document=slot))
            elif found.sha256 is not None and found.sha256.lower() != verdict.sha256:
                problems.append(Problem("checksum_mismatch", document=slot))
            elif verdict.sha256 in first_use:
                same_as = first_use[verdict.sha256]
                problems.append(
                    Problem("duplicate_document", document=slot, details={"same_as": same_as})
                )
            else:
                first_use[str(verdict.sha256)] = slot
    return problems


def _field_problem(
    spec: DialogSpec, step_id: str, answers: Mapping[str, str], today: date
) -> Problem | None:
    step = spec.steps[step_id]
    value = answers.get(step_id)
    if value is None or not str(value).strip():
        return Problem("missing_field", field=step_id)
    if step.kind == "choice":
        return None if value in step.choices else Problem("invalid_choice", field=step_id)
    assert step.validator is not None
    verdict = VALIDATORS[step.validator](str(value), answers, today)
    if verdict.ok:
        return None
    return Problem(str(verdict.problem), field=step_id, details=verdict.details)


def consistency_flags(
    index: ApplicationIndex,
    package: Package,
    document_hashes: Mapping[str, str],
    *,
    photo_hashes: Mapping[str, str] | None = None,
    exclude_number: str | None = None,
) -> list[Flag]:
    """Flags for reviewers: every other application, whatever its status, with the same ID
    number, the same file, or a photo of the same picture (perceptual hash), with the status
    each had at the time."""
    from cardbot.core.model import Flag

    exclude = exclude_number or package.number
    flags: list[Flag] = []

    def flag(code: str, found: list[tuple[str, str]], **where: str) -> None:
        if found:
            numbers, outcomes = zip(*found, strict=True)
            flags.append(Flag(code, tuple(numbers), outcomes=tuple(outcomes), **where))

    id_number = package.fields.get("id_number")
    if id_number:
        found = index.applications_with_answer(
            "id_number", id_number, exclude_number=exclude, limit=FLAGGED_NUMBERS
        )
        flag("id_number_in_use", found, field="id_number")
    for kind, sha256 in document_hashes.items():
        found = index.applications_with_document(
            sha256, exclude_number=exclude, limit=FLAGGED_NUMBERS
        )
        flag("document_in_use", found, document=kind)
        if found or not photo_hashes or kind not in photo_hashes or kind in ALIKE_BY_DESIGN:
            continue  # the very same file says it all
        similar = index.applications_with_similar_photo(
            photo_hashes[kind],
            SIMILAR_IMAGE_DISTANCE,
            exclude_number=exclude,
            limit=FLAGGED_NUMBERS,
        )
        flag("similar_photo", similar, document=kind)
    return flags
