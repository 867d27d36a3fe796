"""index only the devices that have a policy

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

HAS_POLICY = sa.text("policy_id IS NOT NULL")


def upgrade() -> None:
    # Registration inserts devices without a policy: they no longer touch this index.
    op.drop_index("ix_devices_policy_id", table_name="devices")
    op.create_index(
        "ix_devices_policy_id",
        "devices",
        ["policy_id"],
        sqlite_where=HAS_POLICY,
        postgresql_where=HAS_POLICY,
    )


def downgrade() -> None:
    op.drop_index("ix_devices_policy_id", table_name="devices")
    op.create_index("ix_devices_policy_id", "devices", ["policy_id"])
