"""Open applications by status and submission time, for the review queue and reminders.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index applications by status, submission time and id."""
    op.create_index(
        "ix_applications_status_submitted", "applications", ["status", "submitted_at", "id"]
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_applications_status_submitted", table_name="applications")
