"""Transient handshake failures, for testing a client's connect retries.

:class:`HandshakeFaults` holds the failures the next handshakes get, in order:
an HTTP error status with the service's JSON error body (429 and 503 carry the
retry hint headers ``Retry-After`` and ``retry-after-ms`` when asked), or
``"reset"``: the TCP connection is cut before any answer. Once they are used
up, handshakes are checked and accepted as usual.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Final, Literal, Union

import attrs
from websockets.datastructures import Headers
from websockets.http11 import Response

__all__ = ["HandshakeFailure", "HandshakeFaults"]

_SERVER = "server_error"
_BODIES: Final = {
    408: ("Request Timeout", "The request timed out.", "timeout", None),
    409: ("Conflict", "The request conflicted with another one.", "invalid_request_error", None),
    429: (
        "Too Many Requests",
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: ("Internal Server Error", "The server had an error.", _SERVER, None),
    502: ("Bad Gateway", "Bad gateway.", _SERVER, None),
    503: ("Service Unavailable", "The server is overloaded or not ready yet.", _SERVER, None),
    504: ("Gateway Timeout", "The server did not answer in time.", _SERVER, None),
}

FailureKind = Union[int, Literal["reset"]]


@attrs.frozen(kw_only=True)
class HandshakeFailure:
    """One failed handshake: an HTTP status (with optional retry hints) or a reset."""

    kind: FailureKind
    retry_after: float | None = None
    """Seconds, sent as ``Retry-After`` (whole seconds, rounded up)."""
    retry_after_ms: int | None = None
    """Milliseconds, sent as ``retry-after-ms``."""

    def response(self) -> Response:
        """The HTTP answer (for a reset, the caller cuts the connection instead)."""
        assert self.kind != "reset"
        status = int(self.kind)
        reason, message, kind, code = _BODIES.get(
            status, ("Error", f"The request failed with status {status}.", "server_error", None)
        )
        body = json.dumps(
            {"error": {"message": message, "type": kind, "param": None, "code": code}}
        ).encode()
        headers = Headers(
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ]
        )
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(0, -int(-self.retry_after // 1)))
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        return Response(status, reason, headers, body)


class HandshakeFaults:
    """The failures queued for the next handshakes, and counts of what happened (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[HandshakeFailure] = deque()
        self.attempts = 0
        self.failed = 0

    def add(
        self,
        count: int,
        kind: FailureKind,
        *,
        retry_after: float | None,
        retry_after_ms: int | None,
    ) -> None:
        """Queue ``count`` failures of one kind.

        Raises:
            ValueError: A negative count or hint, or a status that is not 400-599.
        """
        if count < 0:
            raise ValueError(f"count must be 0 or more, got {count}")
        if kind != "reset" and (isinstance(kind, bool) or not 400 <= kind <= 599):
            raise ValueError(f"status must be an HTTP error (400-599) or 'reset', got {kind!r}")
        if (retry_after is not None and retry_after < 0) or (
            retry_after_ms is not None and retry_after_ms < 0
        ):
            raise ValueError("retry hints must be 0 or more")
        failure = HandshakeFailure(
            kind=kind, retry_after=retry_after, retry_after_ms=retry_after_ms
        )
        with self._lock:
            self._queue.extend([failure] * count)

    def take(self) -> HandshakeFailure | None:
        """Count a handshake; the failure it gets, or None to go on with it."""
        with self._lock:
            self.attempts += 1
            if not self._queue:
                return None
            self.failed += 1
            return self._queue.popleft()
