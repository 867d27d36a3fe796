"""Signing in (a pasted token, or an application's client credentials), out, and the home
page that sends each viewer to their own pages."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ztd.server.api.context import context_of
from ztd.server.auth.tokens import InvalidToken
from ztd.server.console.api_calls import Api
from ztd.server.console.guard import NotSignedIn, form_of, page, viewer_of
from ztd.server.console.pages import Viewer, error_page, render
from ztd.server.console.session import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    csrf_valid,
    new_pre_session,
    set_cookie,
)

router = APIRouter()
SESSION_AT_MOST_SECONDS = 24 * 3600
HOME = "/console"


@router.get("")
async def home(request: Request) -> Response:
    try:
        viewer, _token = viewer_of(request)
    except NotSignedIn:
        return RedirectResponse("/console/sign-in", 303)
    own = "/console/operator" if viewer.is_operator else "/console/customers"
    return RedirectResponse(own, 303)


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, None, 200)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    nonce = request.cookies.get(PRE_SESSION_COOKIE, "")
    sent = form.get("csrf")
    if not nonce or not csrf_valid(nonce, sent if isinstance(sent, str) else None):
        return error_page(
            request, 403, "Form expired", "Reload the sign-in page and sign in again (CSRF)."
        )
    token = str(form.get("token") or "").strip().removeprefix("Bearer ").strip()
    client_id = str(form.get("client_id") or "").strip()
    if not token and client_id:
        async with Api(request.app, None) as api:
            answer = await api.call(
                "POST",
                "/oauth2/token",
                form={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": str(form.get("client_secret") or ""),
                },
            )
        if not answer.ok:
            data = answer.json() if answer.body.startswith(b"{") else {}
            reason = data.get("error_description") or answer.description
            return _sign_in_page(request, f"The client credentials were refused: {reason}")
        token = str(answer.json()["access_token"])
    if not token:
        return _sign_in_page(request, "Paste a token, or give a client id and secret.")
    try:
        principal = context_of(request).tokens.validate(token)
    except InvalidToken as exc:
        return _sign_in_page(request, f"The token was rejected: {exc}.")
    response = RedirectResponse(_next(request, str(form.get("next") or "")), 303)
    # The session ends with the token (one without exp: after a day, sign in again).
    lifetime = min(principal.expires_at - time.time(), SESSION_AT_MOST_SECONDS)
    set_cookie(request, response, SESSION_COOKIE, token, int(lifetime))
    clear_cookie(request, response, PRE_SESSION_COOKIE)
    return response


def _sign_in_page(request: Request, problem: str | None, status: int = 400) -> Response:
    nonce = new_pre_session()
    response = render(
        request,
        "sign_in.html",
        {"csrf": nonce, "next": _next(request), "problem": problem},
        status=status,
    )
    set_cookie(request, response, PRE_SESSION_COOKIE, nonce, 3600)
    return response


def _next(request: Request, value: str | None = None) -> str:
    target = value if value is not None else request.query_params.get("next", "")
    # Only a console path: never an open redirect to another site.
    if target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return HOME


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        response = RedirectResponse("/console/sign-in", 303)
        clear_cookie(request, response, SESSION_COOKIE)
        return response

    return await page(request, handler)
