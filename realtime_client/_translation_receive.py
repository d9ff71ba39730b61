"""What a translation session keeps of the events it receives, and its wire.

:class:`TranslationLayer` is the translation protocol's
:class:`~realtime_client._session_core.Layer`: on the reader thread it keeps
the configuration the server last reported and, unless the session opted
out, the source and target transcripts and the translated audio.
:data:`TRANSLATION_WIRE` tells the shared core how to decode the protocol and
how to close it politely (``session.close``, answered by ``session.closed``).
"""

from __future__ import annotations

import threading
import typing
from typing import Any, Final, Union

from ._session_core import Wire
from .errors import RealtimeError, UsageError
from .events import UnknownServerEvent
from .events import translation as tev

__all__ = ["AnyTranslationEvent", "TRANSLATION_WIRE", "TranslationLayer", "wire_key"]

AnyTranslationEvent = Union[tev.ServerEvent, UnknownServerEvent]

TRANSLATION_WIRE: Final = Wire(
    decode=tev.decode_translation_server_event,
    created=tev.SessionCreatedEvent,
    updated=tev.SessionUpdatedEvent,
    error=tev.ErrorEvent,
    goodbye='{"type":"session.close"}',  # what the converter makes of SessionCloseEvent()
    farewell=tev.SessionClosedEvent,
)
"""The translation protocol, for the core."""


@typing.final
class TranslationLayer:
    """The configuration and the accumulated transcripts and audio.

    Contract: the reader thread calls :meth:`observe`; any thread reads.

    Args:
        accumulate: Keep the transcripts and the translated audio.
    """

    def __init__(self, *, accumulate: bool) -> None:
        self.accumulate = accumulate
        self.config: tev.TranslationSession | None = None
        self._lock = threading.Lock()
        self._source: list[str] = []
        self._target: list[str] = []
        self._audio = bytearray()

    def observe(self, event: Any) -> None:
        """Reader thread: one event."""
        kind = type(event)
        if kind is tev.SessionCreatedEvent or kind is tev.SessionUpdatedEvent:
            self.config = event.session
        elif self.accumulate:
            if kind is tev.SessionOutputAudioDeltaEvent:
                with self._lock:
                    self._audio += event.delta
            elif kind is tev.SessionOutputTranscriptDeltaEvent:
                with self._lock:
                    self._target.append(event.delta)
            elif kind is tev.SessionInputTranscriptDeltaEvent:
                with self._lock:
                    self._source.append(event.delta)

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        return  # nothing is derived from a refused frame

    # The core's other hooks: a translation has no deadlines, no threads of its
    # own and nothing in flight to fail when it closes.

    def expire(self, now: float) -> tuple[list[str], float | None]:
        return [], None

    def runs_on(self, thread: threading.Thread) -> bool:
        return False

    def close(self, timeout: float, error: RealtimeError | None) -> None:
        return

    # --- any thread ------------------------------------------------------------------------------

    def _check(self) -> None:
        if not self.accumulate:
            raise UsageError("this session does not accumulate (accumulate=False): use the deltas")

    def source(self) -> str:
        self._check()
        with self._lock:
            return "".join(self._source)

    def target(self) -> str:
        self._check()
        with self._lock:
            return "".join(self._target)

    def audio(self) -> bytes:
        self._check()
        with self._lock:
            return bytes(self._audio)


def wire_key(key: type | str) -> str:
    """The wire type a callback registers for: a translation server event class or a string.

    Raises:
        TypeError: ``key`` is neither.
        ValueError: ``key`` is an empty string.
    """
    if isinstance(key, str):
        if not key:
            raise ValueError("event type must not be empty")
        return key
    for wire, cls in tev.SERVER_EVENT_TYPES.items():
        if cls is key:
            return wire
    raise TypeError(
        f"expected a translation server event class or a wire type string, got {key!r}"
    )
