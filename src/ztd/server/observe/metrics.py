"""The Prometheus series ztd exports, in one place (names and labels are documented in
docs/observability.md). No label ever holds a tenant id: label values come from small fixed
sets (route templates, status codes, outcome codes, job kinds).

Under several server processes (``ztd serve --workers N``) prometheus-client's
multiprocess mode must be on, with ``PROMETHEUS_MULTIPROC_DIR`` set before this module is
imported: ``ztd serve`` does that itself (see ``ensure_multiprocess_dir``).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds: a status poll answers in well under a millisecond, an upload of 10,000 devices in
# seconds, a job under load in minutes.
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_CHUNK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_REQUESTS = Counter(
    "ztd_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "ztd_http_request_duration_seconds",
    "Time to answer a request routed through the framework (the status fast lane is not "
    "timed, only counted), by route template.",
    ["route"],
    buckets=_REQUEST_BUCKETS,
)
CHUNK_DURATION = Histogram(
    "ztd_job_chunk_duration_seconds",
    "Time a worker spent on one leased chunk, from claim to commit, by job kind.",
    ["kind"],
    buckets=_CHUNK_BUCKETS,
)
DEVICES_PROCESSED = Counter(
    "ztd_devices_processed_total",
    "Job items processed by workers, by job kind and outcome: 'ok', or the error code "
    "(802, 806, 808, ...; the error name where Microsoft gives no number).",
    ["kind", "outcome"],
)
JOB_LATENCY = Histogram(
    "ztd_job_latency_seconds",
    "From the job's submission to its last chunk done, by job kind.",
    ["kind"],
    buckets=_JOB_BUCKETS,
)
LEASE_EXPIRIES = Counter(
    "ztd_lease_expiries_total",
    "Chunk leases the reaper found expired (the worker holding it died or stalled).",
)
REAPER_RESCUES = Counter(
    "ztd_reaper_rescues_total",
    "Chunks with an expired lease the reaper queued again for another worker.",
)
LEASES_LOST = Counter(
    "ztd_leases_lost_total",
    "Chunks a worker dropped because its lease had been taken over.",
)
RATE_LIMIT_REJECTIONS = Counter(
    "ztd_rate_limit_rejections_total",
    "Requests refused with 429 by a rate limit, by endpoint.",
    ["endpoint"],
)
TOKEN_RATE_LIMITED = RATE_LIMIT_REJECTIONS.labels(endpoint="/oauth2/token")
