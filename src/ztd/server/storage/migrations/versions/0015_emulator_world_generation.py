"""emulator world generation: advanced by every reset and snapshot import, so that each API
process drops the status documents it cached of a world that is gone

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emulator_world",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_world")),
    )


def downgrade() -> None:
    op.drop_table("emulator_world")
