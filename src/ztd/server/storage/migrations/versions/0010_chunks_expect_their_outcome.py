"""upload chunks carry the part they report if every device registers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Chunks queued before this have none: workers compute their outcomes as before.
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expected_inserts", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.drop_column("expected_inserts")
