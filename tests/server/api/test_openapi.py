"""The OpenAPI document: valid 3.1, complete for every route, current in docs/, and the
documentation pages served without any outside URL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from ztd.server.api.openapi.document import UndescribedRoute, build
from ztd.server.api.openapi.render import document_text
from ztd.server.app import create_app
from ztd.server.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
WRITES = {"post", "put", "patch"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    tmp = tmp_path_factory.mktemp("openapi")
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp}/ztd.sqlite3")
    return create_app(settings, embedded_worker=False)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def doc(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_the_served_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_operation_states_its_real_answers(doc: dict[str, Any]) -> None:
    ops = list(operations(doc))
    assert len(ops) >= 20
    ids = [op["operationId"] for _p, _m, op in ops]
    assert len(ids) == len(set(ids))
    for path, method, op in ops:
        codes = set(op["responses"])
        assert "422" not in codes, (method, path)  # the API never answers 422
        success = [c for c in codes if c.startswith("2")]
        assert len(success) == 1, (method, path, codes)
        assert {"400", "500"} <= codes, (method, path)
        if path.startswith("/v1/"):
            assert {"401", "403"} <= codes, (method, path)
            assert op["security"], (method, path)
        if "{customer_id}" in path:
            assert "404" in codes, (method, path)
        # The control plane's bodies are often optional, and so are those of the webhook
        # actions (a test event, a rotation, a replay).
        if method in WRITES and not path.startswith(("/_ztd/", "/webhooks/")):
            assert op["requestBody"]["required"] is True, (method, path)
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]["$ref"]
                bodies = ("/PartnerCenterError", "/OAuthError", "/Throttled")
                assert schema.endswith(bodies), (path, code)


def test_the_real_success_codes(doc: dict[str, Any]) -> None:
    by_id = {op["operationId"]: op for _p, _m, op in operations(doc)}
    for job in ("DeviceBatches_Create", "Devices_Create", "DevicePolicy_Update"):
        accepted = by_id[job]["responses"]["202"]
        assert "content" not in accepted  # empty body
        assert "Location" in accepted["headers"]
        assert accepted["links"]["BatchUploadStatus"]["operationId"] == "BatchUploadStatus_Get"
    for deletion in ("Device_Delete", "ConfigurationPolicy_Delete"):
        assert "204" in by_id[deletion]["responses"]
    status = by_id["BatchUploadStatus_Get"]["responses"]
    assert "ETag" in status["304"]["headers"]
    assert "If-None-Match" in [p["name"] for p in by_id["BatchUploadStatus_Get"]["parameters"]]
    assert "200" in by_id["ConfigurationPolicies_Create"]["responses"]  # 200, as documented
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["bearerFormat"] == "JWT"
    assert schemes["clientCredentials"]["flows"]["clientCredentials"]["tokenUrl"] == (
        "/oauth2/token"
    )


def test_a_route_the_document_does_not_describe_fails_the_build(app: FastAPI) -> None:
    extra = FastAPI()
    extra.router.routes.extend(app.router.routes)

    @extra.get("/v1/customers/{customer_id}/somethingNew")
    def _new() -> None: ...

    with pytest.raises(
        UndescribedRoute, match=re.escape("GET /v1/customers/{customer_id}/somethingNew")
    ):
        build(extra.routes, title="t", version="v")


def test_the_committed_document_is_current() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == document_text(), "docs/openapi.json is stale: run `make openapi`"


def test_examples_conform_to_their_schemas(doc: dict[str, Any]) -> None:
    from tests.support.contract import schema_validator

    checked = 0
    for _path, _method, op in operations(doc):
        for response in op["responses"].values():
            for media in response.get("content", {}).values():
                if "example" in media:
                    schema_validator(doc, media["schema"]).validate(media["example"])
                    checked += 1
    assert checked >= 2


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_pages_reference_nothing_outside_the_server(
    client: TestClient, page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']""", html)
    urls += re.findall(r"""spec-url=["']([^"']+)["']""", html)
    found = {u for pair in urls for u in (pair if isinstance(pair, tuple) else (pair,)) if u}
    assert found, html
    assert not re.search(r"https?://", html), re.findall(r"https?://\S+", html)
    for url in found:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url


def test_the_readme_points_to_the_documentation() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for link in ("/docs", "/redoc", "/openapi.json", "docs/openapi.json"):
        assert link in readme, link


def test_the_document_on_disk_parses() -> None:
    json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
