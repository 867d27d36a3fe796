"""The command line's durations, ages and waits, with their bounds in one place: a value
outside them (negative, zero where that means nothing, beyond the limit, NaN or infinity)
is refused with exit code 3, saying which option, why and the limit, instead of being
taken for something else or ending in a traceback (an overflowing datetime)."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import NoReturn

import typer

from ztd.cli.output import EXIT_INVALID_INPUT, fail

# An age: a whole number and a unit, e.g. 90m, 24h, 7d (a sign is read, to say it is wrong).
_AGE = re.compile(r"([+-]?)([0-9]+)\s*([a-zA-Z]*)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
AGE_EXAMPLES = "90m, 24h, 7d"

MAX_AGE_DAYS = 3650  # ten years back: older than any delivery log worth replaying
MAX_WAIT_SECONDS = 30 * 86400  # --timeout: a month, past which jobs are purged anyway
MAX_TOKEN_HOURS = 366 * 24  # `ztd admin token --hours`: a year


def age(option: str, text: str) -> timedelta | None:
    """``text`` as an age (``24h``), None when it is not written as one. An age written as
    one but negative, zero, with an unknown unit or past MAX_AGE_DAYS exits with code 3."""
    found = _AGE.fullmatch(text.strip())
    if found is None:
        return None
    sign, number, unit = found.groups()
    said = f"{option} {text!r}"
    if unit.lower() not in _UNIT_SECONDS:
        what = f"unknown unit {unit!r}" if unit else "a number without a unit"
        refuse(f"{said}: {what}; an age is a whole number and s, m, h or d, e.g. {AGE_EXAMPLES}")
    seconds = int(number) * _UNIT_SECONDS[unit.lower()]
    if sign == "-":
        refuse(f"{said}: an age counts back from now and is not negative: write {number}{unit}")
    if seconds == 0:
        refuse(f"{said}: an age of 0 reaches back to now, so it selects nothing; e.g. 24h")
    if seconds > MAX_AGE_DAYS * 86400:
        refuse(
            f"{said} is out of range: an age is at most {MAX_AGE_DAYS}d ({MAX_AGE_DAYS // 365} "
            "years); or give the time, e.g. 2026-11-30T00:00:00Z"
        )
    return timedelta(seconds=seconds)


def past_time(option: str, text: str, moment: datetime, now: datetime) -> datetime:
    """``moment`` (``text`` read, with its zone), refused with exit code 3 when it is after
    ``now``: nothing could have happened since."""
    if moment > now:
        refuse(f"{option} {text!r} is in the future: nothing happened since then")
    return moment


def finite_seconds(value: float | None) -> float | None:
    """Click callback of --timeout, whose range (0 to MAX_WAIT_SECONDS) Click checks: NaN
    passes any range, and would wait for ever."""
    if value is not None and math.isnan(value):
        raise typer.BadParameter("nan is not a number of seconds")
    return value


def token_hours(value: float) -> float:
    """Click callback of `ztd admin token --hours`: more than 0 (a token already expired
    is no use) and at most MAX_TOKEN_HOURS; NaN and infinity are not hours."""
    if math.isnan(value):
        raise typer.BadParameter("nan is not a number of hours")
    if not 0 < value <= MAX_TOKEN_HOURS:
        raise typer.BadParameter(
            f"{value:g} is out of range: a lifetime is more than 0 and at most "
            f"{MAX_TOKEN_HOURS} hours ({MAX_TOKEN_HOURS // 24} days)"
        )
    return value


def refuse(message: str) -> NoReturn:
    fail(message, EXIT_INVALID_INPUT)
