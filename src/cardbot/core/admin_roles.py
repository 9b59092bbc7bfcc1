"""The admin's role commands: /grant USER_ID ROLE, /revoke USER_ID ROLE, /roles. The staff
desk checks the caller is an admin first; a reviewer's claims go back to the queue when their
role is revoked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from cardbot.core.roles import ASSIGNABLE_ROLES, REVIEWER, roles_of
from cardbot.core.text import parse_id

if TYPE_CHECKING:
    from cardbot.core.turn import Turn

log = logging.getLogger(__name__)


def on_admin(turn: Turn, name: str, args: list[str]) -> None:
    """/grant USER_ID ROLE, /revoke USER_ID ROLE, /roles."""
    if name == "roles":
        granted = [{"user": uid, "role": role} for uid, role in turn.uow.roles.all_roles()]
        admins = sorted(turn.service.admin_ids)
        turn.say("admin/roles", granted=granted, admins=admins)
        return
    user_id = parse_id(args[0]) if len(args) == 2 else None
    if user_id is None or args[1] not in ASSIGNABLE_ROLES:
        turn.say("admin/usage", command=name, roles=list(ASSIGNABLE_ROLES))
        return
    role = args[1]
    if name == "grant":
        changed = turn.uow.roles.grant(user_id, role, turn.applicant.user_id)
    else:
        changed = turn.uow.roles.revoke(user_id, role)
        if role == REVIEWER and REVIEWER not in roles_of(
            user_id, turn.uow.roles, turn.service.admin_ids
        ):  # their claims would be stuck: nobody else may act on them
            review = turn.service.review
            turn.replies += review.release_claims_of(turn.uow, user_id, turn.applicant.user_id)
    log.info("%s %s for user %s by %s", name, role, user_id, turn.applicant.user_id)
    turn.say("admin/changed", action=name, user=user_id, role=role, changed=changed)
