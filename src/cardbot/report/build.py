"""Make the report: count, draw, and write report.html, the CSV tables and the headline PNGs."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cardbot.core.clock import local_date, local_time
from cardbot.core.spec import DialogSpec
from cardbot.core.workdays import WorkingCalendar
from cardbot.report.charts import CHARTS, PNG_CHARTS, Chart, load_matplotlib, ready_charts
from cardbot.report.page import render_page
from cardbot.report.queries import Period, ReportData, collect
from cardbot.report.tables import write_csv

HEADLINE_CHARTS = tuple(sorted(PNG_CHARTS))


@dataclass(frozen=True)
class WrittenReport:
    """What a report wrote, and its headline figures."""

    html: Path
    tables: list[Path]
    images: dict[str, Path]
    headline: dict[str, Any]


class _Drawing(threading.Thread):
    """Draws each chart as soon as its tables are counted, while the database counts the
    next ones (its queries let go of the interpreter): loading matplotlib and drawing cost
    about as much as counting, and mostly no longer add to it."""

    def __init__(self) -> None:
        super().__init__(name="report-charts", daemon=True)
        self.counted: queue.SimpleQueue[ReportData | None] = queue.SimpleQueue()
        self.drawn: dict[str, Chart] = {}
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            load_matplotlib()
            while (data := self.counted.get()) is not None:
                self.drawn.update(ready_charts(data.tables, data.headline, self.drawn))
        except BaseException as error:  # handed to the caller in charts()
            self.failure = error

    def charts(self, data: ReportData) -> dict[str, Chart]:
        """Every chart, in page order, once the counting is done (and told so)."""
        self.join()
        if self.failure is not None:
            raise self.failure
        self.drawn.update(ready_charts(data.tables, data.headline, self.drawn))
        return {name: self.drawn[name] for name in CHARTS}


def write_report(
    engine: Engine,
    spec: DialogSpec,
    calendar: WorkingCalendar,
    period: Period,
    folder: Path,
    language: str = "zh",
) -> WrittenReport:
    """Write the report of `period` into `folder` (made if missing), in `language`."""
    drawing = _Drawing()
    drawing.start()
    try:
        data = collect(engine, spec, calendar, period, progress=drawing.counted.put)
    finally:
        drawing.counted.put(None)  # the thread ends even when counting failed
    charts = drawing.charts(data)
    last_day = local_date(period.until - timedelta(microseconds=1))  # until is excluded
    shown = {
        "since": local_date(period.since).isoformat(),
        "until": last_day.isoformat(),
        "made": local_time(period.now).strftime("%Y-%m-%d %H:%M"),
    }
    page = render_page(
        language, period=shown, headline=data.headline, tables=data.tables, charts=charts
    )
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / "report.html"
    html.write_text(page, encoding="utf-8")
    images = {}
    for name in HEADLINE_CHARTS:
        png = charts[name].png
        assert png is not None  # drawn for every headline chart
        images[name] = folder / f"{name}.png"
        images[name].write_bytes(png)
    return WrittenReport(html, write_csv(folder, data.tables.values()), images, data.headline)
