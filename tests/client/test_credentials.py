"""Credentials: where the token endpoint is, an issuer in trouble, short-lived tokens."""

from __future__ import annotations

import httpx
import pytest

from ztd.client.credentials import token_url


def test_the_token_endpoint_is_under_the_service_root() -> None:
    for base in ("http://ztd.example:8000", "http://ztd.example:8000/v1/"):
        assert token_url(base) == "http://ztd.example:8000/oauth2/token"


def test_an_issuer_in_trouble_is_not_reported_as_bad_credentials() -> None:
    from ztd.client import ClientCredentials, ServerError, UnauthorizedError

    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"code": "503", "description": "restarting"})

    credentials = ClientCredentials(
        "http://ztd.test/v1", "app", "s", transport=httpx.MockTransport(busy)
    )
    with pytest.raises(ServerError) as caught:
        credentials.get_token()
    assert not isinstance(caught.value, UnauthorizedError) and caught.value.status == 503


def test_a_short_lived_token_is_used_for_half_its_life() -> None:
    from ztd.client import AccessToken
    from ztd.client.credentials import BearerTokenCache

    now = [1000.0]
    cache = BearerTokenCache(("scope",), now=lambda: now[0])
    cache.store(AccessToken("short", int(now[0]) + 300))  # within the usual 5-minute margin
    assert cache.current() == "short"
    now[0] += 140
    assert cache.current() == "short"
    now[0] += 20
    assert cache.current() is None
