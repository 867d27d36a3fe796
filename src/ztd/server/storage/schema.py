"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

Identity keys carry the registry's uniqueness: a device is the same device when its decoded
manufacturer + serial (``hardware_key``) or its PKID (``pkid_key``) matches, so two jobs racing
to register it end with one owner, enforced by the database rather than by reads.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ztd.server.storage import widths

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)
GUID = String(widths.GUID)

partners = Table(
    "partners",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("name", String(widths.NAME), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("name", String(widths.NAME), nullable=False),
    Column("domain", String(widths.NAME), nullable=True),
    Column("created_at", Timestamp, nullable=False),
)

# A partner acts only for customers it has a relationship with.
partner_customers = Table(
    "partner_customers",
    metadata,
    Column("partner_id", GUID, ForeignKey("partners.id"), primary_key=True),
    Column("customer_id", GUID, ForeignKey("customers.id"), primary_key=True),
    Column("created_at", Timestamp, nullable=False),
)

device_batches = Table(
    "device_batches",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("customer_id", GUID, ForeignKey("customers.id"), nullable=False),
    # batch_id exactly as the client named it; batch_key casefolded: ids match ignoring case.
    Column("batch_id", String(widths.BATCH_ID), nullable=False),
    Column("batch_key", String(widths.BATCH_ID), nullable=False),
    Column("created_by", String(widths.NAME), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("customer_id", "batch_key"),
)

devices = Table(
    "devices",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),  # stable paging order
    Column("id", GUID, nullable=False, unique=True),
    Column("customer_id", GUID, ForeignKey("customers.id"), nullable=False),
    Column("batch_pk", AutoId, ForeignKey("device_batches.pk"), nullable=False),
    Column("serial_number", String(widths.SERIAL_NUMBER), nullable=True),
    Column("product_key", String(widths.PRODUCT_KEY), nullable=True),
    # Rows whose job was purged keep their hash here; others leave these empty and read the
    # hash from the job item they came from (job_id, job_ordinal), which names them (its
    # device_id).
    Column("hash_blob", LargeBinary, nullable=True),
    Column("hash_length", Integer, nullable=True),
    Column("hardware_hash", Text, nullable=True),
    Column("model_name", String(widths.MODEL_NAME), nullable=True),
    Column("manufacturer", String(widths.MANUFACTURER), nullable=True),
    Column("hardware_key", String(widths.HARDWARE_KEY), nullable=True, unique=True),
    Column("pkid_key", String(widths.PRODUCT_KEY), nullable=True, unique=True),
    Column("policy_id", GUID, nullable=True),
    Column("job_id", GUID, nullable=False),
    Column("job_ordinal", Integer, nullable=True),  # the job item holding the hash as sent
    Column("uploaded_at", Timestamp, nullable=False),
    Index(None, "batch_pk", "pk"),
    # Partial: most devices have no policy, and registering them then skips this index.
    Index(
        None,
        "policy_id",
        sqlite_where=text("policy_id IS NOT NULL"),
        postgresql_where=text("policy_id IS NOT NULL"),
    ),
    # Vacuumed every 10,000 inserts, not every 20% of the registry: a device page's count
    # of its batch then reads the index alone (the initial migration says why).
    postgresql_with={
        "autovacuum_vacuum_insert_threshold": 10000,
        "autovacuum_vacuum_insert_scale_factor": 0,
    },
)

# The job row is both the queue entry and the status resource.
batch_jobs = Table(
    "batch_jobs",
    metadata,
    Column("id", GUID, primary_key=True),  # the batch tracking id
    Column("kind", String(32), nullable=False),  # "upload" | "policy_update"
    Column("partner_id", GUID, nullable=False),
    Column("customer_id", GUID, ForeignKey("customers.id"), nullable=False),
    Column("batch_pk", AutoId, ForeignKey("device_batches.pk"), nullable=True),
    Column("status", String(32), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("chunk_count", Integer, nullable=False),
    Column("chunks_done", Integer, nullable=False, default=0),
    Column("created_at", Timestamp, nullable=False),
    Column("started_at", Timestamp, nullable=True),
    Column("completed_at", Timestamp, nullable=True),
    # A finished job's BatchUploadDetails never changes: stored serialized, served as is.
    Column("result_document", LargeBinary, nullable=True),
    Column("result_etag", String(64), nullable=True),
    # The submitting request's MS-CorrelationId: the worker's log lines carry it.
    Column("correlation_id", String(widths.CORRELATION_ID), nullable=True),
    # Its W3C traceparent when tracing is on: the worker's spans join the request's trace.
    Column("traceparent", String(64), nullable=True),
    Index(None, "customer_id"),
    Index(None, "completed_at"),  # housekeeping finds the jobs past their retention
)

# The unit of work a worker leases. Fencing: only the holder of lease_token may finish it.
job_chunks = Table(
    "job_chunks",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("job_id", GUID, ForeignKey("batch_jobs.id"), nullable=False),
    Column("chunk_no", Integer, nullable=False),
    Column("first_ordinal", Integer, nullable=False),
    Column("end_ordinal", Integer, nullable=False),  # exclusive
    Column("status", String(16), nullable=False),  # queued | running | done
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(widths.LEASE_OWNER), nullable=True),
    Column("lease_token", GUID, nullable=True),
    Column("lease_expires_at", Timestamp, nullable=True),
    # A done chunk's devicesStatus entries, serialized (comma-separated JSON objects), and
    # how many failed: status documents are assembled from these parts. An upload's chunk
    # gets them at enqueue as they will read if all of its expected_inserts devices register
    # (no hashless device to resolve first); the worker rewrites them only if not.
    Column("entries", LargeBinary, nullable=True),
    Column("failed", Integer, nullable=True),
    Column("expected_inserts", Integer, nullable=True),
    UniqueConstraint("job_id", "chunk_no"),
    Index(None, "status", "pk"),
)

# One row per device of the request, in request order. Identity is resolved at enqueue
# (pure CPU work in the API), so workers only do the registry writes. Items are kept while
# their job is: a registered device reads the hardware hash it was uploaded with from its
# item, so the largest value of a job is written once. When the job is purged (after
# ZTD_JOB_RETENTION_DAYS), its devices get their own copy first (services.housekeeping).
# An item refused at enqueue keeps only what its status entry echoes.
job_items = Table(
    "job_items",
    metadata,
    Column("job_id", GUID, ForeignKey("batch_jobs.id"), primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("device_ref", String(widths.DEVICE_REF), nullable=True),  # policy updates
    Column("serial_number", String(widths.SERIAL_NUMBER), nullable=True),
    Column("product_key", String(widths.PRODUCT_KEY), nullable=True),
    Column("hash_blob", LargeBinary, nullable=True),
    Column("hash_length", Integer, nullable=True),
    Column("hardware_hash", Text, nullable=True),
    Column("model_name", String(widths.MODEL_NAME), nullable=True),
    Column("manufacturer", String(widths.MANUFACTURER), nullable=True),
    Column("hardware_key", String(widths.HARDWARE_KEY), nullable=True),
    Column("pkid_key", String(widths.PRODUCT_KEY), nullable=True),
    Column("policy_ref", String(widths.POLICY_REF), nullable=True),  # policy updates
    # Set at enqueue when the item can never succeed (802, 803, duplicate in this job), with
    # the reason the status entry's errorDetail gives.
    Column("precheck_code", String(16), nullable=True),
    Column("precheck_name", String(64), nullable=True),
    Column("precheck_detail", Text, nullable=True),
    # Uploads: the id the device gets if it registers, given at enqueue to every item that
    # passed the prechecks, so registration is one INSERT ... SELECT from these rows.
    Column("device_id", GUID, nullable=True),
)

# Partner applications of the built-in issuer (client-credentials grant). Only a hash of the
# secret is kept; the secret is shown once, when the application is added.
applications = Table(
    "applications",
    metadata,
    Column("client_id", GUID, primary_key=True),
    Column("partner_id", GUID, ForeignKey("partners.id"), nullable=False),
    Column("name", String(widths.NAME), nullable=False),
    Column("secret_hash", String(256), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# MS-RequestId makes a write idempotent: the first response is kept per partner and replayed
# to retries of the same request. The claim commits with the work it describes.
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("partner_id", GUID, primary_key=True),
    Column("request_id", String(widths.REQUEST_ID), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # None while the first request runs
    Column("location", String(512), nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index(None, "created_at"),
)

# Autopilot OOBE configuration policies of a customer (E8-E12). Devices point at the one
# assigned to them (devices.policy_id); the count is computed, never stored.
configuration_policies = Table(
    "configuration_policies",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("customer_id", GUID, ForeignKey("customers.id"), nullable=False),
    Column("name", String(widths.NAME), nullable=False),
    Column("category", String(32), nullable=False),
    Column("description", Text, nullable=True),
    Column("settings", Text, nullable=False),  # JSON list of PolicySettingsType strings
    Column("created_at", Timestamp, nullable=False),
    Column("last_modified_at", Timestamp, nullable=False),
    Index(None, "customer_id"),
)

# Hardware hashes OEMs supplied (``ztd admin oem import``). PKID-only and tuple uploads
# resolve against them; in strict mode an unknown PKID or tuple is 812 ZtdDeviceNotFound.
oem_devices = Table(
    "oem_devices",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("hardware_key", String(widths.HARDWARE_KEY), nullable=False, unique=True),
    Column("pkid_key", String(widths.PRODUCT_KEY), nullable=True, unique=True),
    Column("serial_number", String(widths.SERIAL_NUMBER), nullable=False),
    Column("manufacturer", String(widths.MANUFACTURER), nullable=False),
    Column("model_name", String(widths.MODEL_NAME), nullable=True),
    Column("hardware_hash", Text, nullable=False),
    Column("imported_at", Timestamp, nullable=False),
)

# The built-in issuer's signing keys when every host shares them (ZTD_KEY_ENCRYPTION_KEY set):
# the private key as PKCS#8 PEM, encrypted with that key (Fernet). The highest seq signs;
# the others verify the tokens they signed until those expire. Deleting a row revokes it.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("seq", AutoId, primary_key=True, autoincrement=True),
    Column("kid", String(64), nullable=False, unique=True),
    Column("private_key", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)


# The emulator's control plane (/_ztd/v1/, src/ztd/server/emulator/): stored so that every
# API process and worker sees the same rules, faults and held jobs. ``spec`` is the JSON the
# operator posted; the columns beside it are what several processes must count atomically.
def _stored_control(name: str, counter: Column[int]) -> Table:
    """A rule or a fault: the JSON the operator posted, its scope, and its counter."""
    return Table(
        name,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("partner_id", GUID, nullable=True),
        Column("customer_id", GUID, nullable=True),
        Column("spec", Text, nullable=False),
        counter,
        Column("created_at", Timestamp, nullable=False),
    )


# Devices a rule may still decide (None: no limit).
emulator_rules = _stored_control("emulator_rules", Column("remaining", Integer, nullable=True))
# Matching calls so far (for nth and count).
emulator_faults = _stored_control(
    "emulator_faults", Column("seen", Integer, nullable=False, default=0)
)

# A finished job a rule keeps reporting as processing: for ``polls`` more polls, or until
# ``release_at``.
emulator_holds = Table(
    "emulator_holds",
    metadata,
    Column("job_id", GUID, primary_key=True),
    Column("polls", Integer, nullable=True),
    Column("release_at", Timestamp, nullable=True),
)

# The request journal (GET /_ztd/v1/requests), kept while ZTD_JOURNAL=true; bounded by count
# and age. No header is stored, so no token ever is.
emulator_requests = Table(
    "emulator_requests",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("at", Timestamp, nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("partner_id", String(64), nullable=True),
    Column("customer_id", String(64), nullable=True),
    Column("request_id", String(widths.REQUEST_ID), nullable=True),
    Column("correlation_id", String(widths.CORRELATION_ID), nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("body_excerpt", Text, nullable=True),
    Column("fault_id", GUID, nullable=True),  # the injected fault that answered, if one did
    Index(None, "correlation_id"),
)

# Throttling set with PUT /_ztd/v1/throttling (one row; none: the ZTD_THROTTLE_* settings).
emulator_throttling = Table(
    "emulator_throttling",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("spec", Text, nullable=False),
)

# Throttling's moving windows when ZTD_THROTTLE_STORAGE=database (the default): one row per
# admitted request, so every API process, on any host, counts the same window. ``bucket`` is
# the SHA-256 (hex) of the ``limits`` key, which names scope, tenants and limit: indexed
# whatever the length of a customer id in a path; ``key`` is kept to report the bucket. Times
# are epoch seconds; rows past ``expires_at`` are out of every window and pruned.
emulator_throttle_hits = Table(
    "emulator_throttle_hits",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("bucket", String(64), nullable=False),
    Column("key", Text, nullable=False),
    Column("at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Index(None, "bucket", "at"),
    Index(None, "expires_at"),
)

# How many times the stored world was reset or replaced by a snapshot (one row, id 1; none:
# never). Every API process reads it with the emulator's controls and, when it moved, drops
# the status documents and relationships it cached of the world before.
emulator_world = Table(
    "emulator_world",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("generation", Integer, nullable=False),
)

# Webhooks (src/ztd/server/webhooks/). A subscription is a partner's registration: an HTTP
# endpoint, or a temporary ``listen`` channel drained by `ztd listen` (no URL; removed once
# its ``expires_at`` passes without a poll). ``secret`` signs deliveries; after a rotation the
# previous one signs too until ``previous_expires_at``.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", GUID, primary_key=True),
    Column("partner_id", GUID, nullable=False),
    Column("channel", String(16), nullable=False),  # "http" | "listen"
    Column("url", Text, nullable=True),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("previous_expires_at", Timestamp, nullable=True),
    Column("status", String(16), nullable=False),  # "active" | "disabled"
    Column("disabled_reason", Text, nullable=True),
    Column("disabled_at", Timestamp, nullable=True),  # cleared, with the reason, on re-enabling
    Column("failing_since", Timestamp, nullable=True),  # first failure of the current run
    Column("expires_at", Timestamp, nullable=True),  # listen channels only
    Column("created_at", Timestamp, nullable=False),
    # The one query a finished job costs when nobody listens: this partner's active ones.
    Index(None, "partner_id", "status"),
)

# The outbox: an event is stored in the transaction that caused it (a job finishing, a batch
# created), with one delivery per matching subscription. ``id`` is the webhook-id receivers
# de-duplicate on; ``payload`` the exact bytes signed and sent.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("partner_id", GUID, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index(None, "partner_id", "created_at"),
)

# One event to one subscription: the leased unit the deliverer claims. Status: pending (due
# at next_attempt_at), sending (leased), delivered, failed (out of attempts), cancelled (its
# subscription was disabled or removed).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), ForeignKey("webhook_events.id"), nullable=False),
    Column("subscription_id", GUID, nullable=False),
    Column("partner_id", GUID, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # Attempts since the delivery was last queued (the retry schedule's index), and those
    # made before that (replays): an attempt's number is their sum, which replays continue.
    Column("attempts", Integer, nullable=False, default=0),
    Column("earlier_attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Timestamp, nullable=True),
    Column("lease_token", GUID, nullable=True),
    Column("lease_expires_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "subscription_id", "pk"),
    Index(None, "event_id"),
)

# The delivery log: every attempt, with what the endpoint answered (cut to an excerpt).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("pk", AutoId, primary_key=True, autoincrement=True),
    Column("delivery_pk", AutoId, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("subscription_id", GUID, nullable=False),
    Column("partner_id", GUID, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", Timestamp, nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no HTTP answer (see error)
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("response_excerpt", Text, nullable=True),
    Index(None, "subscription_id", "pk"),
    Index(None, "event_id"),
)
