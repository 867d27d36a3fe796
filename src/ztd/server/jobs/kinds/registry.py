"""The job kinds the engine knows, by ``batch_jobs.kind``.

A new kind is one module in this package with a ``make(settings)`` returning a
:class:`~ztd.server.jobs.contract.JobKind`, and one line below. Nothing else in ``jobs/``
imports a kind module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ztd.server.jobs.contract import JobKind
from ztd.server.jobs.kinds import policy_update, upload
from ztd.server.settings import Settings

_FACTORIES: dict[str, Callable[[Settings], JobKind]] = {
    upload.NAME: upload.make,
    policy_update.NAME: policy_update.make,
}


class UnknownJobKind(LookupError):
    """A job row names a kind this process does not know (a newer version enqueued it)."""


def job_kinds(settings: Settings) -> Mapping[str, JobKind]:
    """Every registered kind, configured from ``settings``: name -> kind."""
    return {name: make(settings) for name, make in _FACTORIES.items()}
