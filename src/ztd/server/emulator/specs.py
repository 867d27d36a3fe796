"""The control plane's request bodies (camelCase JSON), validated with precise errors."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ztd.identity import analyze_device, dds
from ztd.server.emulator.routes import FAULT_ROUTES, route_named
from ztd.server.errors import shown
from ztd.server.settings import THROTTLE_MAX_REQUESTS, THROTTLE_MAX_SECONDS
from ztd.server.storage.ids import maybe_guid


def tenant_key(value: str | None) -> str | None:
    """A partner or customer id as the controls store and compare it: the stored GUID
    spelling when ``value`` is a GUID in any spelling the API reads (case, braces, no
    hyphens), else ``value`` lower-cased (which then matches nothing)."""
    if value is None:
        return None
    return maybe_guid(value) or value.lower()


def _tenant_guid(value: str) -> str:
    guid = maybe_guid(value)
    if guid is None:
        raise ValueError(f"{shown(value)} is no GUID: give a partner or customer id")
    return guid


# A partner or customer id in a control's body: refused unless a GUID, stored canonical, so
# that a control scoped to a customer applies however a client spells that customer's id.
TenantId = Annotated[str, AfterValidator(_tenant_guid)]


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Match(_Body):
    """Which uploaded devices a rule decides; every given field must match."""

    serial_number: str | None = Field(None, description="A glob (fnmatch), e.g. LAB-*")
    product_key: str | None = Field(
        None, description="A PKID, exactly: the productKey sent, or the one inside the hash"
    )
    manufacturer: str | None = Field(None, description="Ignoring letter case")
    model: str | None = Field(None, description="Ignoring letter case")
    hardware_hash: str | None = Field(
        None,
        description="A hardware hash: matches the machine it identifies (manufacturer and "
        "serial inside it, as duplicate detection compares them), whichever read of its hash "
        "or its tuple the device is uploaded with",
    )

    @field_validator("hardware_hash")
    @classmethod
    def _decodable(cls, value: str | None) -> str | None:
        if value is not None:
            machine_key(value)  # ValueError naming why, as an upload's 802 would
        return value

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not any(self.model_dump().values()):
            raise ValueError(
                "give at least one of serialNumber, productKey, manufacturer, model, "
                'hardwareHash (serialNumber "*" matches every device)'
            )
        return self


@lru_cache(maxsize=256)
def machine_key(hardware_hash: str) -> str:
    """The identity key (``DeviceIdentity.hardware_key``) of the machine a hash describes,
    decoded as an upload decodes it; ValueError saying why when it is no valid hash. Cached:
    the job engine asks again for every chunk a rule is weighed against."""
    if not hardware_hash.strip():
        raise ValueError("is blank: give the machine's hardware hash, or leave hardwareHash out")
    identity = analyze_device(
        serial_number=None,
        product_key=None,
        hardware_hash=hardware_hash,
        manufacturer=None,
        model=None,
        with_warnings=False,
    )
    if identity.error is not None or identity.hardware_key is None:
        raise ValueError(f"not a valid hardware hash (an upload of it gets 802): {identity.detail}")
    return identity.hardware_key


class StayProcessing(_Body):
    polls: int | None = Field(None, ge=1, description="Report processing for this many polls")
    seconds: float | None = Field(None, gt=0, description="... or for this long")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.polls is None) == (self.seconds is None):
            raise ValueError("give exactly one of polls or seconds")
        return self


class Outcome(_Body):
    error_code: str | None = Field(
        None, description='A DDS code ("808") or name ("ZtdDeviceDuplicated", "StorageError")'
    )
    stay_processing: StayProcessing | None = None
    fail_chunk_times: int | None = Field(
        None, ge=1, description="Fail the chunk holding the device this many times first"
    )

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.error_code is not None and dds_error(self.error_code) is None:
            known = ", ".join(e.code or e.name for e in dds.ALL)
            raise ValueError(f"errorCode {self.error_code!r} is no DDS error; one of {known}")
        if self.error_code is None and self.stay_processing is None and not self.fail_chunk_times:
            raise ValueError("give at least one of errorCode, stayProcessing, failChunkTimes")
        return self


def dds_error(code_or_name: str) -> dds.DdsError | None:
    for error in dds.ALL:
        if code_or_name in (error.code, error.name):
            return error
    return None


class RuleSpec(_Body):
    partner_id: TenantId | None = None
    customer_id: TenantId | None = None
    match: Match
    outcome: Outcome
    times: int | None = Field(None, ge=1, description="Devices it decides before it expires")


class FaultSpec(_Body):
    partner_id: TenantId | None = None
    customer_id: TenantId | None = None
    operation_id: str | None = Field(
        None, description='An operationId of the OpenAPI description, e.g. "BatchUploadStatus_Get"'
    )
    method: str | None = Field(None, description="GET, POST, ...; any when absent")
    path: str | None = Field(None, description='A glob over the path, e.g. "*/batchJobStatus/*"')
    status: int | None = Field(None, description="429, 500, 503, 504; absent: latency only")
    retry_after: int | None = Field(None, ge=0, description="Retry-After seconds (429: 1)")
    latency_ms: int | None = Field(None, ge=0, le=120_000)
    count: int | None = Field(None, ge=1, description="Only the next K matching calls")
    nth: int | None = Field(None, ge=1, description="Only the Nth matching call")
    probability: float | None = Field(None, gt=0, le=1)

    @field_validator("operation_id")
    @classmethod
    def _known_operation(cls, value: str | None) -> str | None:
        if value is not None and route_named(value) is None:
            known = ", ".join(sorted(FAULT_ROUTES))
            raise ValueError(f"{shown(value)} names no operation; one of {known}")
        return value

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.status is None and not self.latency_ms:
            raise ValueError(f"give a status {sorted(FAULT_STATUSES)} or a latencyMs")
        if self.status is not None and self.status not in FAULT_STATUSES:
            raise ValueError(f"status {self.status} is not one of {sorted(FAULT_STATUSES)}")
        if self.count is not None and self.nth is not None:
            raise ValueError("give count or nth, not both")
        route = None if self.operation_id is None else route_named(self.operation_id)
        if route is not None and self.method is not None and self.method.upper() != route.method:
            raise ValueError(
                f"method {shown(self.method)} contradicts operationId "
                f"{self.operation_id} ({route.method})"
            )
        return self


FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})


class Created(BaseModel):
    id: str


class ThrottleLimit(_Body):
    requests: int = Field(ge=1, le=THROTTLE_MAX_REQUESTS)
    per_seconds: int = Field(ge=1, le=THROTTLE_MAX_SECONDS, description="at most a day")


class ThrottleSpec(_Body):
    """Partner Center's two documented scopes: a partner, and a partner acting for one
    customer. Neither: throttling off."""

    partner: ThrottleLimit | None = None
    customer: ThrottleLimit | None = None
    rate_limit_headers: bool = Field(False, description="RateLimit-* headers on answers")

    @property
    def active(self) -> bool:
        return self.partner is not None or self.customer is not None


def parse_limit(text: str | None) -> ThrottleLimit | None:
    """A ZTD_THROTTLE_* setting, "REQUESTS/SECONDS"."""
    if not text:
        return None
    requests, seconds = text.split("/")
    return ThrottleLimit(requests=int(requests), per_seconds=int(seconds))
