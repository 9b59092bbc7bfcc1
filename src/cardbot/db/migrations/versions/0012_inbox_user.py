"""Inbox updates carry their user, so workers handle one user's updates in order.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add telegram_inbox.user_id and an index by bot, user and update."""
    with op.batch_alter_table("telegram_inbox") as batch:
        batch.add_column(sa.Column("user_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_telegram_inbox_user", ["bot_id", "user_id", "update_id"])


def downgrade() -> None:
    """Drop the user column and its index."""
    with op.batch_alter_table("telegram_inbox") as batch:
        batch.drop_index("ix_telegram_inbox_user")
        batch.drop_column("user_id")
