"""Which roles may do what: Global admin and Admin agent write, Sales agent reads too.
App-only tokens carry no roles and are judged by each rule on their own."""

from __future__ import annotations

from ztd.server.auth.tokens import Role

WRITER_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.ADMIN_AGENT})
READER_ROLES = WRITER_ROLES | {Role.SALES_AGENT}
