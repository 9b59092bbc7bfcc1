"""Pre-screening flags on applications, and answers indexed by value for consistency checks.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add applications.flags and an index on application_answers (field, value)."""
    with op.batch_alter_table("applications") as batch_op:
        batch_op.add_column(sa.Column("flags", sa.JSON(), nullable=False, server_default="[]"))
    op.create_index(
        "ix_application_answers_field_value", "application_answers", ["field", "value"]
    )


def downgrade() -> None:
    """Remove them again."""
    op.drop_index("ix_application_answers_field_value", table_name="application_answers")
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("flags")
