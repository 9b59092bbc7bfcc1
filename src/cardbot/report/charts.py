"""The report's charts, drawn with matplotlib (Agg): SVG for the page, PNG for Telegram.

Matplotlib is imported here only, when a chart is drawn. Chart labels are ids and numbers
(language-neutral); the page around them is localized.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cardbot.report.figures import PROMISED_DAYS
from cardbot.report.tables import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = ("#3366cc", "#ff9900", "#109618", "#dc3912", "#990099", "#0099c6")
PROMISE_CAP = 20  # decisions after more working days than this share the last bar
TROUBLE_SHOWN = 15  # the most frequent pre-screening refusals drawn


@dataclass(frozen=True)
class Chart:
    """One drawn chart: its id, the SVG for the page and (headline charts) the PNG for
    Telegram."""

    name: str
    svg: str
    png: bytes | None = None


def load_matplotlib() -> None:
    """Import what drawing a chart needs (about half a second), e.g. while counting."""
    for module in ("matplotlib.figure", "matplotlib.backends.backend_agg", _SVG_BACKEND):
        importlib.import_module(module)


_SVG_BACKEND = "matplotlib.backends.backend_svg"


def _figure(width: float = 8.0, height: float = 4.0, *, left: float = 0.08) -> Figure:
    """A new figure on the Agg canvas (no display, no pyplot state), with fixed margins (a
    layout engine would cost more than the drawing); `left` leaves room for long labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    figure.subplots_adjust(left=left, right=0.97, top=1 - 0.45 / height, bottom=0.75 / height)
    FigureCanvasAgg(figure)
    return figure


# The charts also sent as images (drawing a PNG costs as much as the SVG: only these).
PNG_CHARTS = frozenset({"funnel", "promise"})


def _drawn(name: str, figure: Figure) -> Chart:
    """The figure as SVG text (text kept as text, ids stable), and as PNG bytes when it is a
    headline chart."""
    import matplotlib

    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": f"cardbot-{name}", "svg.id": name}
    ):
        svg = io.StringIO()
        figure.savefig(svg, format="svg", metadata={"Date": None})
    text = svg.getvalue()
    if name not in PNG_CHARTS:
        return Chart(name, text[text.index("<svg") :])
    png = io.BytesIO()
    figure.savefig(png, format="png", metadata={"Software": None})
    return Chart(name, text[text.index("<svg") :], png.getvalue())


def bars(
    name: str,
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    horizontal: bool = False,
    marker: float | None = None,
) -> Chart:
    """Grouped bars: one group per label, one bar per series; `marker` draws a dashed line
    at that value of the label axis (e.g. the promised 10 working days)."""
    height = max(3.0, 0.32 * len(labels) + 1.2) if horizontal else 4.0
    figure = _figure(8.0, height, left=0.3 if horizontal else 0.08)
    axes = figure.add_subplot()
    count = max(len(series), 1)
    width = 0.8 / count
    positions = range(len(labels))
    for index, (key, values) in enumerate(series.items()):
        offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
        colour = COLOURS[index % len(COLOURS)]
        if horizontal:
            axes.barh(offsets, values, height=width, label=key, color=colour)
        else:
            axes.bar(offsets, values, width=width, label=key, color=colour)
    if horizontal:
        axes.set_yticks(list(positions), list(labels))
        axes.invert_yaxis()
    else:
        axes.set_xticks(list(positions), list(labels), rotation=30 if len(labels) > 8 else 0)
    if marker is not None:
        axes.axvline(marker, color="#dc3912", linestyle="--", linewidth=1)
    if len(series) > 1:
        axes.legend(fontsize="small")
    axes.set_title(title)
    axes.grid(axis="x" if horizontal else "y", alpha=0.3)
    return _drawn(name, figure)


def funnel_chart(funnel: Table) -> Chart:
    """Applications per stage, one series per category (stages in flow order)."""
    stages: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    for category, stage, applications in funnel.rows:
        if stage not in stages:
            stages.append(stage)
        counts.setdefault(category, {})[stage] = applications
    series = {c: [found.get(s, 0) for s in stages] for c, found in counts.items()}
    return bars("funnel", "Funnel: applications per stage", stages, series, horizontal=True)


