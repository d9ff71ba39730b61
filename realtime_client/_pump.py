"""The event pump: decodes each frame, lets observers see it, runs the
callbacks, and hands events to iterators in batches.

It runs on the connection's reader thread and knows the protocol only through
the ``decode`` function and the observers it is given, so a conversation and a
translation session share it. Iterators read lists of events (everything one
socket read brought, up to :data:`BATCH_MAX`), then :data:`END`.
"""

from __future__ import annotations

import json
import logging
import queue
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, Protocol

from ._callbacks import CallbackRegistry
from .errors import ProtocolError, RealtimeError, WaitTimeoutError

__all__ = ["BATCH_MAX", "END", "EventPump", "Observer"]

_log = logging.getLogger("realtime_client")

BATCH_MAX: Final = 32
"""Events handed to the iterators at once, at most."""


class _End:
    def __repr__(self) -> str:
        return "END"


END: Final = _End()
"""Queued after the last event: iteration ends (re-raising the terminal error)."""


class Observer(Protocol):
    """Sees every event before callbacks and iterators do, on the reader thread.

    Observers keep state derived from events (the conversation, usage, the
    response queue); they must not block. One that raises is logged and
    reported, and the others still run.
    """

    def observe(self, event: Any) -> None:
        """One decoded event."""
        ...

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        """A frame the decoder refused but that is a JSON object (already
        reported as :class:`~realtime_client.ProtocolError`)."""
        ...


@typing.final
class EventPump:
    """Decode, observe, call back, queue: one frame at a time, on the reader thread.

    Args:
        decode: Turns a frame into an event; raises ProtocolError for a bad frame.
        callbacks: The session's callback registry (event and error callbacks).
        observers: Called in order with every event (and every undecodable
            JSON object whose text contains one of ``undecodable_markers``).
        buffer: Queue events for iteration (``False``: callbacks only).
        undecodable_markers: Cheap text filters for frames worth parsing again.
    """

    def __init__(
        self,
        *,
        decode: Callable[[str | bytes], Any],
        callbacks: CallbackRegistry,
        observers: Sequence[Observer],
        buffer: bool,
        undecodable_markers: Sequence[str] = (),
    ) -> None:
        self._decode = decode
        self._callbacks = callbacks
        self._observers = tuple(observers)
        self.buffer = buffer
        self._markers = tuple(undecodable_markers)
        self._markers_b = tuple(m.encode() for m in undecodable_markers)
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._batch: list[Any] = []  # events not yet handed over
        self._end_queued = False
        self.stopped = False  # frames after the session closed are dropped
        self._debug = _log.isEnabledFor(logging.DEBUG)

    # --- the reader thread ---------------------------------------------------------------------

    def handle(self, frame: str | bytes) -> None:
        """One frame: decode, observe, call back, batch."""
        if self.stopped:
            return  # frames still buffered after a close from a callback
        try:
            event = self._decode(frame)
        except ProtocolError as exc:
            _log.warning("skipped a bad frame from the server: %s", exc)
            self._callbacks.report_error(exc)
            self._undecodable(frame)
            return
        if self._debug:
            _log.debug("received %s (%d bytes)", event.type, len(frame))
        self.deliver(event)

    def deliver(self, event: Any) -> None:
        """One event (decoded, or made locally): observe, call back, batch."""
        for observer in self._observers:
            try:
                observer.observe(event)
            except Exception as exc:
                _log.exception("internal observer failed on %s", event.type)
                self._callbacks.report_error(exc)
        if self._batch and self._callbacks.wants(event):
            self.flush()  # a slow callback must not hold back earlier events
        self._callbacks.dispatch(event)
        if self.buffer:
            batch = self._batch
            batch.append(event)
            if len(batch) >= BATCH_MAX:
                self.flush()

    def _undecodable(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            if not any(m in frame for m in self._markers_b):
                return
        elif not any(m in frame for m in self._markers):
            return
        try:
            raw = json.loads(frame)
        except (ValueError, RecursionError):
            return
        if not isinstance(raw, dict):
            return
        for observer in self._observers:
            try:
                observer.observe_undecodable(raw)
            except Exception as error:
                _log.exception("internal observer failed on a bad frame")
                self._callbacks.report_error(error)

    def flush(self) -> None:
        """Hand the batched events to the iterators (one put, one wake-up)."""
        batch, self._batch = self._batch, []
        if batch:
            self._events.put(batch)

    def end(self) -> None:
        """Hand over what is batched, then the end: iterators finish."""
        self.flush()
        self._end_queued = True
        self._events.put(END)

    # --- the iterating threads -----------------------------------------------------------------

    def drained(self, closed: bool) -> bool:
        """Closed, and nothing but the end is left to iterate."""
        return closed and self._end_queued and self._events.qsize() <= 1

    def iterate(
        self, timeout: float | None, terminal: Callable[[], RealtimeError | None]
    ) -> Iterator[Any]:
        """Every event in order until the end, then ``terminal()`` raised if set."""
        get = self._events.get
        while True:
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                raise WaitTimeoutError(f"no event arrived within {timeout} s") from None
            if item is END:
                self._events.put(END)  # let other iterators end too
                error = terminal()
                if error is not None:
                    raise error
                return
            yield from item
