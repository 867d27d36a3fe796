"""initial schema of ztd 0.1.0

Revision ID: 0001
Revises:
Create Date: 2026-11-30 02:08:31

The pre-release migrations, squashed: no database made before 0.1.0 is carried forward.
Later revisions build on this one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("domain", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "emulator_faults",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_faults")),
    )
    op.create_table(
        "emulator_holds",
        sa.Column("job_id", sa.String(length=36), nullable=False),
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
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("body_excerpt", sa.Text(), nullable=True),
        sa.Column("fault_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_emulator_requests")),
    )
    op.create_index(
        op.f("ix_emulator_requests_correlation_id"), "emulator_requests", ["correlation_id"]
    )
    op.create_table(
        "emulator_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_rules")),
    )
    op.create_table(
        "emulator_throttling",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_throttling")),
    )
    # Advanced by every reset and snapshot import, so that each API process drops the
    # status documents it cached of a world that is gone.
    op.create_table(
        "emulator_world",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_world")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=512), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "request_id", name=op.f("pk_idempotency_records")),
    )
    op.create_index(
        op.f("ix_idempotency_records_created_at"), "idempotency_records", ["created_at"]
    )
    op.create_table(
        "oem_devices",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("hardware_key", sa.String(length=520), nullable=False),
        sa.Column("pkid_key", sa.String(length=64), nullable=True),
        sa.Column("serial_number", sa.String(length=256), nullable=False),
        sa.Column("manufacturer", sa.String(length=256), nullable=False),
        sa.Column("model_name", sa.String(length=256), nullable=True),
        sa.Column("hardware_hash", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_oem_devices")),
        sa.UniqueConstraint("hardware_key", name=op.f("uq_oem_devices_hardware_key")),
        sa.UniqueConstraint("pkid_key", name=op.f("uq_oem_devices_pkid_key")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    op.create_table(
        "signing_keys",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    op.create_table(
        "applications",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("secret_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_applications_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_applications")),
    )
    op.create_table(
        "configuration_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_configuration_policies_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configuration_policies")),
    )
    op.create_index(
        op.f("ix_configuration_policies_customer_id"), "configuration_policies", ["customer_id"]
    )
    op.create_table(
        "device_batches",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=256), nullable=False),
        sa.Column("batch_key", sa.String(length=256), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_device_batches_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_device_batches")),
        sa.UniqueConstraint(
            "customer_id", "batch_key", name=op.f("uq_device_batches_customer_id_batch_key")
        ),
    )
    op.create_table(
        "partner_customers",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_partner_customers_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_customers_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("partner_id", "customer_id", name=op.f("pk_partner_customers")),
    )
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("batch_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result_document", sa.LargeBinary(), nullable=True),
        sa.Column("result_etag", sa.String(length=64), nullable=True),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("traceparent", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_pk"], ["device_batches.pk"], name=op.f("fk_batch_jobs_batch_pk_device_batches")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_batch_jobs_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_jobs")),
    )
    op.create_index(op.f("ix_batch_jobs_completed_at"), "batch_jobs", ["completed_at"])
    op.create_index(op.f("ix_batch_jobs_customer_id"), "batch_jobs", ["customer_id"])
    op.create_table(
        "devices",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("batch_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial_number", sa.String(length=256), nullable=True),
        sa.Column("product_key", sa.String(length=64), nullable=True),
        sa.Column("hash_blob", sa.LargeBinary(), nullable=True),
        sa.Column("hash_length", sa.Integer(), nullable=True),
        sa.Column("hardware_hash", sa.Text(), nullable=True),
        sa.Column("model_name", sa.String(length=256), nullable=True),
        sa.Column("manufacturer", sa.String(length=256), nullable=True),
        sa.Column("hardware_key", sa.String(length=520), nullable=True),
        sa.Column("pkid_key", sa.String(length=64), nullable=True),
        sa.Column("policy_id", sa.String(length=36), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("job_ordinal", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_pk"], ["device_batches.pk"], name=op.f("fk_devices_batch_pk_device_batches")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_devices_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_devices")),
        sa.UniqueConstraint("hardware_key", name=op.f("uq_devices_hardware_key")),
        sa.UniqueConstraint("id", name=op.f("uq_devices_id")),
        sa.UniqueConstraint("pkid_key", name=op.f("uq_devices_pkid_key")),
    )
    op.create_index(op.f("ix_devices_batch_pk_pk"), "devices", ["batch_pk", "pk"])
    op.create_index(
        op.f("ix_devices_policy_id"),
        "devices",
        ["policy_id"],
        sqlite_where=sa.text("policy_id IS NOT NULL"),
        postgresql_where=sa.text("policy_id IS NOT NULL"),
    )
    op.create_table(
        "job_chunks",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("first_ordinal", sa.Integer(), nullable=False),
        sa.Column("end_ordinal", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entries", sa.LargeBinary(), nullable=True),
        sa.Column("failed", sa.Integer(), nullable=True),
        sa.Column("expected_inserts", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["batch_jobs.id"], name=op.f("fk_job_chunks_job_id_batch_jobs")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_job_chunks")),
        sa.UniqueConstraint("job_id", "chunk_no", name=op.f("uq_job_chunks_job_id_chunk_no")),
    )
    op.create_index(op.f("ix_job_chunks_status_pk"), "job_chunks", ["status", "pk"])
    op.create_table(
        "job_items",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("device_ref", sa.String(length=256), nullable=True),
        sa.Column("serial_number", sa.String(length=256), nullable=True),
        sa.Column("product_key", sa.String(length=64), nullable=True),
        sa.Column("hash_blob", sa.LargeBinary(), nullable=True),
        sa.Column("hash_length", sa.Integer(), nullable=True),
        sa.Column("hardware_hash", sa.Text(), nullable=True),
        sa.Column("model_name", sa.String(length=256), nullable=True),
        sa.Column("manufacturer", sa.String(length=256), nullable=True),
        sa.Column("hardware_key", sa.String(length=520), nullable=True),
        sa.Column("pkid_key", sa.String(length=64), nullable=True),
        sa.Column("policy_ref", sa.String(length=256), nullable=True),
        sa.Column("precheck_code", sa.String(length=16), nullable=True),
        sa.Column("precheck_name", sa.String(length=64), nullable=True),
        sa.Column("precheck_detail", sa.Text(), nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["batch_jobs.id"], name=op.f("fk_job_items_job_id_batch_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", "ordinal", name=op.f("pk_job_items")),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        sa.Column("previous_expires_at", STAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("disabled_at", STAMP, nullable=True),
        sa.Column("failing_since", STAMP, nullable=True),
        sa.Column("expires_at", STAMP, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        op.f("ix_webhook_subscriptions_partner_id_status"),
        "webhook_subscriptions",
        ["partner_id", "status"],
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("partner_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        op.f("ix_webhook_events_partner_id_created_at"),
        "webhook_events",
        ["partner_id", "created_at"],
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("pk", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("earlier_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", STAMP, nullable=True),
        sa.Column("lease_token", sa.String(36), nullable=True),
        sa.Column("lease_expires_at", STAMP, nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("delivered_at", STAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_webhook_events"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_deliveries")),
    )
    for columns in (["status", "next_attempt_at"], ["subscription_id", "pk"], ["event_id"]):
        op.create_index(
            op.f("ix_webhook_deliveries_" + "_".join(columns)), "webhook_deliveries", columns
        )
    op.create_table(
        "webhook_attempts",
        sa.Column("pk", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("delivery_pk", AUTO_ID, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", STAMP, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_webhook_attempts")),
    )
    for columns in (["subscription_id", "pk"], ["event_id"]):
        op.create_index(
            op.f("ix_webhook_attempts_" + "_".join(columns)), "webhook_attempts", columns
        )
    if op.get_bind().dialect.name == "postgresql":
        # A device-list page counts its batch's devices through the (batch_pk, pk) index,
        # which reads only the index once the rows are all-visible, which VACUUM sets.
        # PostgreSQL's default autovacuums after inserts of 20% of a table: on a registry of
        # 1,000,000 devices, not before 200,000 new ones, so every page of a recent batch
        # paid one heap visit per device (bench/scale.py). A fixed threshold keeps that at
        # most one upload behind; vacuuming rows that were only inserted is cheap.
        op.execute(f"ALTER TABLE devices SET ({DEVICES_VACUUM})")


DEVICES_VACUUM = (
    "autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0"
)


def downgrade() -> None:
    for name in (
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_events",
        "webhook_subscriptions",
        "job_items",
        "job_chunks",
        "devices",
        "batch_jobs",
        "partner_customers",
        "device_batches",
        "configuration_policies",
        "applications",
        "signing_keys",
        "partners",
        "oem_devices",
        "idempotency_records",
        "emulator_world",
        "emulator_throttling",
        "emulator_rules",
        "emulator_requests",
        "emulator_holds",
        "emulator_faults",
        "customers",
    ):
        op.drop_table(name)
