"""Rendering: the Jinja2 environment (autoescaped), the page context every template gets,
and the console's error page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ztd.server.api.context import context_of
from ztd.server.auth.tokens import Principal, Role
from ztd.wire.paths import path_segment

HERE = Path(__file__).parent
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _as_utc(value: str | datetime | None) -> datetime | None:
    """A time from the API (ISO-8601 text) or the store (a datetime; naive ones are UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: str | datetime | None) -> str:
    """A time as "2026-11-29 23:58:02 UTC" (the page's script shows it in the viewer's
    zone and keeps this on hover)."""
    when = _as_utc(value)
    if when is None:
        return str(value or "")
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso_utc(value: str | datetime | None) -> str:
    """The ``datetime`` attribute the script reads: always with its zone (Z), so that a
    browser never takes a UTC time for a local one."""
    when = _as_utc(value)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


def _duration(seconds: float | None) -> str:
    """An age for people: "45 s", "3 min 12 s", "2 h 5 min", "3 d 4 h"."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


# Ids in console hrefs: one path segment each, encoded as the API's links encode them.
_env.filters["seg"] = path_segment
_env.filters["utc"] = _utc
_env.filters["iso_utc"] = _iso_utc
_env.filters["duration"] = _duration


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str
    can_write: bool

    @property
    def is_operator(self) -> bool:
        """An operator of this ztd (``ztd admin token --operator``), not a partner."""
        return Role.OPERATOR in self.principal.roles

    @property
    def role_label(self) -> str:
        if self.principal.app_only:
            return "application"
        return ", ".join(_ROLE_NAMES[r] for r in sorted(self.principal.roles)) or "no role"


_ROLE_NAMES = {
    Role.GLOBAL_ADMIN: "Global admin",
    Role.ADMIN_AGENT: "Admin agent",
    Role.SALES_AGENT: "Sales agent (read only)",
    Role.OPERATOR: "Operator",
}


@dataclass(frozen=True)
class NavLink:
    label: str
    path: str
    operator: bool  # an operator's page (else a partner's)
    needs_control_plane: bool = False


# The main navigation; a new page group adds its link here.
NAV = (
    NavLink("Customers", "/console/customers", operator=False),
    NavLink("Webhooks", "/console/webhooks", operator=False),
    NavLink("Overview", "/console/operator", operator=True),
    NavLink("Queue", "/console/operator/queue", operator=True),
    NavLink("Requests", "/console/operator/requests", operator=True),
    NavLink("Emulator", "/console/operator/emulator", operator=True, needs_control_plane=True),
)


def nav_for(request: Request, viewer: Viewer | None) -> list[tuple[NavLink, bool]]:
    """The viewer's links, each with whether it is the current page's section."""
    if viewer is None:
        return []
    control_plane = context_of(request).settings.control_plane
    links = [
        link
        for link in NAV
        if link.operator == viewer.is_operator and (control_plane or not link.needs_control_plane)
    ]
    path = request.url.path
    matching = [link for link in links if path.startswith(link.path)]
    current = max(matching, key=lambda link: len(link.path), default=None)
    return [(link, link is current) for link in links]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: Viewer | None = None,
    status: int = 200,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request, viewer=viewer, root="/console", nav=nav_for(request, viewer), **context
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
