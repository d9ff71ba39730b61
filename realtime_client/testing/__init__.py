"""Test helpers: an in-memory transport and an offline Realtime server.

:class:`FakeTransport` needs nothing beyond realtime_client itself.
:class:`FakeRealtimeServer` and its scripting types are a real WebSocket server on
loopback and need the ``testing`` extra (``pip install realtime-client[testing]``,
which brings ``websockets`` and ``numpy``); they are imported only when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._fake_transport import FakeTransport
    from ._server import (
        MAX_DURATION_REASON,
        AudioReply,
        ErrorReply,
        FakeConnection,
        FakeRealtimeServer,
        FunctionCallReply,
        Reply,
        Responder,
        ResponseRequest,
        TextReply,
        TrafficEntry,
        load_traffic,
        serve_forever,
    )

__all__ = [
    "MAX_DURATION_REASON",
    "AudioReply",
    "ErrorReply",
    "FakeConnection",
    "FakeRealtimeServer",
    "FakeTransport",
    "FunctionCallReply",
    "Reply",
    "Responder",
    "ResponseRequest",
    "TextReply",
    "TrafficEntry",
    "load_traffic",
    "serve_forever",
]

_SERVER_NAMES = frozenset(__all__) - {"FakeTransport"}


def __getattr__(name: str) -> Any:
    if name == "FakeTransport":
        return importlib.import_module(f"{__name__}._fake_transport").FakeTransport
    if name in _SERVER_NAMES:
        try:
            server = importlib.import_module(f"{__name__}._server")
        except ImportError as exc:
            if exc.name not in ("websockets", "numpy"):
                raise
            raise ModuleNotFoundError(
                f"realtime_client.testing.{name} needs {exc.name}, which is not installed: "
                "pip install 'realtime-client[testing]'",
                name=exc.name,
            ) from exc
        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
