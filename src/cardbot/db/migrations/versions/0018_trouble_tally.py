"""Daily counts of what pre-screening refused (by problem code and step) and of the questions
asked of the FAQ (by entry, and how many it could not answer), for the operations report.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create trouble_tally."""
    op.create_table(
        "trouble_tally",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "key", "detail"),
    )


def downgrade() -> None:
    """Drop trouble_tally."""
    op.drop_table("trouble_tally")
