"""jobs carry the MS-CorrelationId and trace context of the request that submitted them

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs queued before this have none: their workers' log lines go without it. Plain
    # ALTER TABLE (SQLite 3.35+ drops columns too): batch mode would rebuild batch_jobs,
    # which the other job tables reference.
    op.add_column("batch_jobs", sa.Column("correlation_id", sa.String(length=128), nullable=True))
    op.add_column("batch_jobs", sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("batch_jobs", "traceparent")
    op.drop_column("batch_jobs", "correlation_id")
