"""The exceptions realtime_client raises.

Every exception derives from :class:`RealtimeError`::

    RealtimeError
    ├── TransportError
    │   ├── ConnectError                 the WebSocket handshake failed (.status_code, .body)
    │   │   └── AuthenticationError      HTTP 401 or 403 at the handshake
    │   ├── ConnectionClosedError        the connection closed unexpectedly (.code, .reason)
    │   │   └── SessionExpiredError      the server ended the session at its maximum duration
    │   └── RealtimeTimeoutError         the network or the server did not answer in time;
    │                                    also a TimeoutError
    ├── WaitTimeoutError                 a wait in your own call ran out (events(timeout=),
    │   │                                a response's result(timeout)); also a TimeoutError
    │   └── SendQueueFullError           the send queue stayed full for the call's timeout;
    │                                    nothing was queued
    ├── ProtocolError                    a frame from the server that is not a valid event
    ├── ServerError                      built from a server ``error`` event (.event, .code)
    ├── APIError                         a REST call failed (.status_code, .code)
    ├── AudioError                       PortAudio missing, no device, device failure
    └── UsageError                       misuse; also a RuntimeError
        └── SessionClosedError           sending or iterating after close

Exceptions from dependencies (websocket-client, json, base64) never escape
as themselves: they are the ``__cause__`` of one of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, final

# Defined beside the codec, which raises ProtocolError, so that the events package
# imports nothing from this one; these are the same classes.
from .events._errors import ProtocolError, RealtimeError

if TYPE_CHECKING:
    from .events.server import ErrorEvent

__all__ = [
    "APIError",
    "AudioError",
    "AuthenticationError",
    "ConnectError",
    "ConnectionClosedError",
    "ProtocolError",
    "RealtimeError",
    "RealtimeTimeoutError",
    "ServerError",
    "SessionClosedError",
    "SessionExpiredError",
    "TransportError",
    "SendQueueFullError",
    "UsageError",
    "WaitTimeoutError",
]


class TransportError(RealtimeError):
    """The connection failed: handshake, network, close or timeout.

    Attributes:
        attempts: How many connection attempts were made before this error was
            raised (more than 1 when transient handshake failures were retried).
    """

    attempts: int = 1


class ConnectError(TransportError):
    """The WebSocket handshake failed.

    Args:
        message: What went wrong.
        status_code: The HTTP status of the handshake answer, when there was one.
        body: The answer's body (as text, truncated), when there was one.
        headers: The answer's headers, when there was one (``Retry-After`` among them).

    .. versionchanged:: 0.2 ``headers`` and ``attempts``.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = dict(headers or {})


@final
class AuthenticationError(ConnectError):
    """The server refused the credentials (HTTP 401 or 403 at the handshake)."""


class ConnectionClosedError(TransportError):
    """The connection closed without the client asking.

    Args:
        message: What happened.
        code: The WebSocket close code, when the peer sent one (or, when the
            message says the server broke the protocol, the code this client
            closed with: 1002, or 1009 for a message over the size limit).
        reason: The close reason the peer sent.
    """

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


@final
class SessionExpiredError(ConnectionClosedError):
    """The server ended the session because it reached its maximum duration.

    The server closes with code 1001 and a reason naming the limit. This is an
    expiry, not a network fault: start a new session to go on.
    """


@final
class RealtimeTimeoutError(TransportError, TimeoutError):
    """The network or the server did not answer in time: the handshake, the
    server's ``session.created``, the start of a requested response."""


class WaitTimeoutError(RealtimeError, TimeoutError):
    """A wait in your own call ran out: ``events(timeout=...)``,
    ``receive_messages(timeout=...)``, a response handle's ``result(timeout)``.

    Nothing is wrong with the connection; the thing waited for did not come
    in the time the call allowed.

    .. versionadded:: 0.3
    """


@final
class SendQueueFullError(WaitTimeoutError):
    """The send queue stayed full (in frames or bytes) for the call's ``timeout``:
    the network takes less than the application sends. Nothing was queued.

    .. versionadded:: 0.3
    """


@final
class ServerError(RealtimeError):
    """A server ``error`` event, raised.

    The session delivers server errors as :class:`~realtime_client.events.ErrorEvent`
    data; build this exception with :meth:`from_event` to raise one.
    """

    def __init__(
        self,
        message: str,
        *,
        event: ErrorEvent | None = None,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.event = event
        self.code = code
        self.param = param
        self.error_type = error_type

    @classmethod
    def from_event(cls, event: ErrorEvent) -> ServerError:
        """Build the exception from a server ``error`` event."""
        err = event.error
        where = f" (param {err.param})" if err.param else ""
        code = f"{err.code}: " if err.code else ""
        return cls(
            f"{code}{err.message}{where}",
            event=event,
            code=err.code,
            param=err.param,
            error_type=err.type,
        )


@final
class APIError(RealtimeError):
    """A REST call (client secrets, call control) failed.

    Args:
        message: The server's error message, or what went wrong.
        status_code: The HTTP status, when there was an answer.
        code: The error code from the answer's body, when it had one.
        error_type: The error type from the answer's body, when it had one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.error_type = error_type


@final
class AudioError(RealtimeError):
    """Audio is unavailable or failed: PortAudio missing, no device, a device error."""


class UsageError(RealtimeError, RuntimeError):
    """The library was used in a way it does not support."""


@final
class SessionClosedError(UsageError):
    """The session is closed: it can no longer send, and cannot be reopened."""
