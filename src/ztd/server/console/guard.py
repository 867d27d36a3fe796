"""What every console page does around its own work: sign the viewer in from the session
cookie, check the CSRF token of a form, refuse what the viewer's role may not do, and turn
an API error (or a bug) into the console's error page."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ztd.server.api.context import context_of
from ztd.server.api.security import WRITER_ROLES
from ztd.server.auth.tokens import InvalidToken
from ztd.server.console.api_calls import Api, ApiAnswer
from ztd.server.console.pages import Viewer, error_page
from ztd.server.console.session import SESSION_COOKIE, csrf_for, csrf_valid

log = logging.getLogger("ztd.server.console")
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class ApiProblem(Exception):
    """The in-process API refused; the page shows its status and description."""

    def __init__(self, answer: ApiAnswer) -> None:
        super().__init__(answer.description)
        self.answer = answer


class NotSignedIn(Exception):
    pass


class BadCsrf(Exception):
    pass


class Missing(Exception):
    """A page that does not exist for this viewer (the console's 404, like the API's)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def viewer_of(request: Request) -> tuple[Viewer, str]:
    """The signed-in viewer and their token. Raises NotSignedIn."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn
    try:
        principal = context_of(request).tokens.validate(token)
    except InvalidToken as exc:
        raise NotSignedIn from exc
    can_write = principal.app_only or bool(principal.roles & WRITER_ROLES)
    return Viewer(principal, csrf_for(token), can_write), token


async def form_of(request: Request, viewer: Viewer) -> Any:
    """The posted form, once its CSRF token is the session's. Raises BadCsrf."""
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    sent = form.get("csrf")
    if not csrf_valid(viewer.csrf, sent if isinstance(sent, str) else None):
        raise BadCsrf
    return form


def ok(answer: ApiAnswer) -> ApiAnswer:
    """``answer`` when the API accepted; raises ApiProblem otherwise."""
    if not answer.ok:
        raise ApiProblem(answer)
    return answer


async def items(api: Api, path: str) -> list[dict[str, Any]]:
    """The ``items`` of a collection the API answers in one page (batches, policies)."""
    found: list[dict[str, Any]] = ok(await api.call("GET", path)).json()["items"]
    return found


Handler = Callable[[Request, Viewer, Api], Awaitable[Response]]


async def page(
    request: Request, handler: Handler, *, write: bool = False, operator: bool = False
) -> Response:
    """Run ``handler`` for the signed-in viewer. ``write``: the viewer's role must be one
    that changes things. ``operator``: the page exists only for operator tokens; anyone else
    gets the console's 404, as the API answers its control plane."""
    try:
        viewer, token = viewer_of(request)
    except NotSignedIn:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/console/sign-in"})
        return RedirectResponse(f"/console/sign-in?next={quote(request.url.path)}", 303)
    try:
        if operator and not viewer.is_operator:
            raise Missing(f"The console has no page at {request.url.path}.")
        if write and not (viewer.can_write or operator):
            # The API would refuse it too (403); say so without sending anything.
            return error_page(
                request,
                403,
                "Not allowed",
                f"Your role ({viewer.role_label}) reads only: it cannot change anything.",
                viewer,
            )
        async with Api(request.app, token) as api:
            return await handler(request, viewer, api)
    except Missing as missing:
        return error_page(request, 404, "Not found", missing.description, viewer)
    except BadCsrf:
        return error_page(
            request,
            403,
            "Form expired",
            "The form's security token is missing or wrong (CSRF). Reload the page and send "
            "the form again.",
            viewer,
        )
    except ApiProblem as problem:
        answer = problem.answer
        title = {404: "Not found", 403: "Not allowed", 401: "Signed out"}.get(
            answer.status, "The service refused"
        )
        return error_page(
            request, answer.status, title, f"{answer.description} ({answer.code})", viewer
        )
    except Exception:  # a bug: logged, and the console's page rather than a bare 500
        log.exception("console page %s failed", request.url.path)
        return error_page(
            request,
            500,
            "Unexpected error",
            "Unexpected service error; it has been logged.",
            viewer,
        )
