"""ZTD_THROTTLE_STORAGE as a ``limits`` storage (anything but ``database``): one place that
builds it, for the throttler and for the settings check that refuses, at start, a URI it
cannot use. The schemes are those whose client ztd installs (redis-py) or needs none
(memory); ``limits`` knows more (memcached, MongoDB, valkey), each needing a package ztd
does not install.

Building a storage connects to nothing; an unreachable Redis shows on the first request.
No ztd imports here: settings validation imports this module."""

from __future__ import annotations

from limits.aio.storage import Storage
from limits.storage import storage_from_string

SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel")


def limits_storage(setting: str) -> Storage:
    """The async ``limits`` storage for a URI (``memory://``, ``redis://host:6379/0``);
    raises ValueError for a scheme not in SCHEMES, limits.errors.ConfigurationError for one
    the library cannot use."""
    scheme, _, rest = setting.partition("://")
    scheme = scheme.lower().removeprefix("async+")
    if scheme not in SCHEMES:
        raise ValueError(f"{scheme}:// is not a storage ztd can use ({', '.join(SCHEMES)})")
    uri = f"async+{scheme}://{rest}"
    options = {"implementation": "redispy"} if scheme.startswith("redis") else {}
    storage = storage_from_string(uri, **options)
    assert isinstance(storage, Storage)  # async+ URIs build async storages
    return storage
