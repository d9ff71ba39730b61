"""Test helpers: an in-memory transport and an offline Realtime server.

:class:`FakeTransport` needs nothing beyond realtime_client itself.
:class:`FakeRealtimeServer` is a real WebSocket server on loopback and needs the
``testing`` extra (``pip install realtime-client[testing]``, which brings
``websockets``); it is imported only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._fake_transport import FakeTransport
    from ._server import FakeRealtimeServer

__all__ = ["FakeRealtimeServer", "FakeTransport"]


def __getattr__(name: str) -> Any:
    if name == "FakeTransport":
        from ._fake_transport import FakeTransport

        return FakeTransport
    if name == "FakeRealtimeServer":
        from ._server import FakeRealtimeServer

        return FakeRealtimeServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
