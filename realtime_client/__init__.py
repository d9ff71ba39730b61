"""realtime_client: a synchronous, thread-based client for the OpenAI Realtime API."""

from __future__ import annotations

from . import events
from ._config import ConversationOptions
from ._reconnect_policy import ReconnectPolicy, SessionReconnected
from .client import CallAnswer, ClientSecret, ConversationClient, TranslationClientSecret
from .errors import (
    APIError,
    AudioError,
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    ProtocolError,
    RealtimeError,
    RealtimeTimeoutError,
    SendQueueFullError,
    ServerError,
    SessionClosedError,
    SessionExpiredError,
    TransportError,
    UsageError,
    WaitTimeoutError,
)
from .messages import ConversationMessage
from .session import CloseInfo, ConversationSession, ResponseHandle, SessionState
from .translation import TranslationSession

__version__ = "0.1.0.dev0"

__all__ = [
    "APIError",
    "AudioError",
    "AuthenticationError",
    "CallAnswer",
    "ClientSecret",
    "CloseInfo",
    "ConnectError",
    "ConnectionClosedError",
    "ConversationClient",
    "ConversationMessage",
    "ConversationOptions",
    "ConversationSession",
    "ProtocolError",
    "RealtimeError",
    "RealtimeTimeoutError",
    "ReconnectPolicy",
    "ResponseHandle",
    "SendQueueFullError",
    "ServerError",
    "SessionClosedError",
    "SessionExpiredError",
    "SessionReconnected",
    "SessionState",
    "TranslationClientSecret",
    "TranslationSession",
    "TransportError",
    "UsageError",
    "WaitTimeoutError",
    "events",
]
