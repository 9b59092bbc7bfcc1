"""Reviewers' commands in the group: /queue, /mine, /show and (admins) /assign."""

from __future__ import annotations

import logging
import re

from cardbot.core.model import OPEN_STATUSES, Application, Status
from cardbot.core.review.action import GroupAction
from cardbot.core.review.cards import card, replace_card
from cardbot.core.review.claims import current_applications
from cardbot.core.review.dossier import send_dossier
from cardbot.core.review.flags import refresh_flags
from cardbot.core.review.reminders import REMIND_ON_DAY
from cardbot.core.review.team import NUMBER
from cardbot.core.roles import ADMIN, REVIEWER
from cardbot.core.text import parse_id
from cardbot.core.workdays import REVIEW_MAX_DAYS

log = logging.getLogger(__name__)

REVIEW_COMMANDS = ("queue", "show", "mine", "assign")
MAX_QUEUE = 40
# `/queue FILTER` shows only unclaimed, overdue or flagged applications, looking at this
# many of the oldest open ones.
QUEUE_FILTERS = ("unclaimed", "overdue", "flagged")
QUEUE_SCAN = 2000
SHORT_NUMBER = re.compile(r"[0-9]{1,6}")
SHORT_NUMBER_YEARS = 3  # a short number is looked for in this year and the two before


def on_command(action: GroupAction, name: str, args: str) -> None:
    """One of REVIEW_COMMANDS, for reviewers only."""
    if not action.is_reviewer(name):
        action.say("review/not_reviewer")
    elif name == "queue":
        queue(action, args.strip().lower())
    elif name == "mine":
        mine(action)
    elif name == "assign":
        assign(action, args.split())
    else:
        show(action, args.strip())


def queue(action: GroupAction, wanted: str = "") -> None:
    """Open applications, oldest first, with their age in working days; `wanted`: only
    the unclaimed, the overdue or the flagged ones."""
    if wanted and wanted not in QUEUE_FILTERS:
        action.say("review/queue_usage", filters=list(QUEUE_FILTERS))
        return
    team = action.team
    rows = []
    for app in action.uow.open_applications(limit=QUEUE_SCAN if wanted else MAX_QUEUE):
        due, estimate = team.due(app)
        age = team.age(app, action.today)
        waiting = app.status == Status.RESUBMISSION_REQUESTED
        row = {
            "number": app.number,
            "status": app.status.value,
            "category": app.category,
            "age": age,
            "due": due.isoformat(),
            "due_estimate": estimate,
            "near": REMIND_ON_DAY <= age <= REVIEW_MAX_DAYS,
            "overdue": age > REVIEW_MAX_DAYS,
            "waiting_for_applicant": waiting,
            "reviewer": app.review.reviewer_name,
            "flagged": bool(app.flags),
        }
        if wanted == "unclaimed" and (waiting or app.review.reviewer_id is not None):
            continue
        if wanted == "overdue" and (waiting or not row["overdue"]):
            continue
        if wanted == "flagged" and not app.flags:
            continue
        rows.append(row)
        if len(rows) >= MAX_QUEUE:
            break
    action.say(
        "review/queue",
        rows=rows,
        limit=REVIEW_MAX_DAYS,
        shown=MAX_QUEUE,
        filter=wanted or None,
        filters=list(QUEUE_FILTERS),
    )


def mine(action: GroupAction) -> None:
    """The caller's claimed applications, oldest first, with their due dates."""
    rows = []
    for app, _applicant in current_applications(action.uow, action.user.user_id):
        due, estimate = action.team.due(app)
        age = action.team.age(app, action.today)
        rows.append(
            {
                "number": app.number,
                "status": app.status.value,
                "age": age,
                "due": due.isoformat(),
                "due_estimate": estimate,
                "overdue": age > REVIEW_MAX_DAYS,
            }
        )
    user = action.user
    action.say("review/mine", rows=rows, reviewer=user.name or str(user.user_id))


def assign(action: GroupAction, args: list[str]) -> None:
    """/assign NUMBER USER_ID (admins only): give an application to another reviewer."""
    user_id = action.user.user_id
    if ADMIN not in action.roles():
        log.warning("review action assign refused: user %s is not an admin", user_id)
        action.say("review/not_admin")
        return
    target = parse_id(args[1]) if len(args) == 2 else None
    app = find(action, args[0]) if len(args) == 2 else None
    loaded = action.load(app.id) if app is not None and app.id is not None else None
    target_roles = action.roles(target) if target else set()
    if loaded is None or target is None or REVIEWER not in target_roles:
        action.say("review/assign_usage", is_reviewer=target is None or bool(target_roles))
        return
    app, applicant = loaded
    if app.status not in OPEN_STATUSES:
        action.say("review/assign_usage", is_reviewer=True)
        return
    action.applicant = applicant
    previous = app.review.reviewer_id
    action.close_prompts(app, app.review.draft, "cancelled", notes=False)
    app.review.reviewer_id = target
    app.review.reviewer_name = str(target)
    app.review.draft = None
    told = app.status != Status.SUBMITTED
    app.status = Status.IN_REVIEW if app.status == Status.SUBMITTED else app.status
    action.team.record(action.uow, app, "reassigned", user_id, to=target, was=previous)
    if not told:
        action.notify_applicant(app, "in_review")
    action.say("review/reassigned", number=app.number, reviewer_id=target, previous=previous)
    dossier = send_dossier(action.team, action.uow, app, target, user_id, "assigned")
    if dossier is not None:
        action.replies.append(dossier)
    action.edit_card(app)
    action.uow.save_applicant(applicant)


def find(action: GroupAction, text: str) -> Application | None:
    """The application a reviewer named: its full number, or the short one (`4` or
    `000004`: the latest year that has it, this year first)."""
    found = NUMBER.search(text.upper())
    if found:
        return action.uow.load_application(found.group(0))
    short = text.strip().lstrip("#")
    if not SHORT_NUMBER.fullmatch(short):
        return None
    for year in range(action.today.year, action.today.year - SHORT_NUMBER_YEARS, -1):
        app = action.uow.load_application(f"DX-{year}-{int(short):06d}")
        if app is not None:
            return app
    return None


def show(action: GroupAction, args: str) -> None:
    """Post one application's card again, and send its package privately to the caller."""
    app = find(action, args)
    if app is None or app.number is None:
        action.say("review/show_usage", given=args[:40])
        return
    refresh_flags(action.uow, app)
    posted = card(action.team, app, action.today, edit=False)
    replaced = replace_card(action.team, app, "shown")
    if posted is not None and replaced is not None:
        action.replies += [replaced, posted]
    action.documents(app, "show")
