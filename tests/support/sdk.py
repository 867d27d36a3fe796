"""SDK test data: device dicts as SDK users write them, and a scripted network
(httpx.MockTransport) for the client's own rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.fake_time import FakeTime
from ztd.client import PartnerClient
from ztd.identity import synthesize_device

PAGE_SIZE = 7  # the page size the in-process SDK tests' server uses


def devices(*seeds: int) -> list[dict[str, Any]]:
    """Devices as plain dicts with snake_case keys, each with a valid synthetic hash."""
    out = []
    for seed in seeds:
        d = synthesize_device(seed)
        out.append({"serial_number": d.serial, "hardware_hash": d.hardware_hash})
    return out


CID = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"
PC_ERROR = {"code": "60003", "description": "Tenant x was not found.", "data": [], "source": "PC"}


@dataclass
class Script:
    """Answers requests in order from ``answers``; records what was sent."""

    answers: list[httpx.Response | Exception]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def header(self, name: str) -> list[str]:
        return [r.headers[name] for r in self.requests]


def sdk(script: Script, time: FakeTime, **kwargs: object) -> PartnerClient:
    return PartnerClient(
        "https://pc.example/v1/",
        transport=httpx.MockTransport(script),
        sleep=time.sleep,
        clock=time.clock,
        **({"token": "t0k3n"} | kwargs),  # type: ignore[arg-type]
    )
