"""The emulator page's forms read into the control plane's own request models (RuleSpec,
FaultSpec, ThrottleSpec), so a form is validated by exactly the rules a POST to /_ztd/v1/
meets; a refusal comes back as sentences naming the form's fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ztd.identity import dds
from ztd.server.emulator.specs import FAULT_STATUSES, FaultSpec, RuleSpec, ThrottleSpec

# The form's field names, as the page labels them, by the model path pydantic reports.
LABELS = {
    "partnerId": "Partner id",
    "customerId": "Customer id",
    "match": "Match",
    "match.serialNumber": "Serial number",
    "match.productKey": "Product key",
    "match.manufacturer": "Manufacturer",
    "match.model": "Model",
    "outcome": "Outcome",
    "outcome.errorCode": "Error",
    "outcome.stayProcessing": "Stay processing",
    "outcome.stayProcessing.polls": "Polls",
    "outcome.stayProcessing.seconds": "Seconds",
    "outcome.failChunkTimes": "Fail the chunk",
    "times": "Devices it decides",
    "method": "Method",
    "path": "Path",
    "status": "Status",
    "retryAfter": "Retry-After",
    "latencyMs": "Latency",
    "count": "Next K calls",
    "nth": "Only the Nth call",
    "probability": "Probability",
    "partner.requests": "Partner: requests",
    "partner.perSeconds": "Partner: seconds",
    "customer.requests": "Customer: requests",
    "customer.perSeconds": "Customer: seconds",
}
ERROR_CHOICES = tuple((e.code or e.name, f"{e.code or '-'} {e.name}") for e in dds.ALL)
STATUS_CHOICES = tuple(sorted(FAULT_STATUSES))
METHOD_CHOICES = ("GET", "POST", "PUT", "PATCH", "DELETE")


class FormRefused(Exception):
    """The form does not make a valid control; ``problems`` are sentences for the page."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    return text or None


_ALWAYS_SENT = frozenset({"match", "outcome"})  # empty: their own validator says what to give


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    """The fields given; an empty optional group (stayProcessing, a throttling scope) is
    left out as if its form part was not filled in."""
    cleaned = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _without_none(value)
            if not value and key not in _ALWAYS_SENT:
                continue
        if value is not None:
            cleaned[key] = value
    return cleaned


M = TypeVar("M", bound=BaseModel)


def _model(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(_without_none(data))
    except ValidationError as exc:
        raise FormRefused([_sentence(error) for error in exc.errors()]) from None


def _sentence(error: Any) -> str:
    path = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    label = LABELS.get(path, path)
    return f"{label}: {message}" if label else message[:1].upper() + message[1:]


def rule_from(form: Mapping[str, Any]) -> RuleSpec:
    """A device outcome rule from the rule form. Raises FormRefused."""
    return _model(
        RuleSpec,
        {
            "partnerId": _text(form, "partner_id"),
            "customerId": _text(form, "customer_id"),
            "match": {
                "serialNumber": _text(form, "serial_number"),
                "productKey": _text(form, "product_key"),
                "manufacturer": _text(form, "manufacturer"),
                "model": _text(form, "model"),
            },
            "outcome": {
                "errorCode": _text(form, "error_code"),
                "stayProcessing": {
                    "polls": _text(form, "stay_polls"),
                    "seconds": _text(form, "stay_seconds"),
                },
                "failChunkTimes": _text(form, "fail_chunk_times"),
            },
            "times": _text(form, "times"),
        },
    )


def fault_from(form: Mapping[str, Any]) -> FaultSpec:
    """An HTTP fault from the fault form. Raises FormRefused."""
    return _model(FaultSpec, {camel: _text(form, name) for name, camel in _FAULT_FIELDS.items()})


_FAULT_FIELDS = {  # the form's names -> the control plane's
    "partner_id": "partnerId",
    "customer_id": "customerId",
    "method": "method",
    "path": "path",
    "status": "status",
    "retry_after": "retryAfter",
    "latency_ms": "latencyMs",
    "count": "count",
    "nth": "nth",
    "probability": "probability",
}


def throttling_from(form: Mapping[str, Any]) -> ThrottleSpec:
    """Throttling from its form: each scope on when both its numbers are given (neither:
    that scope off). Raises FormRefused."""
    scopes: dict[str, Any] = {}
    for scope in ("partner", "customer"):
        requests, seconds = _text(form, f"{scope}_requests"), _text(form, f"{scope}_seconds")
        if requests is not None or seconds is not None:  # one alone: "... Field required"
            scopes[scope] = {"requests": requests, "perSeconds": seconds}
    return _model(ThrottleSpec, {**scopes, "rateLimitHeaders": bool(_text(form, "headers"))})
