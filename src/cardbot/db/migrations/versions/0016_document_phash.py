"""A perceptual hash of each photo, to find the same picture in other applications.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add application_documents.phash."""
    with op.batch_alter_table("application_documents") as batch:
        batch.add_column(sa.Column("phash", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Drop application_documents.phash."""
    with op.batch_alter_table("application_documents") as batch:
        batch.drop_column("phash")
