"""The console's session: the bearer token in an HttpOnly cookie, and the CSRF token every
form carries.

The session cookie holds the signed token itself (the built-in issuer's JWT, or one the
sign-in page got with client credentials): nothing is stored server-side, so every process
of `ztd serve` honours it, and the token's own expiry ends the session. Each page call
validates it with the same TokenValidator the API uses.

CSRF: a form's token is an HMAC of the session token, so it is unguessable without the
session cookie, which scripts cannot read (HttpOnly) and other sites cannot send
(SameSite=Strict). The sign-in form, before any session, uses a random double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "ztd_console"
PRE_SESSION_COOKIE = "ztd_console_signin"
COOKIE_PATH = "/console"


def csrf_for(token: str) -> str:
    return hmac.new(b"ztd-console-csrf", token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(expected: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(expected, sent or "")


def new_pre_session() -> str:
    return secrets.token_urlsafe(32)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly and SameSite=Strict always; Secure when the console is served over HTTPS
    (directly or behind a proxy that says so), where a browser would otherwise refuse it."""
    response.set_cookie(
        name,
        value,
        max_age=max(max_age, 0),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=is_https(request)
    )


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"
