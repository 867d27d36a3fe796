"""The status-reads component of one process: the read rule, the cache and its fill.

The fast lane (:mod:`.lane`) and the route (``api/routes/batch_status.py``) both go through
one ``StatusReads``: the lane answers what the cache holds when ``may_read`` allows it, the
route reads the database, applies the same ``may_read`` and fills the cache. A read rule
added to ``may_read`` therefore holds for cached and uncached polls alike.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ztd.server.auth.roles import READER_ROLES
from ztd.server.auth.tokens import Principal
from ztd.server.jobs.documents import ItemEcho
from ztd.server.status_reads.cache import (
    FinishedDocument,
    RunningDocument,
    RunningJob,
    StatusCache,
)
from ztd.server.status_reads.fill import read_status
from ztd.server.status_reads.keys import canonical_id


class StatusReads:
    def __init__(self, cache: StatusCache | None = None) -> None:
        self.cache = cache or StatusCache()

    def may_read(self, principal: Principal, customer_id: str) -> bool:
        """Whether ``principal`` may read status documents of ``customer_id`` (canonical),
        given that the partner acts for that customer, which the route checks in the
        database and the lane in its memory of confirmed relationships. App-only tokens may;
        users need a reader role."""
        return principal.app_only or bool(principal.roles & READER_ROLES)

    @property
    def generation(self) -> int:
        """Taken before a fill reads the database and handed back to ``confirmed`` and
        ``remember``: what a read of a world since replaced found is not kept."""
        return self.cache.generation

    def read(
        self, conn: Connection, customer_id: str, tracking_id: str
    ) -> FinishedDocument | RunningDocument:
        """The job's current document (see :func:`.fill.read_status`); NotFound when
        the customer has no such job."""
        return read_status(conn, customer_id, tracking_id, self.cache)

    def confirmed(self, partner_id: str, customer_id: str, generation: int) -> None:
        """The database has just confirmed that the partner acts for the customer."""
        self.cache.remember_relationship(partner_id, customer_id, generation)

    def remember(
        self, customer_id: str, tracking_id: str, doc: FinishedDocument, generation: int
    ) -> None:
        """Keep a finished job's document for the fast lane, under its canonical key."""
        job_id = canonical_id(tracking_id)
        if job_id is not None:
            self.cache.remember_document((customer_id, job_id), doc, generation)

    def seed_running(self, job_id: str, echo: list[ItemEcho]) -> None:
        """The process that accepted a job holds what its documents echo: its first polls
        need not read the items back."""
        self.cache.remember_running(job_id, RunningJob(echo))

    def forget_everything(self) -> None:
        """The stored world was replaced (emulator reset, snapshot import): nothing this
        process remembers of it holds any more."""
        self.cache.forget_everything()
