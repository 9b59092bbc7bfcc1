"""The report page: one self-contained HTML file (charts inline as SVG, no external URL)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cardbot.report.charts import Chart
from cardbot.report.tables import Table

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("zh", "en")


def environment() -> Environment:
    """Jinja2 for the page: HTML autoescaping, undefined names fail."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(
    language: str,
    *,
    period: Mapping[str, str],
    headline: Mapping[str, Any],
    tables: Mapping[str, Table],
    charts: Mapping[str, Chart],
) -> str:
    """The report page in `language` (zh or en)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use zh or en")
    template = environment().get_template(f"{language}/report.html.j2")
    return template.render(
        period=period,
        headline=headline,
        tables=tables,
        svg={name: Markup(chart.svg) for name, chart in charts.items()},  # ids and numbers only
        percent=percent,
    )


def percent(value: Any) -> str:
    """A share as a percentage with one decimal, or a dash."""
    return "–" if value is None else f"{value * 100:.1f}%"
