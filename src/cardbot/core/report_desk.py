"""The operations report for staff: /report asks for the last 30 days, made off the update path.

The turn only checks the role (staff or admin, on the server), hands the request to a
`ReportMaker` and says the report is on its way; the maker builds it in the background from
aggregated data and posts the finished message (`report_ready`, or `report_failed`) to the
outbox itself, so a long report never holds up the update (nor, on SQLite, the write lock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cardbot.core.clock import local_date
from cardbot.core.ports import ReportMaker, ReportOrder
from cardbot.core.replies import Attachment, Reply

if TYPE_CHECKING:
    from cardbot.core.turn import Turn

REPORT_COMMANDS = ("report",)
REPORT_DAYS = 30
HTML_TYPE = "text/html"
PNG_TYPE = "image/png"


def request_report(turn: Turn, maker: ReportMaker | None) -> None:
    """Order the report of the last REPORT_DAYS days for the caller (whose role is checked)."""
    until = turn.service.clock.now()
    order = ReportOrder(
        chat_id=turn.applicant.chat_id,
        language=turn.applicant.language,
        since=until - timedelta(days=REPORT_DAYS),
        until=until,
        requested_by=turn.applicant.user_id,
    )
    if maker is None:
        turn.replies.append(report_failed(order))
        return
    maker.request(order)
    turn.say("staff/report_started", (), **period(order))


def period(order: ReportOrder) -> dict[str, str]:
    """The order's period as local dates, for the messages."""
    last = order.until - timedelta(microseconds=1)
    return {"since": local_date(order.since).isoformat(), "until": local_date(last).isoformat()}


def report_ready(
    order: ReportOrder, headline: Mapping[str, Any], attachments: tuple[Attachment, ...]
) -> Reply:
    """The finished report: headline figures, then the HTML document and the chart images."""
    return Reply(
        "staff/report",
        order.chat_id,
        order.language,
        context={**period(order), "headline": dict(headline)},
        attachments=attachments,
    )


def report_failed(order: ReportOrder) -> Reply:
    """The report could not be made now."""
    return Reply("staff/report_failed", order.chat_id, order.language, context=period(order))
