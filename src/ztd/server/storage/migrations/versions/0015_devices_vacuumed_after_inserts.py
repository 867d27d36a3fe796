"""devices: vacuumed after every 10,000 inserts on PostgreSQL, whatever the table's size

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 02:50:00

A device-list page counts its batch's devices (totalCount) through the (batch_pk, pk)
index. That count reads only the index once the rows are all-visible in the visibility map,
which VACUUM sets; otherwise it visits every row of the batch in the table. PostgreSQL's
default autovacuums a table after inserts of 20% of its size: on a registry of 1,000,000
devices, not before 200,000 new ones, so every page of a recent batch paid one heap visit
per device (10,000 for a 10,000-device batch, scattered over ~5,000 pages: bench/scale.py).
A fixed threshold keeps that at most one upload behind. Vacuuming rows that were only
inserted is cheap: only the pages not yet all-visible are read. SQLite has no such thing.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SETTINGS = "autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE devices SET ({SETTINGS})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE devices RESET "
            "(autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor)"
        )
