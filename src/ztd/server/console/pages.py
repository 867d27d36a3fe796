"""Rendering: the Jinja2 environment (autoescaped), the page context every template gets,
and the console's error page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ztd.server.auth.tokens import Principal, Role

HERE = Path(__file__).parent
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _utc(value: str | None) -> str:
    """An API time as "2026-11-29 23:58:02 UTC" (the page's script shows it in the viewer's
    zone and keeps this on hover)."""
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


_env.filters["utc"] = _utc


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str
    can_write: bool

    @property
    def role_label(self) -> str:
        if self.principal.app_only:
            return "application"
        names = {Role.GLOBAL_ADMIN: "Global admin", Role.ADMIN_AGENT: "Admin agent"}
        names[Role.SALES_AGENT] = "Sales agent (read only)"
        return ", ".join(names[r] for r in sorted(self.principal.roles)) or "no role"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: Viewer | None = None,
    status: int = 200,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request, viewer=viewer, root="/console", **context
    )
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def error_page(
    request: Request, status: int, title: str, description: str, viewer: Viewer | None = None
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "description": description},
        viewer=viewer,
        status=status,
    )


# Scripts and styles come only from the console's own static files (no inline script).
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
