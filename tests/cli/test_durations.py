"""The command line's ages, waits and lifetimes (ztd.cli.durations): an age that is one but
out of range is said to be out of range, with the limit (not "neither a time nor an age",
nor a traceback for an overflowing datetime), and negative, zero, NaN, infinite or
overflowing values of every duration option exit 3 before anything is read or sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ztd.cli.durations import MAX_AGE_DAYS, MAX_TOKEN_HOURS, MAX_WAIT_SECONDS
from ztd.cli.main import app as ztd_app
from ztd.cli.webhook_registration_commands import parse_since

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _run(*argv: str) -> tuple[int, str]:
    # Nowhere to send anything: a refusal has to come before any call.
    env = {"COLUMNS": "200", "ZTD_URL": "http://127.0.0.1:9", "ZTD_TOKEN": "unused"}
    done = CliRunner().invoke(ztd_app, list(argv), env=env)
    return done.exit_code, " ".join(done.output.replace("│", " ").split())


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("99999999999d", f"is out of range: an age is at most {MAX_AGE_DAYS}d (10 years)"),
        ("999999d", "is out of range"),  # was an OverflowError traceback
        (f"{MAX_AGE_DAYS * 24 + 1}h", "is out of range"),
        (f"{MAX_AGE_DAYS * 86400 + 1}s", "is out of range"),
        ("0h", "an age of 0 reaches back to now, so it selects nothing"),
        ("0d", "an age of 0"),
        ("-5d", "is not negative: write 5d"),
        ("+5d", None),
        ("24w", "unknown unit 'w'"),
        ("24", "a number without a unit"),
        ("2099-01-01T00:00:00Z", "'2099-01-01T00:00:00Z' is in the future"),
        ("yesterday", "is neither an ISO 8601 time"),
        ("2026-11-30T00:00:00", "has no time zone"),
    ],
)
def test_failed_since_says_what_is_wrong_with_it(given: str, said: str | None) -> None:
    code, shown = _run("webhooks", "replay", "abc", "--failed-since", given)
    if said is None:  # taken: the call is then tried (and cannot reach anything)
        assert "cannot reach" in shown, shown
        return
    assert code == 3, shown
    assert f"error: --failed-since {given!r}" in shown and said in shown, shown


def test_the_ages_in_range_are_taken_in_any_unit_and_case() -> None:
    assert parse_since(f"{MAX_AGE_DAYS}d", NOW) == NOW - timedelta(days=MAX_AGE_DAYS)
    assert parse_since("24H", NOW) == parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since(" 90m ", NOW) == NOW - timedelta(minutes=90)
    assert parse_since("1s", NOW) == NOW - timedelta(seconds=1)
    assert parse_since("2026-11-30T11:00:00+01:00", NOW) == datetime(2026, 11, 30, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("nan", "nan is not a number of seconds"),
        ("inf", f"inf is not in the range 0<=x<={MAX_WAIT_SECONDS}"),
        ("1e400", "inf is not in the range"),  # overflows to infinity
        (str(MAX_WAIT_SECONDS + 1), f"{MAX_WAIT_SECONDS + 1}.0 is not in the range"),
        ("-1", "-1.0 is not in the range"),
    ],
)
def test_timeout_refuses_what_is_no_wait(given: str, said: str) -> None:
    for argv in (
        ["status", "--customer", "c", "t", "--wait"],
        ["upload", "missing.csv", "--customer", "c", "--wait"],
    ):
        code, shown = _run(*argv, "--timeout", given)
        assert code == 3, (argv, shown)
        assert f"Invalid value for '--timeout': {said}" in shown, (argv, shown)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("0", "0 is out of range: a lifetime is more than 0"),
        ("-1", "-1 is out of range"),
        ("nan", "nan is not a number of hours"),
        ("inf", "inf is out of range"),
        ("1e20", "1e+20 is out of range"),  # was an OverflowError traceback
        (
            str(MAX_TOKEN_HOURS + 1),
            f"{MAX_TOKEN_HOURS + 1} is out of range: a lifetime is more than 0 and at most "
            f"{MAX_TOKEN_HOURS} hours (366 days)",
        ),
    ],
)
def test_a_token_lifetime_is_refused_outside_its_range(
    given: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZTD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ZTD_DATABASE_URL", raising=False)
    code, shown = _run("admin", "token", "--partner", "p", "--hours", given)
    assert code == 3, shown
    assert f"Invalid value for '--hours': {said}" in shown, shown
    assert not (tmp_path / "data").exists()  # refused before the database was opened
