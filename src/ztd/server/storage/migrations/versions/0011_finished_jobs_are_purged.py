"""finished jobs are purged after their retention

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_batch_jobs_completed_at", ["completed_at"], unique=False)
    # The purge finds a job's devices through its items' device ids (devices.id is unique;
    # devices.job_id has no index). Items of chunks done before 0007 lack that id: name the
    # device that reads its hash from each of them.
    # One pass over devices, each finding its item by primary key.
    op.execute(
        sa.text(
            "UPDATE job_items SET device_id = d.id FROM devices d "
            "WHERE d.job_id = job_items.job_id AND d.job_ordinal = job_items.ordinal "
            "AND job_items.device_id IS NULL"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_jobs_completed_at")
