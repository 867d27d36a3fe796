"""pytest fixtures for ztd (registered through the ``pytest11`` entry point).

``ztd_emulator``: one emulator for the session. ``ztd``: the same emulator, reset to an
empty world (rules, faults and journal included) before each test.

pytest loads this module in every project where ztd is installed, also where only the SDK
is (``pip install ztd``): the emulator, which needs ``ztd[server]``, is imported when a test
asks for a fixture, never at load time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ztd.testing.emulator import Emulator


@pytest.fixture(scope="session")
def ztd_emulator() -> Iterator[Emulator]:
    from ztd.testing.emulator import emulator

    with emulator() as emu:
        yield emu


@pytest.fixture
def ztd(ztd_emulator: Emulator) -> Emulator:
    ztd_emulator.reset()
    return ztd_emulator
