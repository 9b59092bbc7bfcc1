"""A staff member's edit in progress (what they are doing and what they typed so far).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add applicants.staff_action and applicants.staff_draft."""
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.add_column(sa.Column("staff_action", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("staff_draft", sa.Text(), nullable=True))


def downgrade() -> None:
    """Remove them."""
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.drop_column("staff_draft")
        batch_op.drop_column("staff_action")
