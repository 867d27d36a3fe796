"""The API's operations as HTTP faults name them (``"operationId": "BatchUploadStatus_Get"``):
each operation id of the OpenAPI description resolved, once at import, to its method and a
pattern over the request path.

Probes are left out: the gate never answers them with a fault (they stay cheap and honest).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ztd.server.api.openapi import webhook_docs
from ztd.server.api.openapi.operations import OPERATIONS

_PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class Route(NamedTuple):
    """An operation's method (upper case) and a pattern that ``fullmatch``es its paths as the
    gate sees them: after ``canonical_path``, which spells the literal segments the API
    matches in any letter case as the router does (so the pattern itself is exact)."""

    operation_id: str
    method: str
    pattern: re.Pattern[str]

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.pattern.fullmatch(path) is not None


def _pattern(template: str) -> re.Pattern[str]:
    # "{customer_id}" stands for one path segment; everything else is literal.
    parts = [
        "[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part)
        for part in template.split("/")
    ]
    return re.compile("/".join(parts))


def _routes() -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for key, operation in OPERATIONS.items():
        method, template = key.split(" ", 1)
        if template in _PROBE_PATHS:
            continue
        routes[operation.operation_id] = Route(operation.operation_id, method, _pattern(template))
    return routes


FAULT_ROUTES: dict[str, Route] = _routes()


def route_named(operation_id: str) -> Route | None:
    """The operation ``operation_id`` names, matched exactly (as the OpenAPI spells it)."""
    return FAULT_ROUTES.get(operation_id)


# Every operation of the API (webhooks' too), in the table's order: the route templates the
# metrics and access lines name. A test checks the table describes every route of the app.
_TEMPLATES = [
    (method, _pattern(template), template)
    for method, template in (key.split(" ", 1) for key in (*OPERATIONS, *webhook_docs.OPERATIONS))
]


def template_of(method: str, path: str) -> str | None:
    """The route template the app would count a request for ``path`` (canonical) under, as
    its router picks the route: the first that takes the path and the method, else the first
    that takes the path (the app's 405). None for a path no operation serves. A pass over
    the patterns: for the emulator's own answers, never on the fast path."""
    wanted = "GET" if method == "HEAD" else method
    partial = None
    for route_method, pattern, template in _TEMPLATES:
        if pattern.fullmatch(path) is not None:
            if route_method == wanted:
                return template
            partial = partial or template
    return partial
