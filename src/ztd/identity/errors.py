"""The decoder's error type, in its own module so that every decoding module can raise it."""

from __future__ import annotations

__all__ = ["HashDecodeError"]


class HashDecodeError(ValueError):
    """The text is not a structurally valid Autopilot hardware hash.

    ``code`` is a stable short token (``not-base64``, ``missing-padding``, ``too-short``,
    ``too-long``, ``bad-magic``, ``bad-record-layout``, ``bad-trailer``); ``str(error)`` is a
    precise message for people, for example
    ``"record at offset 812 (type 14, length 40) runs past total_len 1003"``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
