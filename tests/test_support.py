"""The test helpers that other tests rely on to fail when they should."""

from __future__ import annotations

import time

import pytest

from tests.support.waiting import wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([None, 0, "", "ready", "later"])
    assert wait_until(lambda: next(answers), timeout=5, interval=0.001) == "ready"


def test_wait_until_fails_after_the_timeout_saying_what_it_waited_for() -> None:
    calls: list[float] = []

    def never() -> bool:
        calls.append(time.monotonic())
        return False

    with pytest.raises(AssertionError, match=r"not within 0.05 s: the sky to fall"):
        wait_until(never, timeout=0.05, interval=0.01, message=lambda: "the sky to fall")
    assert len(calls) >= 2  # at least once, and once more at the deadline
    assert calls[-1] - calls[0] >= 0.05


def test_wait_until_refuses_a_wait_that_cannot_end_or_cannot_start() -> None:
    for timeout, interval in ((0, 0.1), (1, 0), (-1, 0.1)):
        with pytest.raises(ValueError, match="must be positive"):
            wait_until(lambda: True, timeout=timeout, interval=interval)
