"""Device-deployment resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import Field, field_validator

from ztd.wire.base import ResourceAttributes, WireModel, attributes
from ztd.wire.enums import DeviceUploadStatusType, PolicyCategory, PolicySettingsType


class KeyValuePair(WireModel):
    key: PolicyCategory = PolicyCategory.NONE
    value: str | None = None


class Link(WireModel):
    uri: str
    method: str = "GET"
    headers: list[KeyValuePairStr] = Field(default_factory=list)


class KeyValuePairStr(WireModel):
    key: str
    value: str


class ResourceLinks(WireModel):
    self_: Link | None = Field(default=None, alias="self")
    next: Link | None = None
    previous: Link | None = None


class Device(WireModel):
    id: str | None = None
    serial_number: str | None = None
    product_key: str | None = None
    hardware_hash: str | None = None
    model_name: str | None = None
    oem_manufacturer_name: str | None = None
    policies: list[KeyValuePair] | None = None
    uploaded_date: datetime | None = None
    uploaded_by: str | None = None
    allowed_operations: list[str] | None = None
    links: ResourceLinks | None = None
    attributes: ResourceAttributes = attributes("Device")

    @field_validator("uploaded_date", "allowed_operations", "links", mode="wrap")
    @classmethod
    def _tolerate_client_junk(cls, value: object, handler: Any) -> object:
        # Clients echo these back with placeholder values the server never reads.
        try:
            return handler(value)
        except ValueError:
            return None


class DeviceBatch(WireModel):
    id: str
    created_by: str | None = None
    creation_date: datetime | None = None
    devices_count: int = 0
    status: DeviceUploadStatusType | None = None  # of its latest upload
    devices_link: Link | None = None
    links: ResourceLinks | None = None
    attributes: ResourceAttributes = attributes("DeviceBatch")


class DeviceBatchCreationRequest(WireModel):
    batch_id: str | None = None
    devices: list[Device] = Field(default_factory=list)
    attributes: ResourceAttributes = attributes("DeviceBatchCreationRequest")


class DevicePolicyUpdateRequest(WireModel):
    devices: list[Device] = Field(default_factory=list)
    attributes: ResourceAttributes = attributes("DevicePolicyUpdateRequest")


class DeviceUploadDetails(WireModel):
    device_id: str | None = None
    serial_number: str | None = None
    product_key: str | None = None
    status: DeviceUploadStatusType = DeviceUploadStatusType.UNKNOWN
    error_code: str | None = None
    error_description: str | None = None  # the DDS name, e.g. "InvalidZtdHardwareHash"
    # ztd's addition (Partner Center sends no such property): why the device failed and
    # what to do, e.g. "base64 length 3 is not a multiple of 4". Absent when unknown.
    error_detail: str | None = None
    attributes: ResourceAttributes = attributes("DeviceUploadDetails")


class BatchUploadDetails(WireModel):
    batch_tracking_id: str | None = None
    status: DeviceUploadStatusType = DeviceUploadStatusType.UNKNOWN
    started_time: datetime | None = None
    completed_time: datetime | None = None
    devices_status: list[DeviceUploadDetails] = Field(default_factory=list)
    attributes: ResourceAttributes = attributes("BatchUploadDetails")

    @property
    def done(self) -> bool:
        return self.status in (
            DeviceUploadStatusType.FINISHED,
            DeviceUploadStatusType.FINISHED_WITH_ERRORS,
        )

    @property
    def failed_devices(self) -> list[DeviceUploadDetails]:
        """The entries of devices that failed. The top-level status says only whether every
        device was processed (a batch with an 808 reads ``finished``, as Partner Center's
        example shows); success or failure is in the device entries."""
        return [
            d
            for d in self.devices_status
            if d.error_code
            or d.error_description
            or d.status is DeviceUploadStatusType.FINISHED_WITH_ERRORS
        ]

    @property
    def succeeded(self) -> bool:
        """Done, and no device failed."""
        return self.done and not self.failed_devices


class ConfigurationPolicy(WireModel):
    id: str | None = None
    name: str | None = None
    category: PolicyCategory = PolicyCategory.NONE
    description: str | None = None
    devices_assigned_count: int | None = None
    policy_settings: list[PolicySettingsType] = Field(default_factory=list)
    created_date: datetime | None = None
    last_modified_date: datetime | None = None
    attributes: ResourceAttributes = attributes("ConfigurationPolicy")

    @field_validator("devices_assigned_count", mode="before")
    @classmethod
    def _ignore_non_int(cls, value: object) -> object:
        return value if isinstance(value, int) else None


T = TypeVar("T", bound=WireModel)


class ResourceCollection(WireModel, Generic[T]):
    total_count: int = 0
    items: list[T] = Field(default_factory=list)
    continuation_token: str | None = None
    links: ResourceLinks | None = None
    attributes: ResourceAttributes = attributes("Collection")
