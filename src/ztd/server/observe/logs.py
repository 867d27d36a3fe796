"""Structured logs: what a request is about (correlation id, request id, partner, customer,
tracking id) travels with every line logged while it is handled, and a job carries its
request's correlation id to the worker's lines (stored on the job row).

Lines are JSON when stderr is not a terminal (``ZTD_LOG_FORMAT=auto``, the default), else
readable ``time level logger message key=value``. Only the fields bound here and a line's
own message are written, and messages are scrubbed of bearer tokens, JWTs and long base64
runs (hardware hashes): no token, secret or hash reaches a log.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

# The fields a line may carry besides its message, in the order they are written.
FIELDS = ("correlation_id", "request_id", "partner_id", "customer_id", "tracking_id")

# The context of the request or job being handled. A dict, mutated in place: what a handler
# binds (the partner, once its token is read; the tracking id, once the job exists) is seen
# by the edge's request line too, even from the thread pool that ran the handler.
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "ztd_log_context", default=None
)


def current() -> dict[str, str]:
    """The fields bound now (a copy); empty outside a request or job."""
    return dict(_context.get() or {})


def bind(**fields: str | None) -> None:
    """Add fields to the current request's or job's context (no-op outside one)."""
    context = _context.get()
    if context is not None:
        context.update({k: v for k, v in fields.items() if v is not None})


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[dict[str, str]]:
    """A fresh context for one job's chunk (or anything else), holding ``fields``."""
    context = {k: v for k, v in fields.items() if v is not None}
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def enter(context: dict[str, str]) -> contextvars.Token[dict[str, str] | None]:
    """``bound`` without the generator, for the request edge: ``leave(token)`` after."""
    return _context.set(context)


def leave(token: contextvars.Token[dict[str, str] | None]) -> None:
    _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record, for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


# Bearer tokens and JWTs (three base64url parts), and runs of 64+ base64 characters: a
# hardware hash is ~4,000, a client secret 43; ids (GUIDs, with dashes) stay readable.
_SECRETS = re.compile(
    r"(?i:bearer\s+)\S+"
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"
    r"|[A-Za-z0-9+/_-]{64,}={0,2}"
)


def scrub(text: str) -> str:
    return _SECRETS.sub("[redacted]", text)


# Attributes every LogRecord has: anything else on a record was passed with `extra=`.
# uvicorn's color_message repeats the message with terminal escapes.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the bound fields, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "pid": record.process,
        }
        line.update(_extras(record))
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """For people at a terminal: ``time level logger message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        text = f"{_utc(record.created)} {record.levelname:<7} {record.name}: "
        text += scrub(record.getMessage()) + (f"  {extras}" if extras else "")
        if record.exc_info:
            text += "\n" + scrub(self.formatException(record.exc_info))
        return text


_second: list[Any] = [-1, ""]  # the last second formatted, and its text


def _utc(created: float) -> str:
    second = int(created)
    if second != _second[0]:  # formatted once a second, not once a line
        _second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second[1]}.{int(created % 1 * 1000):03d}Z"


def configure(log_format: str = "auto", level: str = "info") -> None:
    """Route ztd's and the HTTP servers' logs through one stderr handler in ``log_format``
    (``json``, ``console``, or ``auto``: console on a terminal, JSON otherwise)."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_ztd", False)]:
        root.removeHandler(old)
    handler._ztd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The servers' own loggers write through the same handler; ztd logs each request itself
    # (ztd.access), so their access lines would say it twice.
    for name in ("uvicorn", "uvicorn.error", "granian", "_granian"):
        server_log = logging.getLogger(name)
        server_log.handlers.clear()
        server_log.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("granian.access").disabled = True
