"""Job kinds: one module each, found by the engine only through :mod:`.registry`."""
