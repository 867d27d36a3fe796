"""The device-deployment calls as requests, and the paging
rules; shared by the sync and async fluent operations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ztd.client._request import ApiRequest, segment
from ztd.client.errors import UnexpectedResponseError
from ztd.wire import Device, DeviceBatchCreationRequest, ResourceCollection, WireModel

M = TypeVar("M", bound=WireModel)

DeviceLike = Device | Mapping[str, Any]
CONTINUATION_HEADER = "MS-ContinuationToken"


def batches_path(customer_id: str) -> str:
    return f"/customers/{segment(customer_id, 'customer_id')}/deviceBatches"


def devices_path(customer_id: str, batch_id: str) -> str:
    return f"{batches_path(customer_id)}/{segment(batch_id, 'batch_id')}/devices"


def to_device(value: DeviceLike) -> Device:
    """A Device from a model or a dict (snake_case, camelCase or PascalCase keys)."""
    if isinstance(value, Device):
        return value
    if isinstance(value, Mapping):
        return Device.model_validate(dict(value))
    raise TypeError(f"a device must be a ztd.wire.Device or a mapping, got {type(value).__name__}")


def to_devices(values: Iterable[DeviceLike]) -> list[Device]:
    if isinstance(values, (str, bytes, Mapping)):
        raise TypeError("devices must be a list of devices, not a single value")
    devices = [to_device(v) for v in values]
    if not devices:
        raise ValueError("devices is empty: give at least one device")
    return devices


def creation_request(
    request: DeviceBatchCreationRequest | None,
    batch_id: str | None,
    devices: Iterable[DeviceLike] | None,
) -> DeviceBatchCreationRequest:
    if request is not None:
        if batch_id is not None or devices is not None:
            raise TypeError("give either a DeviceBatchCreationRequest or batch_id= and devices=")
        return request
    if batch_id is None or devices is None:
        raise TypeError("create() needs batch_id= and devices= (or a DeviceBatchCreationRequest)")
    segment(batch_id, "batch_id")
    return DeviceBatchCreationRequest(batch_id=batch_id, devices=to_devices(devices))


def create_batch(
    customer_id: str, body: DeviceBatchCreationRequest, request_id: str | None
) -> ApiRequest:
    return ApiRequest("POST", batches_path(customer_id), body.to_wire(), request_id=request_id)


def list_batches(customer_id: str, continuation_token: str | None = None) -> ApiRequest:
    return ApiRequest("GET", batches_path(customer_id), headers=_paging(continuation_token))


def add_devices(
    customer_id: str, batch_id: str, devices: Sequence[Device], request_id: str | None
) -> ApiRequest:
    # A bare array, as the .NET SDK and the docs send it.
    body = [d.to_wire() for d in devices]
    return ApiRequest("POST", devices_path(customer_id, batch_id), body, request_id=request_id)


def list_devices(
    customer_id: str,
    batch_id: str,
    continuation_token: str | None = None,
    include_hardware_hash: bool = False,
) -> ApiRequest:
    # Lists leave the ~4 KB hashes out unless asked (ztd's option; Partner Center ignores it).
    path = devices_path(customer_id, batch_id)
    if include_hardware_hash:
        path += "?includeHardwareHash=true"
    return ApiRequest("GET", path, headers=_paging(continuation_token))


def device_path(customer_id: str, batch_id: str, device_id: str) -> str:
    return f"{devices_path(customer_id, batch_id)}/{segment(device_id, 'device_id')}"


def get_device(customer_id: str, batch_id: str, device_id: str) -> ApiRequest:
    return ApiRequest("GET", device_path(customer_id, batch_id, device_id))


def update_device(
    customer_id: str, batch_id: str, device_id: str, device: Device, request_id: str | None
) -> ApiRequest:
    # An HTTP PUT of the whole Device, as .NET's IDevice.Patch sends it.
    path = device_path(customer_id, batch_id, device_id)
    return ApiRequest("PUT", path, device.to_wire(), request_id=request_id)


def delete_device(
    customer_id: str, batch_id: str, device_id: str, request_id: str | None
) -> ApiRequest:
    return ApiRequest(
        "DELETE", device_path(customer_id, batch_id, device_id), request_id=request_id
    )


def _paging(continuation_token: str | None) -> dict[str, str]:
    return {CONTINUATION_HEADER: continuation_token} if continuation_token else {}


def next_page_token(page: ResourceCollection[M], seen: set[str]) -> str | None:
    """The token of the page after ``page``: its ``continuationToken``, else the
    ``MS-ContinuationToken`` header of ``links.next``; None on the last page. ``seen`` holds
    the tokens used so far: one coming round again (A, B, A ...) would page for ever."""
    token = page.continuation_token
    if not token and page.links is not None and page.links.next is not None:
        for header in page.links.next.headers:
            if header.key.lower() == CONTINUATION_HEADER.lower():
                token = header.value
    if not token:
        return None
    if token in seen:
        raise UnexpectedResponseError(
            f"the service returned a continuation token it had returned before ({token!r}); "
            "stopping rather than looping"
        )
    seen.add(token)
    return token


def merge_pages(pages: Sequence[ResourceCollection[M]], item: type[M]) -> ResourceCollection[M]:
    """One collection holding the items of every page."""
    items = [i for page in pages for i in page.items]
    return ResourceCollection[item](total_count=len(items), items=items)  # type: ignore[valid-type]
