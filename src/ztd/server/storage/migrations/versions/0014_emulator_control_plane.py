"""emulator control plane: outcome rules, HTTP faults, held jobs, request journal, throttling

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, counters in (
        ("emulator_rules", [sa.Column("remaining", sa.Integer(), nullable=True)]),
        ("emulator_faults", [sa.Column("seen", sa.Integer(), nullable=False)]),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.String(36), nullable=False),
            sa.Column("partner_id", sa.String(36), nullable=True),
            sa.Column("customer_id", sa.String(36), nullable=True),
            sa.Column("spec", sa.Text(), nullable=False),
            *counters,
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        )
    op.create_table(
        "emulator_holds",
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=True),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_emulator_holds")),
    )
    op.create_table(
        "emulator_requests",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("body_excerpt", sa.Text(), nullable=True),
        sa.Column("fault_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_emulator_requests")),
    )
    op.create_index(
        op.f("ix_emulator_requests_correlation_id"), "emulator_requests", ["correlation_id"]
    )
    op.create_table(
        "emulator_throttling",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_throttling")),
    )


def downgrade() -> None:
    for name in (
        "emulator_throttling",
        "emulator_requests",
        "emulator_holds",
        "emulator_faults",
        "emulator_rules",
    ):
        op.drop_table(name)
