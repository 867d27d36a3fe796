"""`ztd listen --forward-to`: which URLs it takes, and how an event is posted there.

A forward that cannot connect (the local app is restarting, or not started yet) is tried
again a few times, quickly: the request never reached the app, so trying again cannot
deliver the event twice. Anything else (an answer of any status, a timeout, a connection
dropped mid-request) is the outcome as is: the app may have acted on the event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from ztd.wire import urls

# Seconds before each try after the first: 4 tries over 3.5 s at most.
RETRY_DELAYS = (0.5, 1.0, 2.0)


def check_forward_url(url: str) -> str | None:
    """Why ``url`` cannot be forwarded to (an absolute http:// or https:// URL with a host,
    e.g. http://127.0.0.1:3000/hook), or None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:3000/hook)"
    if credentials := urls.credentials_problem(parts):
        return credentials  # the URL is not repeated: it holds a password
    if not parts.hostname:
        return f"{url!r} has no host (e.g. http://127.0.0.1:3000/hook)"
    return None


def forward(
    local: httpx.Client,
    url: str,
    item: dict[str, Any],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """POST a listened event (``item``: its ``payload`` text and signature ``headers``) to
    ``url``, trying again after each of RETRY_DELAYS while the connection is refused.
    Returns ``{"status": 200, "attempts": 1}`` when the app answered (any status), else
    ``{"error": "...", "attempts": N}``."""
    attempts, failure = 0, ""
    for delay in (0.0, *RETRY_DELAYS):
        if delay:
            sleep(delay)
        attempts += 1
        try:
            response = local.post(
                url,
                content=item["payload"].encode(),
                headers={**item["headers"], "Content-Type": "application/json"},
            )
        except httpx.ConnectError as exc:
            failure = str(exc) or type(exc).__name__
            continue
        except httpx.HTTPError as exc:
            return {"error": str(exc) or type(exc).__name__, "attempts": attempts}
        return {"status": response.status_code, "attempts": attempts}
    return {"error": failure, "attempts": attempts}


def shown(outcome: dict[str, Any]) -> str:
    """The outcome as the human output prints it: ``-> 200``, ``-> 200 (3 tries)`` or
    ``forward failed after 4 tries: ...``."""
    tries = outcome["attempts"]
    if "status" in outcome:
        return f"-> {outcome['status']}" + (f" ({tries} tries)" if tries > 1 else "")
    after = f" after {tries} tries" if tries > 1 else ""
    return f"forward failed{after}: {outcome['error']}"
