"""A small client for the emulator's control plane (/_ztd/v1/), shared by ``ztd.testing``
and ``ztd emulator ...``. Bodies are the documented camelCase JSON."""

from __future__ import annotations

from typing import Any

import httpx

JSON = dict[str, Any]


class ControlError(Exception):
    """The control plane refused a call (the message says which field and why)."""


class ControlClient:
    def __init__(self, base_url: str, operator_token: str, *, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/_ztd/v1",
            headers={"Authorization": f"Bearer {operator_token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, body: Any = None, /, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = self._http.request(method, path, json=body, params=query)
        if response.status_code == 404 and path.count("/") == 1:
            raise ControlError(
                f"{method} {path}: 404; no control plane here: is the token an operator token "
                "(`ztd admin token --operator`), and ZTD_CONTROL_PLANE not false?"
            )
        if response.status_code >= 400:
            raise ControlError(f"{method} {path}: {response.status_code} {_description(response)}")
        return response.json()

    # Device outcome rules.
    def add_rule(self, match: JSON, outcome: JSON, **scope: Any) -> str:
        """``scope``: customerId, partnerId, times (camelCase, as on the wire)."""
        return str(self.call("POST", "/rules", {"match": match, "outcome": outcome, **scope})["id"])

    def rules(self, **scope: Any) -> list[JSON]:
        result: list[JSON] = self.call("GET", "/rules", **scope)
        return result

    def delete_rule(self, rule_id: str) -> None:
        self.call("DELETE", f"/rules/{rule_id}")

    def clear_rules(self, **scope: Any) -> int:
        return int(self.call("DELETE", "/rules", **scope)["deleted"])

    # HTTP faults.
    def add_fault(self, **fault: Any) -> str:
        """``fault``: operationId, path, method, status, retryAfter, latencyMs, count, nth,
        probability, partnerId, customerId."""
        return str(self.call("POST", "/faults", fault)["id"])

    def faults(self, **scope: Any) -> list[JSON]:
        result: list[JSON] = self.call("GET", "/faults", **scope)
        return result

    def clear_faults(self, **scope: Any) -> int:
        return int(self.call("DELETE", "/faults", **scope)["deleted"])

    # The world.
    def reset(self, **scope: Any) -> dict[str, int]:
        """``scope``: partnerId, customerId, keepTenants."""
        result: dict[str, int] = self.call("POST", "/reset", scope)
        return result

    def snapshot(self) -> JSON:
        result: JSON = self.call("GET", "/snapshot")
        return result

    def restore(self, snapshot: JSON) -> dict[str, int]:
        result: dict[str, int] = self.call("PUT", "/snapshot", snapshot)
        return result

    # The journal.
    def requests(self, **filters: Any) -> list[JSON]:
        """``filters``: correlationId, requestId, partnerId, customerId, method, status, limit."""
        result: list[JSON] = self.call("GET", "/requests", **filters)
        return result

    def clear_requests(self) -> int:
        return int(self.call("DELETE", "/requests")["deleted"])


def _description(response: httpx.Response) -> str:
    """The error's own words (Partner Center's ``description``), else the body as sent."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    description = body.get("description") if isinstance(body, dict) else None
    return description if isinstance(description, str) else response.text
