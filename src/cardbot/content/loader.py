"""Load dialogs/flow.yaml into a DialogSpec, with errors that name the file and the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from cardbot.core.spec import (
    Category,
    DialogSpec,
    DocumentRules,
    ReadingPlan,
    Reason,
    ReasonText,
    Step,
)
from cardbot.core.validation import VALIDATORS

STEP_KINDS = ("text", "choice", "document")
DECISIONS = ("reject", "resubmit")
REASON_LANGUAGES = ("zh", "en")
REASON_TEXTS = ("title", "explanation", "improve")
REASON_ID = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
MAX_REASON_TEXT = 400


class ContentError(Exception):
    """A content file is missing or wrong; the message names the file and the key."""


def read_yaml(path: Path) -> Any:
    """Parse one YAML file, turning any failure into a ContentError naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ContentError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot be read: {exc}") from exc


def load_spec(dialogs_dir: Path) -> DialogSpec:
    """Load and validate the flow definition from `dialogs_dir`/flow.yaml."""
    path = dialogs_dir / "flow.yaml"
    data = read_yaml(path)

    def fail(key: str, message: str) -> ContentError:
        return ContentError(f"{path}: {key}: {message}")

    if not isinstance(data, dict):
        raise fail("(top)", "must be a mapping with categories, steps and documents")
    steps = _load_steps(data.get("steps"), fail)
    categories = _load_categories(data.get("categories"), steps, fail)
    documents = _load_documents(data.get("documents"), fail)
    reasons = load_reasons(dialogs_dir / "reasons.yaml", steps)
    reading = _load_reading(data.get("reading"), steps, fail)
    return DialogSpec(
        categories=categories, steps=steps, documents=documents, reasons=reasons, reading=reading
    )


def load_reasons(path: Path, steps: dict[str, Step]) -> dict[str, Reason]:
    """The reviewers' reasons catalogue; a missing file means no reasons yet."""
    if not path.exists():
        return {}
    data = read_yaml(path)

    def fail(key: str, message: str) -> ContentError:
        return ContentError(f"{path}: {key}: {message}")

    raw = data.get("reasons") if isinstance(data, dict) else None
    if not isinstance(raw, dict) or not raw:
        raise fail("reasons", "must be a non-empty mapping of reason id to reason")
    reasons: dict[str, Reason] = {}
    for reason_id, body in raw.items():
        key = f"reasons.{reason_id}"
        if not isinstance(reason_id, str) or not REASON_ID.match(reason_id):
            raise fail(key, "ids are 1-24 lower-case letters, digits or _")
        if not isinstance(body, dict):
            raise fail(key, "must be a mapping")
        decisions = body.get("for")
        if not isinstance(decisions, list) or not decisions or set(decisions) - set(DECISIONS):
            raise fail(f"{key}.for", f"must list one or more of {', '.join(DECISIONS)}")
        final = body.get("final", False)
        if not isinstance(final, bool):
            raise fail(f"{key}.final", "must be true or false")
        items = body.get("items") or []
        if not isinstance(items, list) or any(item not in steps for item in items):
            raise fail(f"{key}.items", "must list step ids of flow.yaml")
        texts: dict[str, ReasonText] = {}
        for language in REASON_LANGUAGES:
            text = body.get(language)
            if not isinstance(text, dict):
                raise fail(f"{key}.{language}", f"must give {', '.join(REASON_TEXTS)}")
            for part in REASON_TEXTS:
                value = text.get(part)
                if not isinstance(value, str) or not value.strip():
                    raise fail(f"{key}.{language}.{part}", "must be a non-empty text")
                if len(value) > MAX_REASON_TEXT:
                    raise fail(f"{key}.{language}.{part}", f"at most {MAX_REASON_TEXT} characters")
            texts[language] = ReasonText(
                str(text["title"]).strip(),
                str(text["explanation"]).strip(),
                str(text["improve"]).strip(),
            )
        reasons[reason_id] = Reason(
            reason_id, frozenset(decisions), final, tuple(str(i) for i in items), texts
        )
    for decision in DECISIONS:
        if not any(decision in reason.decisions for reason in reasons.values()):
            raise fail("reasons", f"no reason can be given with {decision}")
    return reasons


