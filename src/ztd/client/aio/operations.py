"""The fluent surface, mirroring the .NET SDK in snake_case:

    partner.customers.by_id(cid).device_batches.get() / .create(...) / .by_id(b).devices...
    partner.customers.by_id(cid).batch_upload_status.by_id(tid).get()

    partner.customers.by_id(cid).configuration_policies.get() / .create(...) / .by_id(p)...
    partner.customers.by_id(cid).device_policy.update(devices=[(device_id, policy_id)])

    partner.webhooks.registrations.list() / .get() / .create(url, events)
    partner.webhooks.registrations.by_id(rid).get() / .update(url, events) / .delete()
        / .rotate_secret() / .replay(failed_since=...) / .send_test()
    partner.webhooks.registrations.by_id(rid).deliveries.list() / .pages()
    partner.webhooks.registrations.send_test()  (to every active registration)
    partner.webhooks.event_types()
    partner.webhooks.events.by_id(event_id).replay() / .deliveries.list() / .pages()

Building the chain makes no request; the verbs at its end do (awaited, with the async
client; ``list()`` and ``pages()`` are then async iterators).

Written once: the async original is ``ztd/client/aio/operations.py``, and
``ztd/client/operations.py`` is generated from it by ``make unasync`` (scripts/unasync_client.py).
Edit the async one.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import TypeVar

from ztd.client import _device_deployment as dd
from ztd.client import _policies as pol
from ztd.client import _webhook_log as whl
from ztd.client import _webhook_registrations as whr
from ztd.client._lro import StatusLocation
from ztd.client._request import (
    ApiRequest,
    parse_collection,
    parse_model,
    parse_strings,
    segment,
)
from ztd.wire import (
    BatchUploadDetails,
    ConfigurationPolicy,
    Device,
    DeviceBatch,
    DeviceBatchCreationRequest,
    DevicePolicyUpdateRequest,
    ResourceCollection,
    WebhookDelivery,
    WebhookRegistration,
    WebhookReplay,
    WebhookTestEvents,
    WireModel,
)

from ._pipeline import AsyncPipeline
from .poller import AsyncBatchUploadPoller

__all__ = [
    "BatchJobStatusCollectionOperations",
    "BatchJobStatusOperations",
    "ConfigurationPolicyCollectionOperations",
    "ConfigurationPolicyOperations",
    "CustomerCollectionOperations",
    "CustomerOperations",
    "DeviceBatchCollectionOperations",
    "DeviceBatchOperations",
    "DeviceCollectionOperations",
    "DeviceOperations",
    "DevicePolicyOperations",
    "WebhookDeliveryCollectionOperations",
    "WebhookEventCollectionOperations",
    "WebhookEventOperations",
    "WebhookOperations",
    "WebhookRegistrationCollectionOperations",
    "WebhookRegistrationOperations",
]

M = TypeVar("M", bound=WireModel)


async def _pages(
    pipeline: AsyncPipeline,
    request_for: Callable[[str | None], ApiRequest],
    item: type[M],
    continuation_token: str | None,
) -> AsyncIterator[ResourceCollection[M]]:
    token = continuation_token
    seen = {token} if token else set()
    while True:
        page = parse_collection(await pipeline.send(request_for(token)), item)
        yield page
        token = dd.next_page_token(page, seen)
        if token is None:
            return


async def _all(pages: AsyncIterator[ResourceCollection[M]], item: type[M]) -> ResourceCollection[M]:
    return dd.merge_pages([page async for page in pages], item)


async def _begin(pipeline: AsyncPipeline, request: ApiRequest) -> AsyncBatchUploadPoller:
    response = await pipeline.send(request)
    return AsyncBatchUploadPoller(pipeline, StatusLocation.parse(response.headers.get("location")))


class CustomerCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    def by_id(self, customer_id: str) -> CustomerOperations:
        return CustomerOperations(self._pipeline, customer_id)

    __getitem__ = by_id


class CustomerOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str) -> None:
        segment(customer_id, "customer_id")
        self._pipeline = pipeline
        self.customer_id = customer_id.strip()

    @property
    def device_batches(self) -> DeviceBatchCollectionOperations:
        return DeviceBatchCollectionOperations(self._pipeline, self.customer_id)

    @property
    def batch_upload_status(self) -> BatchJobStatusCollectionOperations:
        return BatchJobStatusCollectionOperations(self._pipeline, self.customer_id)

    @property
    def configuration_policies(self) -> ConfigurationPolicyCollectionOperations:
        return ConfigurationPolicyCollectionOperations(self._pipeline, self.customer_id)

    @property
    def device_policy(self) -> DevicePolicyOperations:
        return DevicePolicyOperations(self._pipeline, self.customer_id)


class DeviceBatchCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str) -> None:
        self._pipeline = pipeline
        self.customer_id = customer_id

    async def get(self) -> ResourceCollection[DeviceBatch]:
        """All the customer's device batches (E3)."""
        return await _all(self.pages(), DeviceBatch)

    async def list(self) -> AsyncIterator[DeviceBatch]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def pages(
        self, continuation_token: str | None = None
    ) -> AsyncIterator[ResourceCollection[DeviceBatch]]:
        return _pages(
            self._pipeline,
            lambda token: dd.list_batches(self.customer_id, token),
            DeviceBatch,
            continuation_token,
        )

    async def create(
        self,
        request: DeviceBatchCreationRequest | None = None,
        *,
        batch_id: str | None = None,
        devices: Iterable[dd.DeviceLike] | None = None,
        request_id: str | None = None,
    ) -> AsyncBatchUploadPoller:
        """Create a batch with its devices (E1); 409 ConflictError if the name is taken.

        ``request_id`` fixes ``MS-RequestId``: sending the same create again with it (even
        from another process) returns the first job instead of making a second one.
        """
        body = dd.creation_request(request, batch_id, devices)
        return await _begin(self._pipeline, dd.create_batch(self.customer_id, body, request_id))

    def by_id(self, batch_id: str) -> DeviceBatchOperations:
        return DeviceBatchOperations(self._pipeline, self.customer_id, batch_id)

    __getitem__ = by_id


class DeviceBatchOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str, batch_id: str) -> None:
        segment(batch_id, "batch_id")
        self._pipeline = pipeline
        self.customer_id = customer_id
        self.batch_id = batch_id

    @property
    def devices(self) -> DeviceCollectionOperations:
        return DeviceCollectionOperations(self._pipeline, self.customer_id, self.batch_id)


class DeviceCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str, batch_id: str) -> None:
        self._pipeline = pipeline
        self.customer_id = customer_id
        self.batch_id = batch_id

    async def get(self, *, include_hardware_hash: bool = False) -> ResourceCollection[Device]:
        """Every device of the batch (E4), across all pages (the .NET SDK stops at one);
        their hardware hashes only with ``include_hardware_hash``."""
        return await _all(self.pages(include_hardware_hash=include_hardware_hash), Device)

    async def list(self, *, include_hardware_hash: bool = False) -> AsyncIterator[Device]:
        async for page in self.pages(include_hardware_hash=include_hardware_hash):
            for item in page.items:
                yield item

    def pages(
        self, continuation_token: str | None = None, *, include_hardware_hash: bool = False
    ) -> AsyncIterator[ResourceCollection[Device]]:
        return _pages(
            self._pipeline,
            lambda token: dd.list_devices(
                self.customer_id, self.batch_id, token, include_hardware_hash
            ),
            Device,
            continuation_token,
        )

    async def create(
        self, devices: Iterable[dd.DeviceLike], *, request_id: str | None = None
    ) -> AsyncBatchUploadPoller:
        """Add devices to the existing batch (E2)."""
        request = dd.add_devices(
            self.customer_id, self.batch_id, dd.to_devices(devices), request_id
        )
        return await _begin(self._pipeline, request)

    def by_id(self, device_id: str) -> DeviceOperations:
        return DeviceOperations(self._pipeline, self.customer_id, self.batch_id, device_id)

    __getitem__ = by_id


