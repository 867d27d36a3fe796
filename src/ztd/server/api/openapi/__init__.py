"""The API's OpenAPI 3.1 description and its offline documentation pages.

``install(app)`` is the one hook: it replaces FastAPI's generated document (which knows
nothing of the hand-parsed bodies and the real status codes) with the one built here from
the routes, the operations table and the wire models, and serves /docs and /redoc from
assets shipped in the package."""

from __future__ import annotations

from ztd.server.api.openapi.docs_pages import install

__all__ = ["install"]
