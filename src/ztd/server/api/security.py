"""Who is calling: bearer-token authentication and the role rules."""

from __future__ import annotations

from fastapi import Depends, Request

from ztd.server.api.context import context_of
from ztd.server.auth.roles import READER_ROLES, WRITER_ROLES
from ztd.server.auth.tokens import InvalidToken, Principal
from ztd.server.errors import Forbidden, Unauthenticated
from ztd.server.observe import logs

__all__ = ["READER_ROLES", "WRITER_ROLES", "authenticate", "batch_creator", "reader", "writer"]


def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("The request has no Authorization header; send 'Bearer <token>'.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        principal = context_of(request).tokens.validate(token.strip())
    except InvalidToken as exc:
        raise Unauthenticated(f"The bearer token was rejected: {exc}.") from exc
    logs.bind(partner_id=principal.partner_id)  # the request's log lines name the partner
    return principal


def reader(principal: Principal = Depends(authenticate)) -> Principal:
    if not principal.app_only and not principal.roles & READER_ROLES:
        raise Forbidden("The caller's role lacks the rights to read this resource.")
    return principal


def writer(principal: Principal = Depends(authenticate)) -> Principal:
    if not principal.app_only and not principal.roles & WRITER_ROLES:
        raise Forbidden("The caller's role lacks the rights for this operation.")
    return principal


def batch_creator(request: Request, principal: Principal = Depends(writer)) -> Principal:
    # E1 is documented as App+User only; operators may allow app-only tokens.
    if principal.app_only and not context_of(request).settings.allow_app_only_batch_create:
        raise Forbidden(
            "Creating a device batch needs an App+User token; app-only tokens are not allowed "
            "(set ZTD_ALLOW_APP_ONLY_BATCH_CREATE=true to allow them)."
        )
    return principal