class DeviceOperations:
    def __init__(
        self, pipeline: AsyncPipeline, customer_id: str, batch_id: str, device_id: str
    ) -> None:
        segment(device_id, "device_id")
        self._pipeline = pipeline
        self.customer_id = customer_id
        self.batch_id = batch_id
        self.device_id = device_id

    async def get(self) -> Device:
        """The device, its hardware hash included."""
        request = dd.get_device(self.customer_id, self.batch_id, self.device_id)
        return parse_model(await self._pipeline.send(request), Device)

    async def patch(self, device: dd.DeviceLike, *, request_id: str | None = None) -> Device:
        """Change what a partner may change on the device, its policy (``policies``: an
        OOBE entry with the policy id, or without a value for none); an HTTP PUT, as
        .NET's ``IDevice.Patch``. Returns the device as it now is."""
        body = dd.to_device(device)
        request = dd.update_device(
            self.customer_id, self.batch_id, self.device_id, body, request_id
        )
        return parse_model(await self._pipeline.send(request), Device)

    async def delete(self, *, request_id: str | None = None) -> None:
        """Delete the device from the batch (E5)."""
        await self._pipeline.send(
            dd.delete_device(self.customer_id, self.batch_id, self.device_id, request_id)
        )


class BatchJobStatusCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str) -> None:
        self._pipeline = pipeline
        self.customer_id = customer_id

    def by_id(self, tracking_id: str) -> BatchJobStatusOperations:
        return BatchJobStatusOperations(self._pipeline, self.customer_id, tracking_id)

    __getitem__ = by_id


class BatchJobStatusOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str, tracking_id: str) -> None:
        self._pipeline = pipeline
        self._where = StatusLocation.of(customer_id, tracking_id)

    async def get(self) -> BatchUploadDetails:
        """The job's BatchUploadDetails (E7), as it is now."""
        return parse_model(await self._pipeline.send(self._where.request()), BatchUploadDetails)

    def poller(self) -> AsyncBatchUploadPoller:
        """A poller for this job, to wait for it to finish."""
        return AsyncBatchUploadPoller(self._pipeline, self._where)


class ConfigurationPolicyCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str) -> None:
        self._pipeline = pipeline
        self.customer_id = customer_id

    async def get(self) -> ResourceCollection[ConfigurationPolicy]:
        """All the customer's configuration policies (E8)."""
        return await _all(self.pages(), ConfigurationPolicy)

    async def list(self) -> AsyncIterator[ConfigurationPolicy]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def pages(
        self, continuation_token: str | None = None
    ) -> AsyncIterator[ResourceCollection[ConfigurationPolicy]]:
        return _pages(
            self._pipeline,
            lambda token: pol.list_policies(self.customer_id, token),
            ConfigurationPolicy,
            continuation_token,
        )

    async def create(
        self,
        policy: pol.PolicyLike | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        policy_settings: Iterable[pol.SettingLike] | None = None,
        category: pol.CategoryLike | None = None,
        request_id: str | None = None,
    ) -> ConfigurationPolicy:
        """Create a policy (E9) and return it as created (with its id).

        Settings are ``PolicySettingsType`` members or their snake_case names. Without a
        category the service makes it ``o_o_b_e``, the only one there is.
        """
        body = pol.policy_for_create(
            policy,
            name=name,
            description=description,
            policy_settings=policy_settings,
            category=category,
        )
        response = await self._pipeline.send(pol.create_policy(self.customer_id, body, request_id))
        return parse_model(response, ConfigurationPolicy)

    def by_id(self, policy_id: str) -> ConfigurationPolicyOperations:
        return ConfigurationPolicyOperations(self._pipeline, self.customer_id, policy_id)

    __getitem__ = by_id


class ConfigurationPolicyOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str, policy_id: str) -> None:
        segment(policy_id, "policy_id")
        self._pipeline = pipeline
        self.customer_id = customer_id
        self.policy_id = policy_id.strip()

    async def get(self) -> ConfigurationPolicy:
        """The policy (E10), with ``devices_assigned_count``."""
        response = await self._pipeline.send(pol.get_policy(self.customer_id, self.policy_id))
        return parse_model(response, ConfigurationPolicy)

    async def patch(
        self, policy: pol.PolicyLike, *, request_id: str | None = None
    ) -> ConfigurationPolicy:
        """Replace the policy's name, description and settings (E11; an HTTP PUT, as .NET's
        ``Patch``); its id and category stay. Returns the updated policy."""
        body = pol.policy_for_patch(policy)
        request = pol.replace_policy(self.customer_id, self.policy_id, body, request_id)
        return parse_model(await self._pipeline.send(request), ConfigurationPolicy)

    async def delete(self, *, request_id: str | None = None) -> None:
        """Delete the policy (E12); the devices that used it are left without a policy."""
        await self._pipeline.send(pol.delete_policy(self.customer_id, self.policy_id, request_id))


