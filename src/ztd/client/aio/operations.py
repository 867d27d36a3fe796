"""The fluent surface (async): the same chain as ``ztd.client.operations``; the verbs at
its end are awaited, and ``list()``/``pages()`` are async iterators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

from ztd.client import _device_deployment as dd
from ztd.client import _policies as pol
from ztd.client._lro import StatusLocation
from ztd.client._request import ApiRequest, parse_collection, parse_model, segment
from ztd.client.aio._pipeline import AsyncPipeline
from ztd.client.aio.poller import AsyncBatchUploadPoller
from ztd.wire import (
    BatchUploadDetails,
    ConfigurationPolicy,
    Device,
    DeviceBatch,
    DeviceBatchCreationRequest,
    DevicePolicyUpdateRequest,
    ResourceCollection,
    WireModel,
)

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
]

M = TypeVar("M", bound=WireModel)


async def _pages(
    pipeline: AsyncPipeline,
    request_for: Callable[[str | None], ApiRequest],
    item: type[M],
    continuation_token: str | None,
) -> AsyncIterator[ResourceCollection[M]]:
    token = continuation_token
    while True:
        page = parse_collection(await pipeline.send(request_for(token)), item)
        yield page
        token = dd.next_page_token(page, token)
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

    async def get(self) -> ResourceCollection[Device]:
        return await _all(self.pages(), Device)

    async def list(self) -> AsyncIterator[Device]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def pages(
        self, continuation_token: str | None = None
    ) -> AsyncIterator[ResourceCollection[Device]]:
        return _pages(
            self._pipeline,
            lambda token: dd.list_devices(self.customer_id, self.batch_id, token),
            Device,
            continuation_token,
        )

    async def create(
        self, devices: Iterable[dd.DeviceLike], *, request_id: str | None = None
    ) -> AsyncBatchUploadPoller:
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

    async def delete(self, *, request_id: str | None = None) -> None:
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
        return parse_model(await self._pipeline.send(self._where.request()), BatchUploadDetails)

    def poller(self) -> AsyncBatchUploadPoller:
        return AsyncBatchUploadPoller(self._pipeline, self._where)


class ConfigurationPolicyCollectionOperations:
    def __init__(self, pipeline: AsyncPipeline, customer_id: str) -> None:
        self._pipeline = pipeline
        self.customer_id = customer_id

    async def get(self) -> ResourceCollection[ConfigurationPolicy]:
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
        response = await self._pipeline.send(pol.get_policy(self.customer_id, self.policy_id))
        return parse_model(response, ConfigurationPolicy)

    async def patch(
        self, policy: pol.PolicyLike, *, request_id: str | None = None
    ) -> ConfigurationPolicy:
        body = pol.policy_for_patch(policy)
        request = pol.replace_policy(self.customer_id, self.policy_id, body, request_id)
        return parse_model(await self._pipeline.send(request), ConfigurationPolicy)

    async def delete(self, *, request_id: str | None = None) -> None:
        await self._pipeline.send(pol.delete_policy(self.customer_id, self.policy_id, request_id))


class DevicePolicyOperations:
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
        body = pol.update_request(request, devices)
        return await _begin(
            self._pipeline, pol.update_device_policies(self.customer_id, body, request_id)
        )
