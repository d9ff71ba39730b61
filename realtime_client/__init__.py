"""realtime_client: a synchronous, thread-based client for the OpenAI Realtime API.

The names below are imported on first use (PEP 562), so ``import realtime_client``
stays cheap: ``from realtime_client import ConversationClient`` loads what the
client needs, and the event model is built when it is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# The public modules the package used to import, so that ``realtime_client.messages``
# (say) still works after a plain ``import realtime_client``. ``audio`` and ``testing``
# were never imported: they stay explicit imports.
_MODULES = frozenset(
    (
        "client",
        "conversation",
        "errors",
        "events",
        "messages",
        "session",
        "tools",
        "translation",
        "usage",
    )
)

# Where each public name lives.
_HOMES: dict[str, str] = {
    **dict.fromkeys(
        (
            "APIError",
            "AudioError",
            "AuthenticationError",
            "ConnectError",
            "ConnectionClosedError",
            "ProtocolError",
            "RealtimeError",
            "RealtimeTimeoutError",
            "SendQueueFullError",
            "ServerError",
            "SessionClosedError",
            "SessionExpiredError",
            "TransportError",
            "UsageError",
            "WaitTimeoutError",
        ),
        "errors",
    ),
    **dict.fromkeys(
        ("CallAnswer", "ClientSecret", "ConversationClient", "TranslationClientSecret"), "client"
    ),
    **dict.fromkeys(
        ("CloseInfo", "ConversationSession", "ResponseHandle", "SessionState"), "session"
    ),
    "ConversationMessage": "messages",
    "ConversationOptions": "_config",
    "ReconnectPolicy": "_reconnect_policy",
    "SessionReconnected": "_reconnect_policy",
    "TranslationSession": "translation",
}


def _import(name: str) -> Any:
    """The module ``name``, imported through ``__import__`` rather than importlib.

    The same import, but ``python -X importtime`` sees it (it does not see
    ``importlib.import_module``), so the cost of each module stays visible.
    """
    return __import__(name, fromlist=["__name__"])


# Hidden from type checkers, which would otherwise take any misspelt name as Any.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name in _MODULES:  # as before, when the package imported them all
            return _import(f"{__name__}.{name}")
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_import(f"{__name__}.{home}"), name)
        globals()[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
