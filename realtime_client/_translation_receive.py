"""The receiving half of TranslationSession: callbacks and iteration.

The reader thread decodes each frame, runs the callbacks registered here, and
queues the event, then, at the end, :data:`END`.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar, Union, overload

from ._callbacks import CallbackRegistry, CloseInfo
from ._translation_setup import message_for
from .errors import RealtimeTimeoutError, UsageError
from .events import UnknownServerEvent
from .events import translation as tev
from .messages import ConversationMessage

__all__ = ["END", "AnyTranslationEvent", "TranslationReceiving"]

F = TypeVar("F", bound=Callable[..., object])
AnyTranslationEvent = Union[tev.ServerEvent, UnknownServerEvent]


class _End:
    def __repr__(self) -> str:
        return "END"


END: Final = _End()
"""Queued after the last event: iteration ends (re-raising the terminal error)."""


class TranslationReceiving:
    """Callbacks and iteration, mixed into :class:`~realtime_client.TranslationSession`."""

    _callbacks: CallbackRegistry
    _events: queue.SimpleQueue[Any]
    _buffer: bool
    _close_info: CloseInfo | None

    @overload
    def on(self, key: type | str) -> Callable[[F], F]: ...

    @overload
    def on(self, key: type | str, fn: F) -> F: ...

    def on(self, key: type | str, fn: F | None = None) -> F | Callable[[F], F]:
        """Call ``fn(event)`` on the reader thread for every event of ``key``.

        Args:
            key: A translation server event class (``tev.SessionOutputAudioDeltaEvent``)
                or a wire type string.
            fn: The callback; omitted when used as a decorator.

        Raises:
            TypeError: ``key`` is not a translation server event class or a string.
        """
        wire = _wire_key(key)
        if fn is None:

            def register(f: F) -> F:
                return self._callbacks.on(wire, f)

            return register
        return self._callbacks.on(wire, fn)

    def on_any(self, fn: F) -> F:
        """Call ``fn(event)`` for every event, after the type-specific callbacks."""
        return self._callbacks.on_any(fn)

    def on_error(self, fn: F) -> F:
        """Call ``fn(exception)`` for every error reported."""
        return self._callbacks.on_error(fn)

    def remove_callback(self, fn: Callable[..., object]) -> bool:
        """Unregister ``fn`` everywhere; whether it was registered."""
        return self._callbacks.remove(fn)

    def events(self, timeout: float | None = None) -> Iterator[AnyTranslationEvent]:
        """Iterate over received events, in order, until the session ends.

        Args:
            timeout: Seconds to wait for each next event (``None``: forever).

        Raises:
            RealtimeTimeoutError: No event came within ``timeout`` seconds.
            ConnectionClosedError: The connection ended unexpectedly (after
                every event received before it).
            UsageError: The session was made with ``buffer_events=False``.
        """
        if not self._buffer:
            raise UsageError("this session does not buffer events (buffer_events=False)")
        return self._iterate(timeout)

    def _iterate(self, timeout: float | None) -> Iterator[AnyTranslationEvent]:
        while True:
            try:
                item = self._events.get(timeout=timeout)
            except queue.Empty:
                raise RealtimeTimeoutError(f"no event arrived within {timeout} s") from None
            if item is END:
                self._events.put(END)
                info = self._close_info
                if info is not None and info.error is not None:
                    raise info.error
                return
            yield item

    def __iter__(self) -> Iterator[AnyTranslationEvent]:
        return self.events()

    def receive_messages(self, timeout: float | None = None) -> Iterator[ConversationMessage]:
        """Iterate over events as :class:`~realtime_client.ConversationMessage`.

        ``message.transcript`` is a piece of the translation, ``message.audio``
        a piece of translated speech, ``message.input_transcript`` a piece of
        the source transcript (kind ``INPUT_TRANSCRIPT_DELTA``),
        ``message.error`` a server error; the typed event is ``message.event``.

        Raises:
            As :meth:`events`.
        """
        return (message_for(event) for event in self.events(timeout))


def _wire_key(key: type | str) -> str:
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
