"""Retention: when an application was closed, and when its personal data was purged.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add closed_at (filled in for applications already decided) and purged_at."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_applications_closed_at"), ["closed_at"])
    # Applications decided before this migration count from their submission.
    op.execute(
        "UPDATE applications SET closed_at = submitted_at "
        "WHERE status IN ('approved', 'rejected', 'withdrawn') AND closed_at IS NULL"
    )


def downgrade() -> None:
    """Drop the retention columns."""
    with op.batch_alter_table("applications") as batch:
        batch.drop_index(batch.f("ix_applications_closed_at"))
        batch.drop_column("purged_at")
        batch.drop_column("closed_at")
