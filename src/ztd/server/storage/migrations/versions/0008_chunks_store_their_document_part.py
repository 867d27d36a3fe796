"""chunks store their part of the status document

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Chunks already done keep their outcomes in `results`; documents render those.
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entries", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("failed", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Lossy for jobs still running: their chunks done since 0008 have no `results`.
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.drop_column("failed")
        batch_op.drop_column("entries")
