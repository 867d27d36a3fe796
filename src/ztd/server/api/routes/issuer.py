"""The built-in OIDC issuer: discovery document, JWKS, and the client-credentials grant."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from ztd.server.api.context import AppContext, context_of
from ztd.server.api.responses import json_response
from ztd.server.auth.tokens import issue_token
from ztd.server.errors import Throttled
from ztd.server.observe.metrics import TOKEN_RATE_LIMITED
from ztd.server.services.applications import authenticate_application, client_key

router = APIRouter()

# Client ids are GUIDs and issued secrets 43 characters: far longer values are not
# credentials, and hashing a megabyte "secret" would cost far more than a real one.
MAX_CLIENT_ID = 256
MAX_SECRET = 1024


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> Response:
    issuer = context_of(request).settings.issuer.rstrip("/")
    return json_response(
        {
            "issuer": context_of(request).settings.issuer,
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "token_endpoint": f"{issuer}/oauth2/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        }
    )


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> Response:
    # Every key, the rotated-out ones included: their tokens stay valid until they expire.
    keys = context_of(request).keys.keys()
    return json_response({"keys": [key.public_jwk for key in keys]})


@router.post("/oauth2/token")
async def token(request: Request) -> Response:
    """OAuth 2.0 client credentials (RFC 6749 §4.4); errors in OAuth's own format, except
    429 (too many attempts), which has Partner Center's body and a Retry-After."""
    ctx = context_of(request)
    try:
        return await _client_credentials_grant(request, ctx)
    except Throttled:
        TOKEN_RATE_LIMITED.inc()
        # Held a moment before answering: a client that retries at once (as a flood
        # does) then sends about one request a second per connection instead of
        # hundreds, and the event loop stays free for the API's other routes.
        await asyncio.sleep(ctx.settings.token_refusal_delay_seconds)
        raise


async def _client_credentials_grant(request: Request, ctx: AppContext) -> Response:
    # Counted before the body is even read: an address over its limit costs next to nothing.
    ctx.token_attempts.admit_address(request.client.host if request.client else "unknown")
    form = await request.form()
    client_id, secret = _client_credentials(
        request, form.get("client_id"), form.get("client_secret")
    )
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
    if not client_id or not secret:
        return _oauth_error(400, "invalid_request", "client_id and client_secret are required.")
    if len(client_id) > MAX_CLIENT_ID or len(secret) > MAX_SECRET:
        return _oauth_error(
            400,
            "invalid_request",
            f"client_id has at most {MAX_CLIENT_ID} characters and client_secret at most "
            f"{MAX_SECRET}; these are {len(client_id)} and {len(secret)}.",
        )
    ctx.token_attempts.admit_client(client_key(client_id))
    partner_id = await ctx.secret_pool.run(authenticate_application, ctx.db, client_id, secret)
    if partner_id is None:
        return _oauth_error(401, "invalid_client", "Unknown client or wrong secret.")
    ttl = ctx.settings.token_ttl_seconds
    access_token = issue_token(
        ctx.keys,
        issuer=ctx.settings.issuer,
        audience=ctx.settings.audience,
        partner_id=partner_id,
        app_only=True,
        ttl=timedelta(seconds=ttl),
        now=ctx.clock(),
    )
    return json_response(
        {"token_type": "Bearer", "access_token": access_token, "expires_in": ttl},
        headers={"Cache-Control": "no-store"},
    )


def _client_credentials(
    request: Request, form_id: object, form_secret: object
) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return (
        form_id if isinstance(form_id, str) else None,
        form_secret if isinstance(form_secret, str) else None,
    )


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status_code=status)
