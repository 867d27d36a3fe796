"""Which of a batch's devices a list shows (a ztd extension of E4, GET .../devices):
``search``, a case-insensitive substring of the serial number, the product key (PKID) or the
device id; ``policy``, a policy id or ``none`` (devices without a policy).

The filter is a WHERE clause on the batch's rows, read in ``pk`` order through the
(batch_pk, pk) index: a page stops at its 100th match and the next page seeks past it, so a
search costs at most one pass over the batch, never over the registry. A substring has no
B-tree index to use (a prefix would need lower(serial) indexes per batch for no gain here:
the batch_pk index already bounds the read to the batch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_

from ztd.server.errors import InvalidRequest, shown
from ztd.server.storage.ids import maybe_guid
from ztd.server.storage.schema import devices

NO_POLICY = "none"
MAX_SEARCH = 200  # characters: longer than any serial, PKID or device id


@dataclass(frozen=True)
class DeviceFilter:
    """``search``: a non-empty substring (case ignored) or None; ``policy``: a canonical
    policy GUID, NO_POLICY, or None (any)."""

    search: str | None = None
    policy: str | None = None

    @classmethod
    def parse(cls, search: str | None, policy: str | None) -> DeviceFilter:
        """From the query parameters; InvalidRequest (400) names the one that is wrong."""
        needle = (search or "").strip() or None
        if needle is not None and (len(needle) > MAX_SEARCH or not needle.isprintable()):
            raise InvalidRequest(
                f"search {shown(needle)} must be at most {MAX_SEARCH} printable characters "
                "(part of a serial number, product key or device id)."
            )
        wanted = (policy or "").strip() or None
        if wanted is not None and wanted.lower() != NO_POLICY:
            guid = maybe_guid(wanted)
            if guid is None:
                raise InvalidRequest(
                    f"policy {shown(wanted)} must be a policy id (a GUID) or 'none' "
                    "(devices without a policy)."
                )
            wanted = guid
        elif wanted is not None:
            wanted = NO_POLICY
        return cls(needle, wanted)

    @property
    def active(self) -> bool:
        return self.search is not None or self.policy is not None

    def condition(self) -> Any:
        """The WHERE clause (to AND with the batch's), or None when nothing is filtered."""
        clauses: list[Any] = []
        if self.search is not None:
            # lower() on both sides (SQLite's folds ASCII only, as serials and PKIDs are);
            # autoescape: a '%' or '_' typed is searched for, not a wildcard.
            needle = self.search.lower()
            clauses.append(
                or_(
                    func.lower(devices.c.serial_number).contains(needle, autoescape=True),
                    func.lower(devices.c.product_key).contains(needle, autoescape=True),
                    devices.c.id.contains(needle, autoescape=True),  # stored lower case
                )
            )
        if self.policy == NO_POLICY:
            clauses.append(devices.c.policy_id.is_(None))
        elif self.policy is not None:
            clauses.append(devices.c.policy_id == self.policy)
        return and_(*clauses) if clauses else None

    def query(self) -> dict[str, str]:
        """The filter as query parameters, for the next page's link."""
        found = {"search": self.search, "policy": self.policy}
        return {key: value for key, value in found.items() if value is not None}
