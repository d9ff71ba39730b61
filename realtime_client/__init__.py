"""realtime_client: a synchronous, thread-based client for the OpenAI Realtime API."""

from __future__ import annotations

from . import events
from .messages import ConversationMessage
from .errors import (
    APIError,
    AudioError,
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    ProtocolError,
    RealtimeError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
    SessionExpiredError,
    TransportError,
    UsageError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "APIError",
    "AudioError",
    "AuthenticationError",
    "ConnectError",
    "ConnectionClosedError",
    "ConversationMessage",
    "ProtocolError",
    "RealtimeError",
    "RealtimeTimeoutError",
    "ServerError",
    "SessionClosedError",
    "SessionExpiredError",
    "TransportError",
    "UsageError",
    "events",
]
