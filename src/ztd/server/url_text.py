"""URLs as messages and logs show them: a password never appears.

Settings hold URLs with credentials (ZTD_DATABASE_URL, ZTD_THROTTLE_STORAGE); every error
that names one, at start or on a request, writes it through :func:`shown_url`."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def shown_url(url: str) -> str:
    """``url`` with its password replaced by ``***``; the text itself when it does not
    parse (its password position is unknown, so only the scheme is kept)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://..." if "://" in url else "(unparsable URL)"
