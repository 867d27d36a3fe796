"""The fluent operations over a scripted network (httpx.MockTransport): answers of the
wrong shape, paging tokens that come round again, ids a URL cannot hold, errors mapped."""

from __future__ import annotations

import httpx
import pytest

from tests.support.fake_time import FakeTime
from tests.support.sdk import CID, PC_ERROR, Script, sdk
from ztd.client.errors import UnexpectedResponseError


def test_an_answer_of_the_wrong_shape_is_an_sdk_error() -> None:
    script = Script([httpx.Response(200, json={"items": 5})])
    with pytest.raises(UnexpectedResponseError, match="items"):
        sdk(script, FakeTime()).customers.by_id(CID).device_batches.get()


def test_paging_stops_when_a_token_comes_round_again() -> None:
    def page(token: str) -> httpx.Response:
        return httpx.Response(200, json={"totalCount": 0, "items": [], "continuationToken": token})

    script = Script([page("A"), page("B"), page("A")])
    with pytest.raises(UnexpectedResponseError, match="returned before"):
        sdk(script, FakeTime()).customers.by_id(CID).device_batches.get()
    assert len(script.requests) == 3


def test_ids_a_url_cannot_hold_are_refused() -> None:
    batches = sdk(Script([httpx.Response(200)]), FakeTime()).customers.by_id(CID).device_batches
    for bad in (".", ".."):
        with pytest.raises(ValueError, match="cannot be addressed"):
            batches.by_id(bad).devices.get()


def test_an_unmapped_client_error_is_not_a_server_error() -> None:
    from ztd.client import HttpResponseError, ServerError

    script = Script([httpx.Response(422, json=PC_ERROR)])
    with pytest.raises(HttpResponseError) as caught:
        sdk(script, FakeTime()).customers.by_id(CID).device_batches.get()
    assert not isinstance(caught.value, ServerError) and caught.value.status == 422
