"""Document bytes inside the database, for CARDBOT_DOCUMENT_STORE=database.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create document_blobs (encrypted bytes: bytea on PostgreSQL, BLOB on SQLite)."""
    op.create_table(
        "document_blobs",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_document_blobs")),
    )
    op.create_index(op.f("ix_document_blobs_created_at"), "document_blobs", ["created_at"])


def downgrade() -> None:
    """Drop document_blobs (move documents to the folder first: cardbot documents migrate)."""
    op.drop_index(op.f("ix_document_blobs_created_at"), table_name="document_blobs")
    op.drop_table("document_blobs")
