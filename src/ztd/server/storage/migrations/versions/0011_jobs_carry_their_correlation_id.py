"""jobs carry the MS-CorrelationId and trace context of the request that submitted them

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs queued before this have none: their workers' log lines go without it.
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correlation_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.drop_column("traceparent")
        batch_op.drop_column("correlation_id")
