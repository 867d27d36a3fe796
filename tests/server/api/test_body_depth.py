"""Deeply nested and oversized values in every JSON body: a precise 400, never a 500
(issue 20, item 4: a policy nested ~1,000 deep made an error message raise RecursionError)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api import hash_device
from tests.support.world import World
from ztd.server.api.bodies import MAX_DEPTH
from ztd.server.errors import shown

MARK = "\x00nested here\x00"  # dumped as "\u0000nested here\u0000": unique in a body
DEPTHS = [1, 10, 100, MAX_DEPTH, MAX_DEPTH + 1, 1000, 10_000, 100_000]


def nested(depth: int, kind: str) -> bytes:
    """``depth`` arrays or objects inside each other, built as text (orjson.dumps stops at 254)."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"k":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def places(document: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every value's path in ``document``, and a new property in every object."""
    yield path
    if isinstance(document, dict):
        yield (*path, "extraProperty")
        for key, value in document.items():
            yield from places(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from places(value, (*path, index))


def with_nested(document: Any, path: tuple[Any, ...], depth: int, kind: str) -> bytes:
    """``document`` as JSON with the value at ``path`` replaced by a nested one."""
    if not path:
        return nested(depth, kind)
    copy = orjson.loads(orjson.dumps(document))
    parent = copy
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = MARK
    return orjson.dumps(copy).replace(orjson.dumps(MARK), nested(depth, kind))


class Endpoints:
    """Every JSON-accepting endpoint with a valid body (the body alone gets 2xx)."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world
        base = f"/v1/customers/{world.customer}"
        response = client.post(f"{base}/policies", json={"name": "existing"}, headers=world.auth())
        assert response.status_code == 200, response.text
        policy = response.json()["id"]
        device = hash_device(1)
        self.cases: list[tuple[str, str, Any]] = [
            ("POST", f"{base}/deviceBatches", {"batchId": "b", "devices": [device]}),
            ("POST", f"{base}/deviceBatches/b/devices", [device]),
            ("POST", f"{base}/deviceBatches/b/devices", {"devices": [device]}),
            (
                "POST",
                f"{base}/policies",
                {"name": "n", "category": "o_o_b_e", "policySettings": ["remove_oem_preinstalls"]},
            ),
            ("PUT", f"{base}/policies/{policy}", {"name": "n", "description": "d"}),
            (
                "PATCH",
                f"{base}/DevicePolicyUpdates",
                {"devices": [{"id": "x", "policies": [{"key": "o_o_b_e", "value": policy}]}]},
            ),
            (
                "POST",
                "/v1/customers",
                {"billingProfile": {"companyName": "c"}, "companyProfile": {"domain": "c.test"}},
            ),
        ]

    def send(self, method: str, url: str, body: bytes) -> Any:
        headers = {**self.world.auth(), "Content-Type": "application/json"}
        return self.client.request(method, url, content=body, headers=headers)


def assert_refused_well(response: Any, depth: int) -> None:
    assert response.status_code < 500, response.text
    if depth > MAX_DEPTH:
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == "800002"
        assert f"more than {MAX_DEPTH} levels deep" in body["description"]
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        assert len(response.text) < 4000  # no message quotes the nested value


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_field_of_every_body_at_explicit_depths(client: TestClient, world: World) -> None:
    endpoints = Endpoints(client, world)
    for method, url, document in endpoints.cases:
        for path in places(document):
            for n, depth in enumerate(DEPTHS):
                kind = ("array", "object")[(n + len(path)) % 2]  # each place gets both
                response = endpoints.send(method, url, with_nested(document, path, depth, kind))
                assert_refused_well(response, depth)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_message_says_where_the_body_is_too_deep(client: TestClient, world: World) -> None:
    endpoints = Endpoints(client, world)
    method, url, document = endpoints.cases[3]  # a policy
    response = endpoints.send(method, url, with_nested(document, ("category",), 500, "array"))
    assert response.status_code == 400
    assert (
        f"more than {MAX_DEPTH} levels deep (in category[0][0][0][0][0]..."
        in (response.json()["description"])
    )
    # Past orjson's own limit the position is a line and column.
    response = endpoints.send(method, url, with_nested(document, ("name",), 5000, "object"))
    assert "(at line 1, column" in response.json()["description"]


@pytest.mark.parametrize("backend", ["sqlite"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_nesting_anywhere_at_any_depth(client: TestClient, world: World, data: Any) -> None:
    endpoints = Endpoints(client, world)
    method, url, document = data.draw(st.sampled_from(endpoints.cases))
    path = data.draw(st.sampled_from(list(places(document))))
    depth = data.draw(
        st.one_of(st.integers(1, 2 * MAX_DEPTH), st.integers(1, 2000), st.integers(1, 100_000))
    )
    kind = data.draw(st.sampled_from(["array", "object"]))
    assert_refused_well(
        endpoints.send(method, url, with_nested(document, path, depth, kind)), depth
    )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_huge_values_are_quoted_cut(client: TestClient, world: World) -> None:
    huge = "x" * 1_000_000
    base = f"/v1/customers/{world.customer}"
    for url, body in (
        (f"{base}/policies", {"name": "n", "category": huge}),
        (f"{base}/policies", {"name": "n", "policySettings": [huge]}),
        (f"{base}/policies", {"name": "n", "policySettings": [[list(range(5000))]]}),
        (f"{base}/deviceBatches", {"batchId": "b/" + huge[:200], "devices": [hash_device(1)]}),
    ):
        response = client.post(url, json=body, headers=world.auth())
        assert response.status_code == 400, response.text
        assert len(response.json()["description"]) < 400, response.json()["description"]


def test_shown_is_bounded_and_never_recursive() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    assert shown(deep) == "an array of 1 items"
    assert shown({"a": deep}) == "an object with 1 properties"
    assert shown("x" * 10_000) == repr("x" * 60) + "... (10000 chars)"
    assert shown("ab") == "'ab'"
    assert shown(None) == "null" and shown(True) == "true" and shown(1.5) == "1.5"
    assert shown(10**5000) == "an integer of 16610 bits"
