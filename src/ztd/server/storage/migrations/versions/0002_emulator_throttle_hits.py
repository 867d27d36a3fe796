"""throttling counted in the database: emulator_throttle_hits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:15:00

ZTD_THROTTLE_STORAGE=database (the new default) keeps one row per admitted request, so that
every API process counts the same moving window.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emulator_throttle_hits",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_emulator_throttle_hits")),
    )
    op.create_index(
        op.f("ix_emulator_throttle_hits_bucket_at"),
        "emulator_throttle_hits",
        ["bucket", "at"],
    )
    op.create_index(
        op.f("ix_emulator_throttle_hits_expires_at"), "emulator_throttle_hits", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_emulator_throttle_hits_expires_at"), "emulator_throttle_hits")
    op.drop_index(op.f("ix_emulator_throttle_hits_bucket_at"), "emulator_throttle_hits")
    op.drop_table("emulator_throttle_hits")
