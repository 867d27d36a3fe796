"""Sending webhooks beside the chunk loop: a dispatcher thread that claims due deliveries and
hands each to a sender thread of its own, at most ZTD_WEBHOOK_CONCURRENCY at once.

A slow endpoint then holds one sender for at most its timeouts, never the job engine nor the
other endpoints: a registration has at most one delivery in flight (the claim query sees to
it, across processes). Fairness between partners, per process: a partner gets at most a
quarter of the senders (at least one), and the last half of the senders is kept for
partners with nothing in flight, one send each. So slow endpoints of other partners keep a
partner with nothing in flight waiting only when half the senders are each held by a
different partner (8 of them with the default 16 senders).

Timing. The dispatcher claims whenever a sender is free and a delivery is due; otherwise it
sleeps until the next due time (a retry: at its time), ZTD_POLL_INTERVAL_SECONDS at most,
and wakes at once when :meth:`Dispatcher.wake` is called (a job finished in this process, the
API recorded an event) or a send ends. Idle, it costs one indexed read a poll interval (no
SQLite write lock), plus the deliverer's sweep every SWEEP_SECONDS.

Stopping. Once ``stop`` is set nothing more is claimed; sends in flight get until the stop
plus ``grace`` seconds, then are abandoned: their outcome is not recorded, their lease runs
out, and a worker sends them again with the same webhook-id. Sender threads are daemons, so
an abandoned send never holds the process's exit."""

from __future__ import annotations

import logging
import threading
import time

from ztd.server.webhooks.delivery import Claimed, Deliverer

log = logging.getLogger("ztd.webhooks")

STOP_CHECK_SECONDS = 0.1  # how often a sleeping dispatcher looks at the stop flag


def partner_cap(concurrency: int) -> int:
    """Sends one partner may have in flight in one process: a quarter of the senders, at
    least one."""
    return max(1, concurrency // 4)


def reserve(concurrency: int) -> int:
    """Senders kept for partners with nothing in flight: half of them. Once no more than
    these are free, a partner that already has a send in flight claims nothing more."""
    return concurrency // 2


class Dispatcher:
    """One per worker process: ``start`` it with the worker's stop event, :meth:`wake` it
    when deliveries may have become due, :meth:`join` it once stopping."""

    def __init__(
        self,
        deliverer: Deliverer,
        *,
        concurrency: int,
        poll_interval: float,
        grace: float,
        wake: threading.Event | None = None,
    ) -> None:
        """``wake``: an event others set when deliveries may be due (one is made if None);
        ``poll_interval`` and ``grace`` in seconds."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.deliverer = deliverer
        self.concurrency = concurrency
        self.per_partner = partner_cap(concurrency)
        self.reserve = reserve(concurrency)
        self.poll_interval = poll_interval
        self.grace = grace
        self._wake = wake or threading.Event()
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)  # notified as each send ends
        self._in_flight: dict[int, Claimed] = {}  # by delivery pk
        self._abandoned = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> None:
        self._stop = stop
        self._thread = threading.Thread(target=self._run, daemon=True, name="ztd-webhooks")
        self._thread.start()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (thread-safe)."""
        self._wake.set()

    def join(self) -> list[Claimed]:
        """Wait for the dispatcher to end (it does by the stop plus ``grace``); returns the
        sends it abandoned, still in flight."""
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            return list(self._in_flight.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before looking: a wake-up meanwhile is kept
            try:
                delay = self._turn()
            except Exception:  # keep going; what was claimed has its lease
                log.exception("webhook dispatcher: looking for due deliveries failed")
                delay = self.poll_interval
            self._sleep(delay)
        self._drain(time.monotonic() + self.grace)

    def _turn(self) -> float:
        """Claim what may be sent now; returns how long to sleep (unless woken)."""
        self.deliverer.sweep_if_due()
        if not self._free():
            return self.poll_interval  # a send ending wakes the dispatcher
        until = self.deliverer.seconds_until_due()
        if until is None or until > 0:
            return min(until if until is not None else self.poll_interval, self.poll_interval)
        while not self._stop.is_set() and self._free():
            claimed = self.deliverer.claim_next(self._partners_at_cap())
            if claimed is None:  # the rest is another worker's, or waits for a send to end
                return self.poll_interval
            self._send(claimed)
        return self.poll_interval

    def _free(self) -> bool:
        with self._lock:
            return len(self._in_flight) < self.concurrency

    def _partners_at_cap(self) -> set[str]:
        """The partners that may not claim now: those at their cap, and, once only the
        reserve is free, every partner that already has a send in flight."""
        with self._lock:
            counts: dict[str, int] = {}
            for claimed in self._in_flight.values():
                counts[claimed.partner_id] = counts.get(claimed.partner_id, 0) + 1
            reserved = self.concurrency - len(self._in_flight) <= self.reserve
        if reserved:
            return set(counts)
        return {partner for partner, count in counts.items() if count >= self.per_partner}

    def _send(self, claimed: Claimed) -> None:
        with self._lock:
            self._in_flight[claimed.pk] = claimed
        threading.Thread(
            target=self._sender, args=(claimed,), daemon=True, name="ztd-webhook-send"
        ).start()

    def _sender(self, claimed: Claimed) -> None:
        try:
            self.deliverer.attempt(claimed, wanted=self._still_wanted)
        finally:
            with self._lock:
                self._in_flight.pop(claimed.pk, None)
                self._ended.notify_all()
            self._wake.set()

    def _still_wanted(self) -> bool:
        with self._lock:
            return not self._abandoned

    def _sleep(self, seconds: float) -> None:
        """Until woken, stopped, or ``seconds`` pass."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._wake.wait(min(left, STOP_CHECK_SECONDS)):
                return

    def _drain(self, deadline: float) -> None:
        """Stopping: let the sends in flight end until ``deadline`` (monotonic), then
        abandon the rest."""
        with self._lock:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ended.wait(left)
            self._abandoned = bool(self._in_flight)
            if self._abandoned:
                log.info(
                    "stopping: abandoned %d webhook send(s) in flight; their leases run out "
                    "and they are sent again with the same webhook-id",
                    len(self._in_flight),
                )
