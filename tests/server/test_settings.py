"""Settings read from ZTD_* variables: every nonsensical value is refused, and the refusal
(settings_errors.explain) is one line naming the variable, its value, why and the form
expected. The CLI side (one line, exit 2, from real processes) is tests/cli/test_settings."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from ztd.server.settings import Settings
from ztd.server.settings_errors import explain, is_settings_error

BAD = [
    # variable, value, words of the reason, words of the expected form
    ("ZTD_PAGE_SIZE", "abc", "valid integer", "a whole number >= 1"),
    ("ZTD_PAGE_SIZE", "0", "greater than or equal to 1", "a whole number >= 1"),
    ("ZTD_MAX_BODY_BYTES", "-5", "greater than or equal to 1", "a whole number >= 1"),
    ("ZTD_MAX_DEVICES_PER_REQUEST", "0", "greater than or equal to 1", ">= 1"),
    ("ZTD_TOKEN_TTL_SECONDS", "0", "greater than or equal to 1", ">= 1"),
    ("ZTD_LEASE_SECONDS", "-1", "greater than 0", "a number > 0"),
    ("ZTD_LEASE_SECONDS", "inf", "finite number", "a number > 0"),
    ("ZTD_WEBHOOK_TIMEOUT_SECONDS", "nan", "finite number", "a number > 0"),
    ("ZTD_HEADER_TIMEOUT_SECONDS", "0", "greater than 0", "a number > 0"),
    ("ZTD_SHUTDOWN_GRACE_SECONDS", "-0.5", "greater than or equal to 0", ">= 0"),
    ("ZTD_CHUNK_SIZE", "1.5", "valid integer", "a whole number >= 1"),
    (
        "ZTD_WEBHOOK_RETRY_SECONDS",
        "[5,-1]",
        "item 2: input should be greater than or equal",
        "each >= 0",
    ),
    ("ZTD_WEBHOOK_RETRY_SECONDS", "5,-1", "item 2", "e.g. 0,5,300 or [0,5,300]"),
    ("ZTD_WEBHOOK_RETRY_SECONDS", "5,x", "item 2: input should be a valid number", "numbers"),
    ("ZTD_WEBHOOK_RETRY_SECONDS", "[5,", "not valid JSON", "a list of numbers"),
    ("ZTD_WEBHOOK_RETRY_SECONDS", "[]", "at least 1 item", "not empty"),
    ("ZTD_TRUSTED_ISSUERS", "[{", "not valid JSON", "a JSON list of objects with issuer"),
    ("ZTD_TRUSTED_ISSUERS", '[{"issuer": "x"}]', "item 1, audience: field required", "jwks_uri"),
    ("ZTD_LOG_LEVEL", "loud", "'debug', 'info', 'warning' or 'error'", "one of: debug, info"),
    ("ZTD_REGISTRATION_MODE", "lax", "'open' or 'strict'", "one of: open, strict"),
    ("ZTD_WEBHOOK_ALLOW_PRIVATE", "yes", "'true', 'false' or 'loopback'", "one of: true"),
    ("ZTD_JOURNAL", "maybe", "valid boolean", "true or false"),
    ("ZTD_THROTTLE_PARTNER", "fast", "should match pattern", "e.g. 100/60"),
    ("ZTD_TOKEN_ATTEMPTS_PER_CLIENT", "often", "not a rate limit like", "e.g. 5/second"),
    # Every size, count and timeout: zero (or below its floor) is refused.
    ("ZTD_WEBHOOK_MAX_RESPONSE_BYTES", "0", "greater than or equal to 1", ">= 1"),
    ("ZTD_WEBHOOK_CONCURRENCY", "0", "greater than or equal to 1", ">= 1"),
    ("ZTD_WEBHOOK_CONCURRENCY", "65", "less than or equal to 64", "<= 64"),
    ("ZTD_WEBHOOK_DISABLE_AFTER_DAYS", "0", "greater than 0", "a number > 0"),
    ("ZTD_JOURNAL_MAX_ENTRIES", "0", "greater than or equal to 1", ">= 1"),
    ("ZTD_JOURNAL_MAX_AGE_SECONDS", "0", "greater than 0", "a number > 0"),
    ("ZTD_MAX_ATTEMPTS", "0", "greater than or equal to 1", ">= 1"),
    ("ZTD_POLL_INTERVAL_SECONDS", "0", "greater than 0", "a number > 0"),
    ("ZTD_BODY_TIMEOUT_SECONDS", "0", "greater than 0", "a number > 0"),
    ("ZTD_KEEP_ALIVE_SECONDS", "0", "greater than 0", "a number > 0"),
    ("ZTD_MAX_URL_BYTES", "255", "greater than or equal to 256", ">= 256"),
    ("ZTD_MAX_HEADER_BYTES", "0", "greater than or equal to 1024", ">= 1024"),
    ("ZTD_MAX_HEADER_COUNT", "7", "greater than or equal to 8", ">= 8"),
    ("ZTD_IDEMPOTENCY_RETENTION_HOURS", "0", "greater than 0", "a number > 0"),
    ("ZTD_JOB_RETENTION_DAYS", "0", "greater than 0", "a number > 0"),
    ("ZTD_TOKEN_HASH_QUEUE", "-1", "greater than or equal to 0", ">= 0"),
    ("ZTD_THROTTLE_PARTNER", "0/60", "should match pattern", "e.g. 100/60"),
    ("ZTD_THROTTLE_CUSTOMER", "10/0", "should match pattern", "e.g. 10/60"),
    ("ZTD_THROTTLE_CUSTOMER", "10/86401", "at most 86400 seconds", "e.g. 10/60"),
    ("ZTD_THROTTLE_PARTNER", "100001/60", "at most 100000 requests", "e.g. 100/60"),
    ("ZTD_THROTTLE_STORAGE", "databse", "neither database nor a storage URI", "memory://"),
    ("ZTD_THROTTLE_STORAGE", "redis", "neither database nor a storage URI", "memory://"),
    # Schemes `limits` knows but whose client ztd does not install: refused at start, not
    # by a worker process's traceback on its first request.
    ("ZTD_THROTTLE_STORAGE", "memcached://x:11211", "memcached:// is not a storage", "redis://"),
    ("ZTD_THROTTLE_STORAGE", "valkey://x:6379", "valkey:// is not a storage", "redis://"),
]


@pytest.mark.parametrize(("name", "value", "why", "form"), BAD)
def test_a_bad_value_is_one_line_naming_variable_value_reason_and_form(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, why: str, form: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert is_settings_error(raised.value)
    said = explain(raised.value)
    assert "\n" not in said
    assert said.startswith(f"{name}={value!r}: "), said
    assert why in said, said
    assert form in said.split("; expected ", 1)[1], said


def test_several_bad_variables_are_all_named_on_the_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZTD_PAGE_SIZE", "abc")
    monkeypatch.setenv("ZTD_LEASE_SECONDS", "-1")
    with pytest.raises(ValidationError) as raised:
        Settings()
    said = explain(raised.value)
    assert "\n" not in said
    assert "ZTD_PAGE_SIZE='abc'" in said and "ZTD_LEASE_SECONDS='-1'" in said
    assert said.count(" | ") == 1


def test_a_secret_value_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    # SecretStr takes any text, so the refusal comes from a type error given in code.
    with pytest.raises(ValidationError) as raised:
        Settings(key_encryption_key=42)  # type: ignore[arg-type]
    said = explain(raised.value)
    assert said.startswith("ZTD_KEY_ENCRYPTION_KEY=(hidden): "), said
    assert "42" not in said


@pytest.mark.parametrize(
    ("value", "delays"),
    [
        ("5,300", [5.0, 300.0]),
        (" 0, 5 ,300 ", [0.0, 5.0, 300.0]),
        ("[0, 5, 300]", [0.0, 5.0, 300.0]),
        ("7", [7.0]),
    ],
)
def test_retry_delays_are_comma_separated_or_a_json_list(
    monkeypatch: pytest.MonkeyPatch, value: str, delays: list[float]
) -> None:
    monkeypatch.setenv("ZTD_WEBHOOK_RETRY_SECONDS", value)
    assert Settings().webhook_retry_seconds == delays


def test_trusted_issuers_are_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ZTD_TRUSTED_ISSUERS",
        '[{"issuer": "https://i", "audience": "api://a", "jwks_uri": "https://i/keys"}]',
    )
    (issuer,) = Settings().trusted_issuers
    assert (issuer.issuer, issuer.audience, issuer.tenant_claim) == ("https://i", "api://a", "tid")


def test_the_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.upper().startswith("ZTD_")]:
        monkeypatch.delenv(name)
    settings = Settings()
    assert settings.page_size == 100 and settings.webhook_retry_seconds[0] == 0


@pytest.mark.parametrize(
    "value",
    [
        "mongodb://ops:s3cret@db.example/limits",
        "memcached://:s3cret@cache.example:11211",
        "redis://ops:s3cret@cache.example:notaport/0",  # the library's message quotes it
        "rediss://cache.example:notaport/0?password=s3cret",
    ],
)
def test_a_storage_urls_password_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ZTD_THROTTLE_STORAGE", value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    said = explain(raised.value)
    assert "s3cret" not in said and "***" in said, said
    assert said.startswith("ZTD_THROTTLE_STORAGE='"), said


@pytest.mark.parametrize(
    "value", ["memory://", "redis://127.0.0.1:6379/0", "REDIS://127.0.0.1:6379/0", "database"]
)
def test_a_usable_throttle_storage_is_accepted(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ZTD_THROTTLE_STORAGE", value)
    assert Settings().throttle_storage == value
