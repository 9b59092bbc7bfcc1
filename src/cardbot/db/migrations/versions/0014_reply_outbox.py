"""The reply outbox: every message the bot says, written with the change it follows.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create reply_outbox."""
    op.create_table(
        "reply_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("update_key", sa.String(length=128), nullable=True),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_outbox")),
    )
    op.create_index("ix_reply_outbox_chat", "reply_outbox", ["chat_id", "id"])
    op.create_index("ix_reply_outbox_update_key", "reply_outbox", ["update_key"])


def downgrade() -> None:
    """Drop reply_outbox."""
    op.drop_index("ix_reply_outbox_update_key", table_name="reply_outbox")
    op.drop_index("ix_reply_outbox_chat", table_name="reply_outbox")
    op.drop_table("reply_outbox")
