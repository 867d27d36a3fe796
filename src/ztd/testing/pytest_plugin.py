"""pytest fixtures for ztd (registered through the ``pytest11`` entry point).

``ztd_emulator``: one emulator for the session. ``ztd``: the same emulator, reset to an
empty world (rules, faults and journal included) before each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ztd.testing.emulator import Emulator, emulator


@pytest.fixture(scope="session")
def ztd_emulator() -> Iterator[Emulator]:
    with emulator() as emu:
        yield emu


@pytest.fixture
def ztd(ztd_emulator: Emulator) -> Emulator:
    ztd_emulator.reset()
    return ztd_emulator
