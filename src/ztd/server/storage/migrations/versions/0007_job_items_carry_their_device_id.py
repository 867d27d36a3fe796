"""job items carry the id their device gets

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 16:00:00
"""

import sqlalchemy as sa
from alembic import op

from ztd.server.storage.ids import new_ids

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=36), nullable=True))
    # Uploads still waiting for a worker need the ids registration now reads from the items.
    conn = op.get_bind()
    pending = conn.execute(
        sa.text(
            "SELECT i.job_id, i.ordinal FROM job_items i "
            "JOIN batch_jobs j ON j.id = i.job_id "
            "JOIN job_chunks c ON c.job_id = i.job_id "
            " AND i.ordinal >= c.first_ordinal AND i.ordinal < c.end_ordinal "
            "WHERE j.kind = 'upload' AND c.status <> 'done' AND i.precheck_name IS NULL"
        )
    ).all()
    if pending:
        conn.execute(
            sa.text("UPDATE job_items SET device_id = :id WHERE job_id = :job AND ordinal = :n"),
            [
                {"id": device_id, "job": job_id, "n": ordinal}
                for (job_id, ordinal), device_id in zip(pending, new_ids(len(pending)), strict=True)
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("job_items", schema=None) as batch_op:
        batch_op.drop_column("device_id")
