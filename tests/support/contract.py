"""The contract check every API test runs: each response the real app gives is held to the
OpenAPI document (documented status, content type, body schema, required headers), so the
document and the code cannot drift apart unnoticed."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from jsonschema import Draft202012Validator, FormatChecker

from ztd.server.api.middleware import canonical_path
from ztd.server.api.openapi.render import document


@functools.cache
def the_document() -> dict[str, Any]:
    return document()


def schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # The components ride along so that "#/components/schemas/X" resolves from the root.
    return Draft202012Validator(
        {**schema, "components": doc["components"]}, format_checker=FormatChecker()
    )


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    path: str


@functools.cache
def _templates() -> tuple[_Template, ...]:
    out = []
    for path in the_document()["paths"]:
        regex = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path))
        out.append(_Template(re.compile(f"^{regex}$"), path))
    return tuple(out)


def operation_for(method: str, path: str) -> dict[str, Any] | None:
    """The described operation a request reached, or None (no route: nothing to hold it to)."""
    path = canonical_path(path) if path[:4].lower() == "/v1/" else path
    for template in _templates():
        if template.pattern.match(path):
            op: dict[str, Any] | None = the_document()["paths"][template.path].get(method.lower())
            return op
    return None


def problems(method: str, path: str, response: httpx.Response) -> list[str]:
    """Where ``response`` departs from the document; empty when it conforms."""
    op = operation_for(method, path)
    if op is None:
        return []
    where = f"{method} {path} -> {response.status_code}"
    described = op["responses"].get(str(response.status_code))
    if described is None:
        return [f"{where}: status not in the document ({sorted(op['responses'])})"]
    found: list[str] = []
    header_refs = the_document()["components"]["headers"]
    for name, header in described.get("headers", {}).items():
        if "$ref" in header:
            header = header_refs[header["$ref"].rsplit("/", 1)[1]]
        if header.get("required") and name not in response.headers:
            found.append(f"{where}: required header {name} missing")
    content = described.get("content")
    body = response.content
    if content is None:
        if body:
            found.append(f"{where}: the document says no body, got {body[:80]!r}")
        return found
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in content:
        return [*found, f"{where}: content type {media_type!r} not in {sorted(content)}"]
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return [*found, f"{where}: the body is not JSON: {body[:80]!r}"]
    validator = schema_validator(the_document(), content[media_type]["schema"])
    found += [
        f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(data)
    ]
    return found


def assert_conforms(response: httpx.Response) -> None:
    response.read()
    found = problems(response.request.method, response.request.url.path, response)
    assert not found, "response departs from the OpenAPI document:\n" + "\n".join(found)


def check_every_response(client: httpx.Client) -> None:
    """Hold every response ``client`` receives to the document."""
    client.event_hooks = {"response": [*client.event_hooks["response"], assert_conforms]}
