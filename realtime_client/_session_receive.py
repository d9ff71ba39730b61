"""The receiving half of ConversationSession: callbacks and iteration.

The reader thread decodes each frame, runs the callbacks registered here, and
queues the event in lists (everything one socket read brought) followed, at
the end, by :data:`END`. The iterators below unpack those lists, in order.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from . import events as ev
from ._callbacks import CallbackRegistry, CloseInfo, EventKey
from .errors import SessionClosedError, UsageError, WaitTimeoutError
from .messages import ConversationMessage

__all__ = ["END", "SessionReceiving"]

F = TypeVar("F", bound=Callable[..., object])


class _End:
    def __repr__(self) -> str:
        return "END"


END: Final = _End()
"""Queued after the last event: iteration ends (re-raising the terminal error)."""


class SessionReceiving:
    """Callbacks and iteration, mixed into :class:`~realtime_client.ConversationSession`."""

    _callbacks: CallbackRegistry
    _events: queue.SimpleQueue[Any]
    _buffer: bool
    _close_info: CloseInfo | None

    if TYPE_CHECKING:  # defined by ConversationSession

        def _drained(self) -> bool: ...

    @overload
    def on(self, key: EventKey) -> Callable[[F], F]: ...

    @overload
    def on(self, key: EventKey, fn: F) -> F: ...

    def on(self, key: EventKey, fn: F | None = None) -> F | Callable[[F], F]:
        """Call ``fn(event)`` on the reader thread for every event of ``key``.

        Usable directly (``session.on(ev.ErrorEvent, fn)``) or as a decorator
        (``@session.on("response.done")``). Callbacks run in registration order,
        before the event is queued for iteration; one that raises is logged and
        reported to ``on_error``, and the others still run.

        Args:
            key: An event class (``ev.ResponseDoneEvent``) or a wire type
                string (which also matches events this version does not know).
            fn: The callback; omitted when used as a decorator.

        Returns:
            ``fn`` (or a decorator that registers and returns its function).

        Raises:
            TypeError: ``key`` is not a server event class or a string.
        """
        if fn is None:

            def register(f: F) -> F:
                return self._callbacks.on(key, f)

            return register
        return self._callbacks.on(key, fn)

    def on_any(self, fn: F) -> F:
        """Call ``fn(event)`` for every event, after the type-specific callbacks."""
        return self._callbacks.on_any(fn)

    def on_error(self, fn: F) -> F:
        """Call ``fn(exception)`` for every error reported (see the class docs)."""
        return self._callbacks.on_error(fn)

    def remove_callback(self, fn: Callable[..., object]) -> bool:
        """Unregister ``fn`` from every event, error and close; whether it was registered."""
        return self._callbacks.remove(fn)

    # --- iteration -----------------------------------------------------------------------------

    def events(
        self, timeout: float | None = None
    ) -> Iterator[ev.ServerEvent | ev.UnknownServerEvent]:
        """Iterate over received events, in order, until the session ends.

        Args:
            timeout: Seconds to wait for each next event (``None``: forever).

        Yields:
            Each event, typed (or :class:`~realtime_client.events.UnknownServerEvent`).

        Raises:
            WaitTimeoutError: No event came within ``timeout`` seconds.
            ConnectionClosedError: The connection ended unexpectedly (raised
                after every event received before it was yielded);
                :class:`~realtime_client.SessionExpiredError` at the server's
                maximum session duration.
            SessionClosedError: The session had already closed and nothing
                remained to read.
            UsageError: The session was made with ``buffer_events=False``.
        """
        if not self._buffer:
            raise UsageError(
                "this session does not buffer events (buffer_events=False): use callbacks"
            )
        if self._drained():
            if self._close_info is not None and self._close_info.error is not None:
                raise self._close_info.error
            raise SessionClosedError("the session is closed: there are no more events")
        return self._iterate(timeout)

    def _iterate(self, timeout: float | None) -> Iterator[Any]:
        get = self._events.get
        while True:
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                raise WaitTimeoutError(f"no event arrived within {timeout} s") from None
            if item is END:
                self._events.put(END)  # let other iterators end too
                info = self._close_info
                if info is not None and info.error is not None:
                    raise info.error
                return
            yield from item

    def __iter__(self) -> Iterator[ev.ServerEvent | ev.UnknownServerEvent]:
        """Same as :meth:`events` without a timeout."""
        return self.events()

    def receive_messages(self, timeout: float | None = None) -> Iterator[ConversationMessage]:
        """Iterate over received events as :class:`~realtime_client.ConversationMessage`.

        The simple view: ``message.text``, ``message.audio``, ``message.transcript``,
        ``message.error``, ``message.turn_finished`` and more, each filled only
        where it applies; the typed event stays in ``message.event``.

        Args:
            timeout: Seconds to wait for each next message (``None``: forever).

        Raises:
            As :meth:`events`.
        """
        events = self.events(timeout)
        from_event = ConversationMessage.from_event
        return (from_event(event) for event in events)