def _load_steps(raw: Any, fail: Any) -> dict[str, Step]:
    if not isinstance(raw, dict) or not raw:
        raise fail("steps", "must be a non-empty mapping of step id to step")
    steps: dict[str, Step] = {}
    for step_id, body in raw.items():
        key = f"steps.{step_id}"
        if not isinstance(body, dict):
            raise fail(key, "must be a mapping")
        kind = body.get("kind")
        if kind not in STEP_KINDS:
            raise fail(f"{key}.kind", f"must be one of {', '.join(STEP_KINDS)}")
        validator = body.get("validator")
        if kind == "text" and validator not in VALIDATORS:
            raise fail(f"{key}.validator", f"must be one of {', '.join(sorted(VALIDATORS))}")
        choices = tuple(str(c) for c in body.get("choices", ()))
        if kind == "choice" and not choices:
            raise fail(f"{key}.choices", "a choice step needs at least one choice")
        slots = tuple(str(s) for s in body.get("slots", ()))
        if kind == "document" and not slots:
            raise fail(f"{key}.slots", "a document step needs at least one slot")
        when = body.get("when", {}) or {}
        if not isinstance(when, dict):
            raise fail(f"{key}.when", "must map an earlier step id to a list of values")
        conditions: dict[str, tuple[str, ...]] = {}
        for other, values in when.items():
            earlier = steps.get(other)
            if earlier is None or earlier.kind != "choice":
                raise fail(f"{key}.when.{other}", "must name an earlier choice step")
            values = tuple(str(v) for v in (values or ()))
            unknown = [v for v in values if v not in earlier.choices]
            if not values or unknown:
                raise fail(f"{key}.when.{other}", f"values must be among {earlier.choices}")
            conditions[other] = values
        steps[step_id] = Step(step_id, kind, validator, choices, slots, conditions)
    seen_slots: set[str] = set()
    for step in steps.values():
        if seen_slots & set(step.slots):
            raise fail(f"steps.{step.id}.slots", "a document slot may belong to one step only")
        seen_slots |= set(step.slots)
    return steps


def _load_categories(raw: Any, steps: dict[str, Step], fail: Any) -> dict[str, Category]:
    if not isinstance(raw, dict) or not raw:
        raise fail("categories", "must be a non-empty mapping of category id to category")
    order = list(steps)
    categories: dict[str, Category] = {}
    for category_id, body in raw.items():
        key = f"categories.{category_id}"
        if not isinstance(body, dict) or not isinstance(body.get("steps"), list):
            raise fail(f"{key}.steps", "must be a list of step ids")
        names = [str(s) for s in body["steps"]]
        for name in names:
            if name not in steps:
                raise fail(f"{key}.steps", f"unknown step {name!r}")
        positions = [order.index(n) for n in names]
        if positions != sorted(positions):
            raise fail(f"{key}.steps", "must follow the order in which steps are declared")
        optional = frozenset(str(s) for s in body.get("optional", ()) or ())
        if not optional <= set(names):
            raise fail(f"{key}.optional", "must be steps of this category")
        for name in optional:
            if steps[name].kind != "document":
                raise fail(f"{key}.optional", f"only document steps can be optional: {name}")
        categories[str(category_id)] = Category(str(category_id), tuple(names), optional)
    return categories


def _load_reading(raw: Any, steps: dict[str, Step], fail: Any) -> ReadingPlan | None:
    """The `reading` section: the order when documents are read, the choices assumed, and
    which answers each document slot fills in; None when there is none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail("reading", "must give order, and may give assume and fills")
    order = raw.get("order")
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(steps):
        raise fail("reading.order", "must list every step id exactly once")
    order = [str(step_id) for step_id in order]
    for index, step_id in enumerate(order):
        for other in steps[step_id].when:
            if other not in order[:index]:
                raise fail("reading.order", f"{step_id} must come after {other}")
    assume = raw.get("assume") or {}
    if not isinstance(assume, dict):
        raise fail("reading.assume", "must map a choice step to one of its choices")
    for step_id, value in assume.items():
        step = steps.get(str(step_id))
        if step is None or step.kind != "choice" or str(value) not in step.choices:
            raise fail(f"reading.assume.{step_id}", "must name a choice step and one choice")
    fills = raw.get("fills") or {}
    slots = {slot for step in steps.values() for slot in step.slots}
    if not isinstance(fills, dict):
        raise fail("reading.fills", "must map a document slot to the text steps it fills in")
    for slot, filled in fills.items():
        if slot not in slots:
            raise fail(f"reading.fills.{slot}", "must name a document slot")
        if not isinstance(filled, list) or any(
            steps.get(str(s)) is None or steps[str(s)].kind != "text" for s in filled
        ):
            raise fail(f"reading.fills.{slot}", "must list text steps")
    return ReadingPlan(
        order=tuple(order),
        assume={str(k): str(v) for k, v in assume.items()},
        fills={str(k): tuple(str(s) for s in v) for k, v in fills.items()},
    )


def _load_documents(raw: Any, fail: Any) -> DocumentRules:
    if not isinstance(raw, dict):
        raise fail("documents", "must give accepted_types and max_bytes")
    types = raw.get("accepted_types")
    max_bytes = raw.get("max_bytes")
    if not isinstance(types, list) or not types:
        raise fail("documents.accepted_types", "must be a non-empty list of MIME types")
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise fail("documents.max_bytes", "must be a positive whole number of bytes")
    return DocumentRules(tuple(str(t) for t in types), max_bytes)
