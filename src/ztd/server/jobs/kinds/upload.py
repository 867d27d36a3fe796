"""The ``upload`` kind: register a chunk of uploaded devices (create batch, add devices).

The 806 / 808 rules live in ``services.registration``; the emulator's outcome rules
(``/_ztd/v1/rules``) decide around the registration.
"""

from __future__ import annotations

from dataclasses import dataclass

from ztd.server.emulator.rules import decide_chunk
from ztd.server.jobs.contract import ChunkContext, ChunkResult
from ztd.server.services.registration import register_chunk
from ztd.server.settings import RegistrationMode, Settings

NAME = "upload"


@dataclass(frozen=True, slots=True)
class UploadKind:
    mode: RegistrationMode = RegistrationMode.OPEN
    name: str = NAME

    def process(self, ctx: ChunkContext) -> ChunkResult:
        return decide_chunk(ctx, lambda: register_chunk(ctx, self.mode))


def make(settings: Settings) -> UploadKind:
    return UploadKind(settings.registration_mode)
