"""The one mapping from domain refusals to Partner Center's answers (api/errors.py)."""

from __future__ import annotations

import inspect
from typing import Any

import orjson
import pytest

from ztd.identity import dds
from ztd.server import errors
from ztd.server.api.errors import domain_error_response, status_of

KINDS = [
    kind
    for _, kind in inspect.getmembers(errors, inspect.isclass)
    if issubclass(kind, errors.DomainError) and kind is not errors.DomainError
]


def _instance(kind: type[errors.DomainError]) -> errors.DomainError:
    make: Any = kind  # the kinds take different arguments
    if kind is errors.CustomerNotFound:
        return make("0b9d2a51-0000-4000-8000-000000000000")
    if kind is errors.BodyTooLarge:
        return make(10)
    if kind is errors.Throttled:
        return make("slow down", 0)
    if kind is errors.DeviceRefused:
        return make(dds.PROFILE_NOT_REGISTERED, "no such policy")
    return make("refused")


def test_every_kind_has_a_status_a_code_and_no_http_of_its_own() -> None:
    assert len(KINDS) >= 10
    for kind in KINDS:
        error = _instance(kind)
        assert 400 <= status_of(error) < 600, kind
        assert error.code and error.name, kind
        assert not hasattr(error, "status"), f"{kind.__name__} carries an HTTP status"


@pytest.mark.parametrize(
    ("error", "status", "code", "header"),
    [
        (errors.InvalidRequest("bad"), 400, "800002", None),
        (errors.InvalidCustomerId("not a GUID"), 400, "900118", None),
        (errors.DeviceRefused(dds.PROFILE_NOT_REGISTERED, "x"), 400, "800002", None),
        (errors.Unauthenticated("who?"), 401, "400", ("WWW-Authenticate", 'Bearer realm="ztd"')),
        (errors.Forbidden("no"), 403, "900150", None),
        (errors.CustomerNotFound("c"), 404, "60003", None),
        (errors.NotFound("gone"), 404, "1000", None),
        (errors.BodyTooSlow("slow"), 408, "408", ("Connection", "close")),
        (errors.Conflict("again"), 409, "409", None),
        (errors.BodyTooLarge(5), 413, "413", None),
        (errors.UnsupportedMediaType("text/csv"), 415, "415", None),
        (errors.Throttled("wait", 0), 429, "429", ("Retry-After", "1")),
        (errors.Unavailable("down"), 503, "503", None),
    ],
)
def test_each_kind_answers_as_partner_center_does(
    error: errors.DomainError, status: int, code: str, header: tuple[str, str] | None
) -> None:
    response = domain_error_response(error)
    assert response.status_code == status
    body = orjson.loads(bytes(response.body))
    assert body == {
        "code": code,
        "description": error.description,
        "data": [],
        "source": "PartnerApiServiceControllers",
    }
    if header is not None:
        assert response.headers[header[0]] == header[1]


def test_a_device_refusal_keeps_its_catalogue_entry() -> None:
    refused = errors.DeviceRefused(dds.PROFILE_ASSIGNED_TO_OTHER_TENANT, "not yours")
    assert refused.refusal.code == "810"
    assert isinstance(refused, errors.InvalidRequest)
