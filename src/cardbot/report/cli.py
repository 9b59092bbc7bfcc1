"""`cardbot report`: write the operations report of a period into a folder.

Only argparse is imported at the top: `cardbot --help` builds this parser, and must stay fast.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cardbot.config import Settings

DEFAULT_DAYS = 30


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` to the cardbot command line."""
    report = commands.add_parser(
        "report",
        help="write the operations report (HTML with charts, CSV tables)",
        description="Write DIR/report.html (charts inline, opens offline), the tables behind it "
        "as DIR/*.csv and the funnel and promise charts as PNG, for the days from --from to --to "
        f"(Beijing dates, both included; default: the last {DEFAULT_DAYS} days up to today). "
        "Only aggregated figures: no personal data.",
    )
    report.add_argument("--from", dest="since", type=date.fromisoformat, metavar="DATE")
    report.add_argument("--to", dest="until", type=date.fromisoformat, metavar="DATE")
    report.add_argument("--out", type=Path, default=Path("report"), metavar="DIR")
    report.add_argument("--lang", choices=("zh", "en"), default="zh", help="default: zh")


def run_report(settings: Settings, args: argparse.Namespace) -> int:
    """Write the report the arguments ask for and print where it is."""
    from sqlalchemy.engine import make_url

    from cardbot.calendar_cn import ChinaWorkingCalendar
    from cardbot.config import ConfigError
    from cardbot.content.loader import load_spec
    from cardbot.core.clock import REVIEW_TIMEZONE, local_date
    from cardbot.db.session import make_engine
    from cardbot.report.build import write_report
    from cardbot.report.queries import Period

    now = datetime.now(UTC)
    last = args.until or local_date(now)
    first = args.since or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ConfigError(f"--from {first} is after --to {last}")
    period = Period(
        since=datetime.combine(first, time(), REVIEW_TIMEZONE),
        until=datetime.combine(last + timedelta(days=1), time(), REVIEW_TIMEZONE),
        now=now,
    )
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise ConfigError(
            f"no database at {url.database}: check CARDBOT_DATA_DIR or CARDBOT_DATABASE_URL"
        )
    spec = load_spec(settings.dialogs_dir)
    engine = make_engine(settings.database_url)
    try:
        written = write_report(
            engine, spec, ChinaWorkingCalendar(), period, args.out, language=args.lang
        )
    finally:
        engine.dispose()
    print(written.html)
    return 0
