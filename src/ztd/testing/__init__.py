"""Test partner automation against an in-process ztd emulator.

``with emulator() as emu:`` starts ztd on a free port with a throwaway data directory and
hands back its base URL, factories for partners, customers and tokens, and the control
plane (rules, faults, reset, snapshots, the request journal). The pytest plugin (installed
with ztd) exposes it as the ``ztd_emulator`` (session) and ``ztd`` (reset per test)
fixtures. See docs/testing.md.
"""

from ztd.testing.control import ControlClient, ControlError
from ztd.testing.emulator import Emulator, Tenant, emulator

__all__ = ["ControlClient", "ControlError", "Emulator", "Tenant", "emulator"]
