"""Lease owners that say which process they are, so that a provably dead one is recognised.

A worker's name (``job_chunks.lease_owner``) records its host, its process id and that
process's start time: ``host/pid/started/scope/tag``. A worker on the same host then knows
the owner died when no process has that id any more, or when the process that has it started
at another time (the id was reused). Such an owner's chunks are reclaimed at once instead of
after their lease runs out (``leases.reap``).

``scope`` tells hosts apart that share a name: containers on the host network do, and each
has its own process ids. It is a digest of the host name, the kernel's boot id and the PID
namespace (Linux), so processes are only judged from inside the namespace whose ids they
carry. Anything that does not parse, or comes from another scope, is never judged dead: its
lease simply expires, as before. (So a container restarted with a new PID namespace waits
for its predecessor's leases to expire.)
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from functools import cache
from typing import NamedTuple

import psutil

# Start times are compared in hundredths of a second: psutil derives them from clock ticks
# since boot, which it may round differently from one read to the next by a tick.
_START_TOLERANCE = 0.05
_UNKNOWN = -1.0  # a start time psutil could not read


class Owner(NamedTuple):
    host: str
    pid: int
    started: float  # the process's start time, seconds since the epoch
    scope: str
    tag: str

    def __str__(self) -> str:
        return f"{self.host}/{self.pid}/{self.started:.2f}/{self.scope}/{self.tag}"


def this_process(tag: str | None = None) -> Owner:
    """The owner name of a worker in this process; ``tag`` tells workers of one process apart."""
    pid = os.getpid()
    try:
        started = _started(pid)
    except psutil.Error:  # unknown: then no other process may ever judge this one dead
        started = _UNKNOWN
    return Owner(_host_name(), pid, started, _scope(), tag or uuid.uuid4().hex[:6])


def parse(name: str | None) -> Owner | None:
    if not name:
        return None
    parts = name.rsplit("/", 4)
    if len(parts) != 5:
        return None
    host, pid, started, scope, tag = parts
    try:
        return Owner(host, int(pid), float(started), scope, tag)
    except ValueError:
        return None


def is_provably_dead(name: str | None) -> bool:
    """True only when ``name`` is an owner of this host (scope) whose process is gone: no
    process has its id, or the one that has it started at another time."""
    owner = parse(name)
    if owner is None or owner.started == _UNKNOWN:
        return False
    if owner.scope != _scope() or owner.host != _host_name():
        return False
    # Even an owner with this process's own id may be dead: a restarted server that runs as
    # PID 1 of its container gets the id its killed predecessor had; the start time tells.
    try:
        started = _started(owner.pid)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # it exists, but may not be looked at (another user's): alive
        return False
    return abs(started - owner.started) > _START_TOLERANCE


def _started(pid: int) -> float:
    """When process ``pid`` started, rounded as recorded. Raises psutil.NoSuchProcess."""
    return round(psutil.Process(pid).create_time(), 2)


@cache
def _host_name() -> str:
    # Host names never contain "/"; truncated so that a name fits lease_owner (128).
    return socket.gethostname()[:64] or "localhost"


@cache
def _scope() -> str:
    parts = [_host_name(), _read("/proc/sys/kernel/random/boot_id")]
    try:
        parts.append(os.readlink("/proc/self/ns/pid"))
    except OSError:
        parts.append("")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""