def promise_chart(days: Table, headline: Mapping[str, Any]) -> Chart:
    """Decisions by working days from complete package to decision, the promise marked."""
    counts = [0] * (PROMISE_CAP + 1)
    for value, decisions in days.rows:
        counts[min(int(value), PROMISE_CAP)] += decisions
    labels = [str(d) for d in range(PROMISE_CAP)] + [f"{PROMISE_CAP}+"]
    title = (
        f"Working days to decision: median {_shown(headline.get('median_working_days'))}, "
        f"p90 {_shown(headline.get('p90_working_days'))}, "
        f"within {PROMISED_DAYS}: {_percent(headline.get('share_within_10'))}"
    )
    figure = _figure()
    axes = figure.add_subplot()
    axes.bar(range(len(labels)), counts, color=[_promise_colour(d) for d in range(len(labels))])
    axes.axvline(PROMISED_DAYS + 0.5, color="#dc3912", linestyle="--", linewidth=1)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_xlabel("working days")
    axes.set_ylabel("decisions")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    return _drawn("promise", figure)


def _promise_colour(days: int) -> str:
    return COLOURS[2] if days <= PROMISED_DAYS else COLOURS[3]


def _shown(value: Any) -> str:
    return "-" if value is None else str(value)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _dropoff(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> Chart:
    drop = tables["dropoff"]
    steps = list(dict.fromkeys(drop.column("step")))
    by_category: dict[str, dict[str, int]] = {}
    for category, step, stopped in drop.rows:
        by_category.setdefault(category, {})[step] = stopped
    return bars(
        "dropoff",
        "Drafts that stopped at each step",
        steps,
        {c: [found.get(s, 0) for s in steps] for c, found in by_category.items()},
        horizontal=True,
    )


def _phase_time(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> Chart:
    phases = tables["phase_time"]
    buckets = list(dict.fromkeys(phases.column("time")))
    by_phase: dict[str, list[int]] = {}
    for phase, _bucket, applications in phases.rows:
        by_phase.setdefault(phase, []).append(applications)
    return bars("phase_time", "Time spent filling in, by phase", buckets, by_phase)


def _promise_weekly(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> Chart:
    weekly = tables["promise_weekly"]
    return bars(
        "promise_weekly",
        f"Share decided within {PROMISED_DAYS} working days, by week",
        weekly.column("week_of"),
        {"share": [v or 0 for v in weekly.column("share_within_10")]},
    )


def _outcomes(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> Chart:
    outcomes = tables["outcomes"]
    reasons = tables["rejection_reasons"]
    return bars(
        "outcomes",
        "Decisions",
        [*outcomes.column("outcome"), *(f"rejected: {r}" for r in reasons.column("reason"))],
        {"decisions": [*outcomes.column("decisions"), *reasons.column("rejections")]},
        horizontal=True,
    )


def _reviewers(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> Chart:
    reviewers = tables["reviewers"]
    return bars(
        "reviewers",
        "Reviewers",
        [str(r) for r in reviewers.column("reviewer_id")],
        {
            "claimed": reviewers.column("claimed"),
            "decided": reviewers.column("decided"),
            "open now": reviewers.column("open_now"),
        },
    )


def _trouble(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> Chart:
    problems = tables["prescreen_problems"].rows[:TROUBLE_SHOWN]
    return bars(
        "trouble",
        "What pre-screening refused most",
        [f"{code} @ {step}" for code, step, _ in problems],
        {"times": [times for _, _, times in problems]},
        horizontal=True,
    )


# Every chart of the report in page order (funnel and promise are the headline ones): the
# tables it is drawn from (the promise chart's title also reads the headline figures of the
# promise table), and how it is drawn.
CHARTS: dict[
    str, tuple[tuple[str, ...], Callable[[Mapping[str, Table], Mapping[str, Any]], Chart]]
] = {
    "funnel": (("funnel",), lambda tables, _: funnel_chart(tables["funnel"])),
    "promise": (
        ("promise_days",),
        lambda tables, headline: promise_chart(tables["promise_days"], headline),
    ),
    "dropoff": (("dropoff",), _dropoff),
    "phase_time": (("phase_time",), _phase_time),
    "promise_weekly": (("promise_weekly",), _promise_weekly),
    "outcomes": (("outcomes", "rejection_reasons"), _outcomes),
    "reviewers": (("reviewers",), _reviewers),
    "trouble": (("prescreen_problems",), _trouble),
}


def ready_charts(
    tables: Mapping[str, Table], headline: Mapping[str, Any], drawn: Mapping[str, Chart]
) -> dict[str, Chart]:
    """The charts not yet `drawn` whose tables are all in `tables`."""
    return {
        name: draw(tables, headline)
        for name, (needs, draw) in CHARTS.items()
        if name not in drawn and all(table in tables for table in needs)
    }


def all_charts(tables: Mapping[str, Table], headline: Mapping[str, Any]) -> dict[str, Chart]:
    """Every chart of the report, by name, in page order."""
    return ready_charts(tables, headline, {})
