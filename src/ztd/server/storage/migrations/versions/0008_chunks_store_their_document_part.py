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
    # The code before 0008 finishes a job from its chunks' `results`; chunks done since
    # 0008 have none (finished jobs keep their stored document and need none). Refuse rather
    # than leave jobs that could never finish.
    stranded = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM job_chunks c JOIN batch_jobs j ON j.id = c.job_id "
                "WHERE c.status = 'done' AND c.results IS NULL AND j.completed_at IS NULL"
            )
        )
        .scalar()
    )
    if stranded:
        raise RuntimeError(
            f"cannot downgrade below 0008: {stranded} chunk(s) of unfinished jobs were done "
            "since, and the older code could not finish their jobs; let the jobs finish first"
        )
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.drop_column("failed")
        batch_op.drop_column("entries")
