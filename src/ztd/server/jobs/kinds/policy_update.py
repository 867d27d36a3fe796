"""The ``policy_update`` kind: assign configuration policies to registered devices
(DevicePolicyUpdates); the 807 / 809 / 810 rules live in ``services.policy_updates``."""

from __future__ import annotations

from dataclasses import dataclass

from ztd.server.jobs.contract import ChunkContext, ChunkResult
from ztd.server.services.policy_updates import apply_chunk
from ztd.server.settings import Settings

NAME = "policy_update"


@dataclass(frozen=True, slots=True)
class PolicyUpdateKind:
    name: str = NAME

    def process(self, ctx: ChunkContext) -> ChunkResult:
        return apply_chunk(ctx)


def make(_settings: Settings) -> PolicyUpdateKind:
    return PolicyUpdateKind()
