"""Indexes the operations report reads at 100,000 applications: documents by application with
their time of receipt (the time spent filling in, without reading the rows), and applicants by
their current application (where drafts wait).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index documents by application and receipt time, applicants by application."""
    op.create_index(
        "ix_application_documents_received",
        "application_documents",
        ["application_id", "received_at"],
    )
    op.create_index("ix_applicants_application_id", "applicants", ["application_id"])


def downgrade() -> None:
    """Drop both indexes."""
    op.drop_index("ix_applicants_application_id", table_name="applicants")
    op.drop_index("ix_application_documents_received", table_name="application_documents")
