"""The service's refusals as the domain sees them: what is wrong, in Partner Center's terms
(its ``code`` and a ``name``) and a ``description`` that says exactly what, never an HTTP
status. Services, jobs and the API's own checks raise these; the API edge alone turns them
into Partner Center's error body and status (``api/errors.py``), so a rule about what a
refusal looks like on the wire lives in one place.

The per-device refusals a job reports (the 801-814 catalogue, ``ztd.identity.dds.DdsError``)
belong to the same family: ``DeviceRefused`` carries one when a request about one device is
refused synchronously (a device's policy set through PUT/PATCH).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ztd.identity.dds import DdsError


class DomainError(Exception):
    """A refusal. ``code``: the Partner Center code the body carries (a string); ``name``:
    what kind of refusal it is; ``description``: the sentence for the client; ``data``: a
    list of details (validation problems), JSON-ready."""

    code: ClassVar[str]
    name: ClassVar[str]

    def __init__(self, description: str, data: list[Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.data = data or []


# The codes Partner Center documents, and the HTTP status as the code where Partner Center
# documents none (405, 408, 409, 413, 415, 429, 503).
class InvalidRequest(DomainError):
    code, name = "800002", "InvalidRequest"


class InvalidCustomerId(InvalidRequest):
    code, name = "900118", "InvalidCustomerId"


class DeviceRefused(InvalidRequest):
    """A request about one device refused for a reason of the per-device catalogue."""

    def __init__(self, refusal: DdsError, description: str) -> None:
        super().__init__(description)
        self.refusal = refusal


class Unauthenticated(DomainError):
    code, name = "400", "Unauthenticated"


class Forbidden(DomainError):
    code, name = "900150", "Forbidden"


class NotFound(DomainError):
    code, name = "1000", "NotFound"


class CustomerNotFound(NotFound):
    code, name = "60003", "TenantNotFound"

    def __init__(self, customer_id: str) -> None:
        # Identical for "no such customer" and "another partner's customer": no existence
        # oracle.
        super().__init__(f"Tenant {customer_id} was not found.")


class Conflict(DomainError):
    code, name = "409", "Conflict"


class BodyTooSlow(DomainError):
    code, name = "408", "RequestTimeout"


class BodyTooLarge(DomainError):
    code, name = "413", "PayloadTooLarge"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body exceeds the limit of {limit} bytes.")


class UnsupportedMediaType(DomainError):
    code, name = "415", "UnsupportedMediaType"

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Content-Type {shown(content_type)} is not supported; send application/json."
        )


class Throttled(DomainError):
    """Too many requests; ``retry_after``: whole seconds to wait (at least 1)."""

    code, name = "429", "TooManyRequests"

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)


class Unavailable(DomainError):
    code, name = "503", "ServiceUnavailable"


MAX_PROBLEMS = 20  # validation problems listed in an error's data
SHOWN_PROBLEMS = 5  # of which the description names


def invalid(what: str, problems: list[str]) -> InvalidRequest:
    """A body refused for ``problems``, each ``"where: what is wrong"`` (``webhookUrl: ...``,
    ``devices[3].key: ...``): the description names the first few after ``Invalid {what}:``
    and ``data`` lists them (up to MAX_PROBLEMS), as every validation refusal does."""
    return InvalidRequest(
        f"Invalid {what}: " + "; ".join(problems[:SHOWN_PROBLEMS]), problems[:MAX_PROBLEMS]
    )


def refuse_nul(value: object, *what: str) -> None:
    """InvalidRequest when a text holds a NUL character: no identifier or name has one, and
    PostgreSQL cannot store it. ``what`` names the field, joined only when refusing (hot
    paths call this for every device)."""
    if isinstance(value, str) and "\x00" in value:
        raise InvalidRequest(f"{''.join(what)} contains a NUL character (\\u0000).")


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
