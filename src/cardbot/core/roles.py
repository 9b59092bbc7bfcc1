"""Roles: admins (from the configuration) grant and revoke staff and reviewer."""

from __future__ import annotations

from collections.abc import Set

from cardbot.core.ports import RoleRepository

ADMIN = "admin"
STAFF = "staff"
REVIEWER = "reviewer"
ASSIGNABLE_ROLES = (STAFF, REVIEWER)


def roles_of(user_id: int, repository: RoleRepository, admin_ids: Set[int]) -> set[str]:
    """Every role the user holds now; an admin may also act as staff and reviewer."""
    roles = repository.roles_of(user_id)
    if user_id in admin_ids:
        roles |= {ADMIN, STAFF, REVIEWER}
    return roles
