"""Load dialogs/flow.yaml into a DialogSpec, with errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cardbot.core.spec import Category, DialogSpec, DocumentRules, Step
from cardbot.core.validation import VALIDATORS

STEP_KINDS = ("text", "choice", "document")


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
    return DialogSpec(categories=categories, steps=steps, documents=documents)


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
