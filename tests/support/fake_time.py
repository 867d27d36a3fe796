"""Fake time for SDK and CLI tests: the clock moves only when the code under test sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field

from ztd.server.jobs.worker import Worker


@dataclass
class FakeTime:
    """A clock that moves only when the code under test sleeps; each sleep lets the worker
    run (``worker`` may be None: then waiting changes nothing on the server)."""

    worker: Worker | None = None
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.worker is not None:
            self.worker.run_until_idle()

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