class DevicePolicyOperations:
    """.NET's ``DevicePolicy``: assigning configuration policies to devices (E6)."""

    def __init__(self, pipeline: AsyncPipeline, customer_id: str) -> None:
        self._pipeline = pipeline
        self.customer_id = customer_id

    async def update(
        self,
        request: DevicePolicyUpdateRequest | None = None,
        *,
        devices: Iterable[pol.PolicyDeviceLike] | None = None,
        request_id: str | None = None,
    ) -> AsyncBatchUploadPoller:
        """Assign policies to devices (E6): a batch job, followed like an upload's.

        ``devices`` holds ``(device_id, policy_id)`` pairs (``policy_id=None`` removes the
        assignment) or Devices with ``id`` and ``policies``. Per device, the job reports 807
        (not this customer's device), 809 (no such policy) or 810 (another customer's).
        """
        body = pol.update_request(request, devices)
        return await _begin(
            self._pipeline, pol.update_device_policies(self.customer_id, body, request_id)
        )


class WebhookOperations:
    """ztd's webhook API (``/webhooks/v1``; not Partner Center's): registrations, their
    delivery log, replays. Errors as everywhere in the SDK: another partner's registration
    or event is NotFoundError (as a missing one), a refused body BadInputError naming each
    problem, a limit reached or a replay while disabled ConflictError."""

    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    @property
    def registrations(self) -> WebhookRegistrationCollectionOperations:
        return WebhookRegistrationCollectionOperations(self._pipeline)

    @property
    def events(self) -> WebhookEventCollectionOperations:
        return WebhookEventCollectionOperations(self._pipeline)

    async def event_types(self) -> list[str]:
        """The event types a registration may ask for, e.g. ``devicebatch.job.completed``."""
        return parse_strings(await self._pipeline.send(whr.event_types()))


class WebhookRegistrationCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    async def get(self) -> ResourceCollection[WebhookRegistration]:
        """All the partner's registrations (at most 20 endpoints, plus its listen channels),
        oldest first, each with its status (and ``disabled_reason`` when disabled), never
        with its secret."""
        response = await self._pipeline.send(whr.list_registrations())
        return parse_collection(response, WebhookRegistration)

    async def list(self) -> AsyncIterator[WebhookRegistration]:
        """The registrations of get(), one at a time (one request: they are not paged)."""
        for registration in (await self.get()).items:
            yield registration

    async def create(self, url: str, events: Iterable[str]) -> WebhookRegistration:
        """Register ``url`` (http(s)://, an address the service may call) for the event
        types ``events``. The answer carries the signing ``secret`` (``whsec_...``): keep
        it, it is never shown again. ValueError for an empty URL or no events;
        BadInputError for a URL or event type the service refuses; ConflictError past
        the limit of 20 endpoints."""
        response = await self._pipeline.send(whr.create_registration(url, events))
        return parse_model(response, WebhookRegistration)

    # builtins.list: ``list`` here is the method above.
    async def send_test(self) -> builtins.list[str]:
        """A ``webhook.test`` event to every active registration; the events' ids.
        ConflictError when every registration is disabled (update() one first),
        BadInputError when there is none."""
        response = await self._pipeline.send(whr.send_test(None))
        return parse_model(response, WebhookTestEvents).event_ids

    def by_id(self, registration_id: str) -> WebhookRegistrationOperations:
        return WebhookRegistrationOperations(self._pipeline, registration_id)

    __getitem__ = by_id


