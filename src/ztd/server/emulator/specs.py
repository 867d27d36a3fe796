"""The control plane's request bodies (camelCase JSON), validated with precise errors."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from ztd.identity import dds


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Match(_Body):
    """Which uploaded devices a rule decides; every given field must match."""

    serial_number: str | None = Field(None, description="A glob (fnmatch), e.g. LAB-*")
    product_key: str | None = Field(None, description="The product key (PKID), exactly")
    manufacturer: str | None = Field(None, description="Ignoring letter case")
    model: str | None = Field(None, description="Ignoring letter case")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not any(self.model_dump().values()):
            raise ValueError(
                "give at least one of serialNumber, productKey, manufacturer, model "
                '(serialNumber "*" matches every device)'
            )
        return self


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
    partner_id: str | None = None
    customer_id: str | None = None
    match: Match
    outcome: Outcome
    times: int | None = Field(None, ge=1, description="Devices it decides before it expires")


class FaultSpec(_Body):
    partner_id: str | None = None
    customer_id: str | None = None
    method: str | None = Field(None, description="GET, POST, ...; any when absent")
    path: str | None = Field(None, description='A glob over the path, e.g. "*/batchJobStatus/*"')
    status: int | None = Field(None, description="429, 500, 503, 504; absent: latency only")
    retry_after: int | None = Field(None, ge=0, description="Retry-After seconds (429: 1)")
    latency_ms: int | None = Field(None, ge=0, le=120_000)
    count: int | None = Field(None, ge=1, description="Only the next K matching calls")
    nth: int | None = Field(None, ge=1, description="Only the Nth matching call")
    probability: float | None = Field(None, gt=0, le=1)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.status is None and not self.latency_ms:
            raise ValueError("give a status (429, 500, 503, 504) or a latencyMs")
        if self.status is not None and self.status not in FAULT_STATUSES:
            raise ValueError(f"status {self.status} is not one of {sorted(FAULT_STATUSES)}")
        if self.count is not None and self.nth is not None:
            raise ValueError("give count or nth, not both")
        return self


FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})


class Created(BaseModel):
    id: str


class ThrottleLimit(_Body):
    requests: int = Field(ge=1)
    per_seconds: int = Field(ge=1)


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
