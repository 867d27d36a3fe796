"""The console reads and writes through the /v1 API itself, in process, with the signed-in
user's token: tenancy (another partner's customer, batch or job answers 404), roles (a Sales
agent reads only), validation, idempotency and job start are the API's own code, never a
second copy of its rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.types import ASGIApp

from ztd.wire.paths import path_segment


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    @property
    def description(self) -> str:
        """The API error's description (Partner Center's error body), or a fallback."""
        try:
            data = self.json()
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("description"), str):
            return str(data["description"])
        return f"The service answered {self.status}."

    @property
    def code(self) -> str:
        try:
            data = self.json()
        except orjson.JSONDecodeError:
            return str(self.status)
        return str(data.get("code", self.status)) if isinstance(data, dict) else str(self.status)


class Api:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://console.internal",
            timeout=120,
        )
        self._token = token

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._client.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> ApiAnswer:
        sent = dict(headers or {})
        if self._token:
            sent["Authorization"] = f"Bearer {self._token}"
        content = None
        if json is not None:
            content = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        response = await self._client.request(
            method, path, content=content, data=form, headers=sent, params=params
        )
        return ApiAnswer(response.status_code, response.headers, response.content)


def seg(value: str) -> str:
    """One path segment, percent-encoded (batch ids may hold spaces, '#', '?', '%', "..");
    the service's one rule for ids in URLs (ztd.wire.paths)."""
    return path_segment(value)
