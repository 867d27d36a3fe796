"""The webhook delivery log's paged reads as requests, shared by the sync and async fluent
operations (docs/webhooks.md):

- ``GET /webhooks/v1/registration/{id}/deliveries`` a registration's deliveries;
- ``GET /webhooks/v1/events/{id}/deliveries`` an event's (one per registration);

both newest first, each delivery with its attempts, ``size`` (1 to 100) per page, the next
page asked for with the previous one's token in ``MS-ContinuationToken``."""

from __future__ import annotations

from ztd.client._device_deployment import CONTINUATION_HEADER
from ztd.client._request import WEBHOOKS_ROOT, ApiRequest, segment

MAX_PAGE_SIZE = 100  # the service's bound


def registration_deliveries(
    registration_id: str, continuation_token: str | None, page_size: int | None
) -> ApiRequest:
    path = f"/registration/{segment(registration_id, 'registration_id')}/deliveries"
    return _page(path, continuation_token, page_size)


def event_deliveries(
    event_id: str, continuation_token: str | None, page_size: int | None
) -> ApiRequest:
    path = f"/events/{segment(event_id, 'event_id')}/deliveries"
    return _page(path, continuation_token, page_size)


def check_page_size(page_size: int | None) -> None:
    """ValueError unless ``page_size`` is None (the service's default, 20) or 1 to 100."""
    if page_size is None:
        return
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValueError(f"page_size must be a whole number, got {page_size!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be from 1 to {MAX_PAGE_SIZE}, got {page_size}")


def _page(path: str, continuation_token: str | None, page_size: int | None) -> ApiRequest:
    if page_size is not None:
        path += f"?size={page_size}"
    headers = {CONTINUATION_HEADER: continuation_token} if continuation_token else {}
    return ApiRequest("GET", path, headers=headers, root=WEBHOOKS_ROOT)
