"""Server settings, read from ``ZTD_*`` environment variables (documented in the README).

Every numeric setting is bounded where a value outside would make no sense (a negative
timeout, a zero page size), and NaN or infinity are refused: a bad value fails when the
settings are read, with pydantic's ValidationError, which `settings_errors.explain` turns
into one line naming the variable."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import limits
import orjson
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ztd.server.auth.fernet_keys import MAKE_ONE, fernet_keys, read_key_file

# The first attempt at once, then Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SECONDS = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class RegistrationMode(StrEnum):
    OPEN = "open"  # PKID-only and tuple uploads register without an OEM record
    STRICT = "strict"  # ... and get 812 ZtdDeviceNotFound unless the OEM registry knows them


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class ExternalIssuer(BaseModel):
    """An OIDC issuer whose tokens ztd accepts besides its own (e.g. Entra ID)."""

    issuer: str
    audience: str
    jwks_uri: str
    tenant_claim: str = "tid"  # the claim naming the partner tenant
    roles_claim: str = "roles"
    # Claim value -> ztd role name (global-admin, admin-agent, sales-agent).
    role_map: dict[str, str] = Field(
        default_factory=lambda: {
            "global-admin": "global-admin",
            "admin-agent": "admin-agent",
            "sales-agent": "sales-agent",
            "GlobalAdmin": "global-admin",
            "AdminAgent": "admin-agent",
            "SalesAgent": "sales-agent",
        }
    )
    app_claim: str = "idtyp"  # "app" marks an app-only token, as in Entra ID v2 tokens


_LIMIT = r"^[1-9][0-9]*/[1-9][0-9]*$"  # REQUESTS/SECONDS, each a whole number >= 1
# A throttling window's bounds (settings and PUT /_ztd/v1/throttling alike): Partner Center
# throttles per minute or so, and the database storage keeps a row per request admitted in
# the window, so a day and 100,000 requests are far past any real need.
THROTTLE_MAX_REQUESTS = 100_000
THROTTLE_MAX_SECONDS = 86_400


# ZTD_THROTTLE_STORAGE for the counters in ztd's own database (emulator.throttle_store).
THROTTLE_IN_DATABASE = "database"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZTD_", extra="ignore", allow_inf_nan=False)

    data_dir: Path = Path(".ztd")
    database_url: str | None = None

    # Identity: the built-in issuer. The audience is Partner Center's own, so tokens minted
    # for the real service and for ztd look alike to client code.
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "https://api.partnercenter.microsoft.com"
    token_ttl_seconds: int = Field(default=3600, ge=1)
    allow_app_only_batch_create: bool = False
    # Set (or mounted as a file), the signing keys live in the database, encrypted with it,
    # and every process sharing the database issues and accepts the same tokens
    # (auth/key_encryption.py). Unset, they are files under data_dir.
    # Both are checked when the settings are read (a malformed key, an unreadable file,
    # both set), so that a mistake is one line before anything starts, as for any setting.
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description=f"Fernet keys, comma-separated, the first encrypting: {MAKE_ONE}",
    )
    key_encryption_key_file: Path | None = Field(
        default=None,
        description="a readable file holding what ZTD_KEY_ENCRYPTION_KEY would: Fernet keys, "
        f"comma-separated; {MAKE_ONE}",
    )
    # Trusted external OIDC issuers (Entra ID and the like), as a JSON list; see README.
    trusted_issuers: Annotated[list[ExternalIssuer], NoDecode] = Field(default_factory=list)
    # The token endpoint: attempts per client address and per client id, in the `limits`
    # notation ("60/minute", "5/second; 100/hour"), and the pool that checks client secrets
    # (0 workers: half the CPU cores, at least one). A refused attempt is answered (429)
    # after a delay, which slows down clients that retry at once.
    token_attempts_per_address: str = Field(default="60/minute", examples=["5/second; 100/hour"])
    token_attempts_per_client: str = Field(default="10/minute", examples=["5/second; 100/hour"])
    token_hash_workers: int = Field(default=0, ge=0)
    token_hash_queue: int = Field(default=8, ge=0)  # 0: none waits, beyond the workers 429
    token_refusal_delay_seconds: float = Field(default=1.0, ge=0)  # 0: answered at once

    # A retried write with the same MS-RequestId replays the first response this long.
    idempotency_retention_hours: float = Field(default=24.0, gt=0)
    # Finished jobs (their status, items and chunks) are purged this long after they finished;
    # the devices they registered stay.
    job_retention_days: float = Field(default=30.0, gt=0)

    # Limits that protect the service.
    max_body_bytes: int = Field(default=50_000_000, ge=1)  # 10,000 devices with 4,000-char hashes
    max_devices_per_request: int = Field(default=10_000, ge=1)
    page_size: int = Field(default=100, ge=1)
    # Per request and connection, enforced by the HTTP server (server/http_limits.py).
    max_url_bytes: int = Field(default=8192, ge=256)
    max_header_bytes: int = Field(default=65536, ge=1024)
    max_header_count: int = Field(default=100, ge=8)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    keep_alive_seconds: float = Field(default=5.0, gt=0)

    # Job engine.
    chunk_size: int = Field(default=2500, ge=1)  # devices per leased unit of work
    lease_seconds: float = Field(default=30.0, gt=0)
    poll_interval_seconds: float = Field(default=0.5, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    # On SIGTERM a worker lets the chunk in progress finish for this long, then rolls it back
    # and releases it for another worker (its exit bound is about this plus a rollback).
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)  # 0: rolled back at once

    embedded_worker: bool = True  # `ztd serve --no-worker` turns it off
    registration_mode: RegistrationMode = RegistrationMode.OPEN
    # Top-level batch status "finished_with_errors" when a device failed (the seed says
    # "finished": every device processed, outcomes in the device entries).
    batch_status_with_errors: bool = False
    server_id: str = "000000001"
    # Logs: "json", "console", or "auto" (console on a terminal, JSON otherwise).
    log_format: LogFormat = LogFormat.AUTO
    log_level: LogLevel = LogLevel.INFO

    @field_validator("token_attempts_per_address", "token_attempts_per_client")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit like '60/minute': {exc}") from None
        return value

    # The emulator's control plane under /_ztd/v1/ (operator tokens only); false hides it.
    control_plane: bool = True
    # The request journal (GET /_ztd/v1/requests); off, it costs requests nothing.
    journal: bool = False
    journal_max_entries: int = Field(default=1000, ge=1)
    journal_max_age_seconds: float = Field(default=3600.0, gt=0)
    # Throttling as Partner Center does it, "REQUESTS/SECONDS" per partner and per
    # partner+customer (off when unset; PUT /_ztd/v1/throttling overrides). Counted where
    # throttle_storage says: "database" (ztd's own database, shared by every API process of
    # the deployment), "redis://host:6379/0" (shared too), or "memory://" (each API process
    # counts alone: with several, together they admit several times the limit).
    # Both numbers at least 1 (as PUT /_ztd/v1/throttling's): 0 requests or 0 seconds is
    # no limit one could meet.
    throttle_partner: str | None = Field(default=None, pattern=_LIMIT, examples=["100/60"])
    throttle_customer: str | None = Field(default=None, pattern=_LIMIT, examples=["10/60"])
    throttle_storage: str = Field(
        default=THROTTLE_IN_DATABASE,
        description="database, memory:// or redis://host:6379/0",
        examples=["redis://host:6379/0"],
    )
    throttle_headers: bool = False  # RateLimit-Limit/-Remaining/-Reset on throttled routes

    # Webhooks (docs/webhooks.md). Delivery targets in private, loopback, link-local, CGN or
    # unique local ranges are refused ("false"), allowed ("true"), or only loopback is
    # ("loopback"); unset, the embedded default (SQLite) allows loopback and a PostgreSQL
    # deployment refuses them all. Multicast, reserved and the like: always refused
    # (webhooks/addresses.py).
    webhook_allow_private: Literal["true", "false", "loopback"] | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)  # connect, write, read: each
    webhook_max_response_bytes: int = Field(default=65536, ge=1)  # read, then hung up on
    # Deliveries sent at once by one worker process, each from its own thread; one partner
    # gets at most half of them (at least one), one registration one (webhooks.dispatch).
    webhook_concurrency: int = Field(default=16, ge=1, le=64)
    # Seconds before each attempt, counted from the event (first) or the previous failure;
    # its length is the number of attempts before a delivery is failed for good. A JSON list
    # or, as operators tend to write it, comma-separated.
    webhook_retry_seconds: Annotated[list[Annotated[float, Field(ge=0)]], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SECONDS),
        min_length=1,
        examples=["0,5,300 or [0,5,300]"],
    )

    @field_validator("throttle_partner", "throttle_customer")
    @classmethod
    def _throttle_limit(cls, value: str | None) -> str | None:
        if value is not None:
            requests, seconds = (int(part) for part in value.split("/"))
            if requests > THROTTLE_MAX_REQUESTS or seconds > THROTTLE_MAX_SECONDS:
                raise ValueError(
                    f"at most {THROTTLE_MAX_REQUESTS} requests in at most "
                    f"{THROTTLE_MAX_SECONDS} seconds (a day)"
                )
        return value

    @field_validator("throttle_storage")
    @classmethod
    def _throttle_storage(cls, value: str) -> str:
        if value == THROTTLE_IN_DATABASE:
            return value
        from limits.errors import ConfigurationError

        from ztd.server.emulator.limits_storage import limits_storage
        from ztd.server.url_text import shown_url, without_secrets

        if "://" not in value:
            raise ValueError("it is neither database nor a storage URI")
        try:
            limits_storage(value)  # connects to nothing: refuses what cannot work at all
        except ConfigurationError as exc:
            why = without_secrets(str(exc), value)
            raise ValueError(f"{shown_url(value)} cannot be used: {why}") from None
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return value

    # An endpoint failing every attempt for this long is disabled, with the reason.
    webhook_disable_after_days: float = Field(default=5.0, gt=0)

    @field_validator("key_encryption_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            fernet_keys(value.get_secret_value())  # says which key and why, never the key
        return value

    @field_validator("key_encryption_key_file")
    @classmethod
    def _fernet_key_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            fernet_keys(read_key_file(value))
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> Settings:
        if self.key_encryption_key is not None and self.key_encryption_key_file is not None:
            raise ValueError("set ZTD_KEY_ENCRYPTION_KEY or ZTD_KEY_ENCRYPTION_KEY_FILE, not both")
        return self

    @field_validator("webhook_retry_seconds", mode="before")
    @classmethod
    def _json_or_commas(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",")]
        return _json(value)

    @field_validator("trusted_issuers", mode="before")
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        return _json(value)

    @property
    def webhook_private_policy(self) -> str:
        """ "true", "false" or "loopback": the setting, or its default for this database."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return "loopback" if self.resolved_database_url.startswith("sqlite") else "false"

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the given one (with the psycopg 3 driver), else SQLite."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'ztd.sqlite3').resolve()}"


def _json(value: Any) -> Any:
    """A variable's JSON text decoded (other values, e.g. keyword arguments, as they are)."""
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None


def normalize_database_url(url: str) -> str:
    # Operators write plain postgresql:// URLs; SQLAlchemy would pick psycopg2 for those.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
