"""Rules on the URLs ztd sends webhooks to, shared by the service (registrations) and the
CLI (`ztd listen --forward-to`) so that both refuse the same URLs in the same words."""

from __future__ import annotations

from urllib.parse import SplitResult

# Why: a secret in a URL is logged, shown and stored wherever the URL is (the delivery
# log, the console, proxies); receivers authenticate ztd by the signature instead.
CREDENTIALS_REFUSED = "carries credentials (user:password@); remove them."


def credentials_problem(parts: SplitResult) -> str | None:
    """CREDENTIALS_REFUSED when the URL ``parts`` carries a user or password, else None."""
    if parts.username is not None or parts.password is not None:
        return CREDENTIALS_REFUSED
    return None
