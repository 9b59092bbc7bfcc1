"""Review desk: review state and version on applications, audit trail, message refs, outbox.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add review columns and the audit, message-ref and outbox tables."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("review", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("redo", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_number"), "audit_events", ["number"])
    op.create_table(
        "message_refs",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_message_refs")),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
    )
    op.create_index(
        op.f("ix_webhook_outbox_next_attempt_at"), "webhook_outbox", ["next_attempt_at"]
    )
    op.create_index(op.f("ix_webhook_outbox_delivered_at"), "webhook_outbox", ["delivered_at"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("webhook_outbox")
    op.drop_table("message_refs")
    op.drop_index(op.f("ix_audit_events_number"), table_name="audit_events")
    op.drop_table("audit_events")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("version")
        batch.drop_column("redo")
        batch.drop_column("review")
