"""URLs as messages and logs show them: a password never appears.

Settings hold URLs with credentials (ZTD_DATABASE_URL, ZTD_THROTTLE_STORAGE); every error
that names one, at start or on a request, writes it through :func:`shown_url`."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"


def shown_url(url: str) -> str:
    """``url`` with its password, and any query parameter whose name holds "pass"
    (``?password=``), replaced by ``***``; the user and hosts stay (a Redis Sentinel's
    ``a:26379,b:26379`` too). Only the scheme is kept of a URL that does not parse, since
    where its password is cannot be known."""
    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url.split("://", 1)[0] + "://..." if "://" in url else "(unparsable URL)"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    secret_query = any("pass" in key.lower() for key, _ in pairs)
    if not at and not secret_query:
        return url  # nothing to hide (and memory:// keeps its spelling)
    user, colon, _password = userinfo.partition(":")
    netloc = f"{user}{colon and ':' + HIDDEN}{at}{hosts}"
    query = urlencode(
        [(key, HIDDEN if "pass" in key.lower() else value) for key, value in pairs], safe="*"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def without_secrets(text: str, url: str) -> str:
    """``text`` (a library's message about ``url``) with ``url``'s password and password
    parameters masked wherever they appear: such messages often quote the URL whole."""
    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return text.replace(url, shown_url(url))
    secrets = [value for key, value in pairs if "pass" in key.lower() and value]
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        secrets.append(userinfo.partition(":")[2])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text
