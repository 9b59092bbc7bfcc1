"""Text kept from the applicant's last message, for "ask a person" or "use it as my answer".

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add applicants.pending_text."""
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.add_column(sa.Column("pending_text", sa.Text(), nullable=True))


def downgrade() -> None:
    """Remove applicants.pending_text."""
    with op.batch_alter_table("applicants") as batch_op:
        batch_op.drop_column("pending_text")
