"""Fixtures of the auth tests: a second OIDC issuer served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.issuers import ExternalIssuerServer
from tests.support.live_server import live_server


@pytest.fixture
def external_issuer() -> Iterator[tuple[ExternalIssuerServer, str]]:
    """The issuer and the URL of its JWKS."""
    server = ExternalIssuerServer()
    with live_server(server.app) as base:
        yield server, f"{base}/discovery/v2.0/keys"
