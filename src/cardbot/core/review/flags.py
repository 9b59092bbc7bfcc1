"""Consistency flags on a review card: each names other applications with their status."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cardbot.core.model import Application, Flag
from cardbot.core.ports import UnitOfWork


def refresh_flags(uow: UnitOfWork, app: Application) -> None:
    """Bring the status of each application the flags name up to date: an earlier application
    may have been decided since the flag was raised (one erased since keeps its last status)."""
    if not app.flags:
        return
    current: dict[str, str | None] = {}
    for number in {n for f in app.flags for n in f.applications}:
        other = uow.load_application(number)
        current[number] = other.status.value if other is not None else None
    app.flags = [
        replace(
            f,
            outcomes=tuple(
                current.get(number) or outcome or ""
                for number, outcome in itertools.zip_longest(f.applications, f.outcomes)
                if number is not None
            ),
        )
        for f in app.flags
    ]


def flags_context(flags: Iterable[Flag]) -> list[dict[str, Any]]:
    """The flags as the card and the private package show them: each other application with
    its status (as of the last look; None in flags raised before statuses were kept).
    Numbers and statuses only: no personal value is repeated."""
    return [
        {
            "code": f.code,
            "field": f.field,
            "document": f.document,
            "applications": list(f.applications),
            "entries": [
                {"number": number, "outcome": outcome}
                for number, outcome in itertools.zip_longest(f.applications, f.outcomes)
                if number is not None
            ],
        }
        for f in flags
    ]
