"""The sending limits' ledger, shared by the workers of a deployment.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create send_pace."""
    op.create_table(
        "send_pace",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("idle_from", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_send_pace")),
    )


def downgrade() -> None:
    """Drop send_pace."""
    op.drop_table("send_pace")
