"""A pending confirmation (e.g. cancelling) on the applicant, so stale confirm buttons fail.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add applicants.pending_action."""
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.add_column(sa.Column("pending_action", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Remove applicants.pending_action."""
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.drop_column("pending_action")
