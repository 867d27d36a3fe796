"""Partner Center errors as the service raises them: the HTTP status, the
``code`` and a ``description`` that says exactly what is wrong. Services raise these; the
API renders them as ``{code, description, data, source}`` (``api/errors.py``)."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere in request handling; rendered as the Partner Center error body."""

    def __init__(
        self,
        status: int,
        code: str,
        description: str,
        data: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.data = data or []
        self.headers = headers or {}


# The codes Partner Center documents, and the HTTP status as the code where Partner Center
# documents none (405, 409, 413, 415).
def bad_request(description: str, data: list[Any] | None = None) -> ApiError:
    return ApiError(400, "800002", description, data)


def refuse_nul(value: object, *what: str) -> None:
    """400 when a text holds a NUL character: no identifier or name has one, and PostgreSQL
    cannot store it. ``what`` names the field, joined only when refusing (hot paths call this
    for every device)."""
    if isinstance(value, str) and "\x00" in value:
        raise bad_request(f"{''.join(what)} contains a NUL character (\\u0000).")


SHOWN_CHARS = 60


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A client's value as an error message quotes it: bounded and never recursive.

    Bodies and paths are bounded only by the size limits, so a value is never formatted
    whole: texts are cut to ``limit`` characters (saying how long they were), arrays and
    objects are named by kind and size (a repr of one nested 1,000 deep raises
    RecursionError), and numbers keep their JSON spelling."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} chars)"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} items"
    if isinstance(value, dict):
        return f"an object with {len(value)} properties"
    return f"a {type(value).__name__}"


def cut(name: str, limit: int = SHOWN_CHARS) -> str:
    """A client's text as a message names it unquoted (a property name, a path): cut to
    ``limit`` characters, for the reasons of shown()."""
    return name if len(name) <= limit else name[:limit] + "..."


def unauthorized(description: str) -> ApiError:
    return ApiError(401, "400", description, headers={"WWW-Authenticate": 'Bearer realm="ztd"'})


def forbidden(description: str) -> ApiError:
    return ApiError(403, "900150", description)


def customer_not_found(customer_id: str) -> ApiError:
    # Identical for "no such customer" and "another partner's customer": no existence oracle.
    return ApiError(404, "60003", f"Tenant {customer_id} was not found.")


def not_found(description: str) -> ApiError:
    return ApiError(404, "1000", description)


def conflict(description: str) -> ApiError:
    return ApiError(409, "409", description)


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, "413", f"The request body exceeds the limit of {limit} bytes.")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415, "415", f"Content-Type {shown(content_type)} is not supported; send application/json."
    )


def too_many_requests(description: str, retry_after: int) -> ApiError:
    # Partner Center's throttling answer: 429 with the wait in whole seconds.
    return ApiError(429, "429", description, headers={"Retry-After": str(max(1, retry_after))})
