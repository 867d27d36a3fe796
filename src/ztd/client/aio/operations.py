"""The fluent surface, mirroring the .NET SDK in snake_case:

    partner.customers.by_id(cid).device_batches.get() / .create(...) / .by_id(b).devices...
    partner.customers.by_id(cid).batch_upload_status.by_id(tid).get()

    partner.customers.by_id(cid).configuration_policies.get() / .create(...) / .by_id(p)...
    partner.customers.by_id(cid).device_policy.update(devices=[(device_id, policy_id)])

    partner.webhooks.registrations.by_id(rid).deliveries.list() / .pages()
    partner.webhooks.events.by_id(event_id).deliveries.list() / .pages()

Building the chain makes no request; the verbs at its end do (awaited, with the async
client; ``list()`` and ``pages()`` are then async iterators).

Written once: the async original is ``ztd/client/aio/operations.py``, and
``ztd/client/operations.py`` is generated from it by ``make unasync`` (scripts/unasync_client.py).
Edit the async one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

from ztd.client import _device_deployment as dd
from ztd.client import _policies as pol
from ztd.client import _webhook_log as whl
from ztd.client._lro import StatusLocation
from ztd.client._request import ApiRequest, parse_collection, parse_model, segment
from ztd.wire import (
    BatchUploadDetails,
    ConfigurationPolicy,
    Device,
    DeviceBatch,
    DeviceBatchCreationRequest,
    DevicePolicyUpdateRequest,
    ResourceCollection,
    WebhookDelivery,
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
    """ztd's webhook API (``/webhooks/v1``; not Partner Center's): the delivery log."""

    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    @property
    def registrations(self) -> WebhookRegistrationCollectionOperations:
        return WebhookRegistrationCollectionOperations(self._pipeline)

    @property
    def events(self) -> WebhookEventCollectionOperations:
        return WebhookEventCollectionOperations(self._pipeline)


class WebhookRegistrationCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline) -> None:
        self._pipeline = pipeline

    def by_id(self, registration_id: str) -> WebhookRegistrationOperations:
        return WebhookRegistrationOperations(self._pipeline, registration_id)

    __getitem__ = by_id


class WebhookRegistrationOperations:
    def __init__(self, pipeline: AsyncPipeline, registration_id: str) -> None:
        segment(registration_id, "registration_id")
        self._pipeline = pipeline
        self.registration_id = registration_id.strip()

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