class WebhookRegistrationOperations:
    def __init__(self, pipeline: AsyncPipeline, registration_id: str) -> None:
        segment(registration_id, "registration_id")
        self._pipeline = pipeline
        self.registration_id = registration_id.strip()

    async def get(self) -> WebhookRegistration:
        """The registration (without its secret); NotFoundError if missing."""
        response = await self._pipeline.send(whr.get_registration(self.registration_id))
        return parse_model(response, WebhookRegistration)

    async def update(self, url: str, events: Iterable[str]) -> WebhookRegistration:
        """Replace its URL and event types (validated as at creation); a disabled
        registration becomes active again (then replay() what failed). The secret stays.
        Returns the registration as it now is."""
        request = whr.replace_registration(self.registration_id, url, events)
        return parse_model(await self._pipeline.send(request), WebhookRegistration)

    async def delete(self) -> None:
        """Remove the registration; its pending deliveries are cancelled."""
        await self._pipeline.send(whr.delete_registration(self.registration_id))

    async def rotate_secret(
        self, *, overlap_seconds: float = whr.DEFAULT_OVERLAP_SECONDS
    ) -> WebhookRegistration:
        """A new signing secret, in the answer's ``secret`` (shown this once); the old one
        signs beside it for ``overlap_seconds`` (0 to 7 days; default a day), until
        ``previous_secret_expires_time``. ValueError for an overlap outside that."""
        request = whr.rotate_secret(self.registration_id, overlap_seconds)
        return parse_model(await self._pipeline.send(request), WebhookRegistration)

    async def replay(self, *, failed_since: datetime) -> int:
        """Queue again its failed deliveries of events since ``failed_since`` (a datetime
        with its time zone), and those cancelled when it was disabled; how many were
        queued. ConflictError while the registration is disabled (update() it first)."""
        request = whr.replay_failed(self.registration_id, failed_since)
        return parse_model(await self._pipeline.send(request), WebhookReplay).queued

    async def send_test(self) -> str:
        """A ``webhook.test`` event to this registration; the event's id. ConflictError
        while the registration is disabled (update() it first)."""
        response = await self._pipeline.send(whr.send_test(self.registration_id))
        return parse_model(response, WebhookTestEvents).event_ids[0]

    @property
    def deliveries(self) -> WebhookDeliveryCollectionOperations:
        """Every event sent to this registration, newest first, with its attempts; another
        partner's registration is NotFoundError, as a missing one."""
        registration_id = self.registration_id
        return WebhookDeliveryCollectionOperations(
            self._pipeline,
            lambda token, size: whl.registration_deliveries(registration_id, token, size),
        )


class WebhookEventCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    def by_id(self, event_id: str) -> WebhookEventOperations:
        return WebhookEventOperations(self._pipeline, event_id)

    __getitem__ = by_id


class WebhookEventOperations:
    def __init__(self, pipeline: AsyncPipeline, event_id: str) -> None:
        segment(event_id, "event_id")
        self._pipeline = pipeline
        self.event_id = event_id.strip()

    async def replay(self) -> int:
        """Send the event again to its registrations that are active now; how many
        deliveries were queued. NotFoundError for another partner's event; ConflictError
        when every registration it went to is disabled."""
        return (await self.replay_details()).queued

    async def replay_details(self) -> WebhookReplay:
        """As :meth:`replay`, with the disabled registrations it left out (``skipped``)."""
        response = await self._pipeline.send(whr.replay_event(self.event_id))
        return parse_model(response, WebhookReplay)

    @property
    def deliveries(self) -> WebhookDeliveryCollectionOperations:
        """The event's deliveries, one per registration it went to, newest first, with
        their attempts; another partner's event is NotFoundError, as a missing one."""
        event_id = self.event_id
        return WebhookDeliveryCollectionOperations(
            self._pipeline, lambda token, size: whl.event_deliveries(event_id, token, size)
        )


class WebhookDeliveryCollectionOperations:
    """A delivery log, read a page at a time (newest first)."""

    def __init__(
        self,
        pipeline: AsyncPipeline,
        request_for: Callable[[str | None, int | None], ApiRequest],
    ) -> None:
        self._pipeline = pipeline
        self._request_for = request_for

    async def list(self, *, page_size: int | None = None) -> AsyncIterator[WebhookDelivery]:
        """Every delivery, newest first, reading the pages as it goes."""
        async for page in self.pages(page_size=page_size):
            for delivery in page.items:
                yield delivery

    def pages(
        self, continuation_token: str | None = None, *, page_size: int | None = None
    ) -> AsyncIterator[ResourceCollection[WebhookDelivery]]:
        """The pages from ``continuation_token`` on (the first without one): ``page_size``
        deliveries each (1 to 100; the service's default is 20). A page's
        ``continuation_token`` resumes the read later. ValueError for a bad ``page_size``."""
        whl.check_page_size(page_size)
        return _pages(
            self._pipeline,
            lambda token: self._request_for(token, page_size),
            WebhookDelivery,
            continuation_token,
        )
