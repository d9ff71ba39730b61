"""The outgoing queue and the bodies of the reader and writer threads.

The session owns the threads and the state machine; this module holds the
loops they run, so each can be read (and tested) on its own.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
import typing
from collections.abc import Callable, Sequence
from typing import Final

from ._transport import Transport
from .errors import (
    ConnectionClosedError,
    RealtimeTimeoutError,
    SessionClosedError,
    TransportError,
)

__all__ = ["Outbox", "next_thread_number", "run_reader", "run_writer"]

_log = logging.getLogger("realtime_client")
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


def next_thread_number() -> int:
    """A process-wide number for naming a session's threads (``realtime-reader-3``)."""
    with _numbers_lock:
        return next(_numbers)


class _Stop:
    def __repr__(self) -> str:
        return "STOP"


STOP: Final = _Stop()
"""Returned by :meth:`Outbox.get` once the outbox is stopped and drained."""


@typing.final
class Outbox:
    """A bounded FIFO of encoded frames between the senders and the writer.

    ``put`` blocks while the outbox is full (back-pressure on callers that
    produce faster than the network takes), and wakes with
    :class:`SessionClosedError` when the session closes. Frames put together
    stay adjacent, so a caller's related events never interleave with another
    thread's.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._frames: collections.deque[str] = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition(threading.Lock())
        self._stopping = False  # no more puts; the writer drains what is left
        self._dropped = False  # no more puts, and what is left is discarded

    def put(self, frames: Sequence[str], timeout: float | None = None) -> None:
        """Queue ``frames`` together, waiting for room.

        Raises:
            SessionClosedError: The session closed before the frames were queued.
            RealtimeTimeoutError: No room within ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._stopping:
                    raise SessionClosedError("the session is closed: nothing more can be sent")
                # A batch larger than the whole outbox waits for an empty one.
                room = self._maxsize - len(self._frames)
                if room >= len(frames) or not self._frames:
                    self._frames.extend(frames)
                    self._cond.notify_all()
                    return
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise RealtimeTimeoutError(
                        f"the send queue stayed full for {timeout} s (the network is not "
                        "taking frames as fast as they are sent)"
                    )
                self._cond.wait(remaining)

    def get(self, timeout: float) -> list[str] | _Stop | None:
        """Every queued frame (oldest first), ``None`` after ``timeout`` idle
        seconds, or :data:`STOP` once stopped and empty."""
        with self._cond:
            if not self._frames and not self._stopping:
                self._cond.wait(timeout)
            if self._frames and not self._dropped:
                batch = list(self._frames)
                self._frames.clear()
                self._cond.notify_all()
                return batch
            if self._stopping:
                return STOP
            return None

    def stop(self, *, drop: bool = False) -> None:
        """Refuse further puts and wake everyone; with ``drop``, discard the rest."""
        with self._cond:
            self._stopping = True
            if drop:
                self._dropped = True
                self._frames.clear()
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._frames)


def run_writer(
    outbox: Outbox,
    transport: Transport,
    *,
    ping_interval: float,
    on_failure: Callable[[TransportError], None],
    pong_timeout: float | None = None,
    last_received: Callable[[], float] | None = None,
) -> None:
    """Send queued frames until stopped, and keep the connection checked.

    With ``last_received`` (the monotonic time the transport last received a
    frame, pongs included), a ping goes out once the server has been silent
    for ``ping_interval`` seconds, whatever is being sent, and if nothing at
    all arrives within ``pong_timeout`` seconds after it, the connection is
    declared dead through ``on_failure``. Without it, a ping goes out after
    ``ping_interval`` seconds without sending, and answers are not checked.

    A failed send or ping is handed to ``on_failure`` and ends the loop: the
    frames after it are not sent, and the session closes with the error.
    """
    debug = _log.isEnabledFor(logging.DEBUG)
    pinged: float | None = None  # when the unanswered ping went out
    since = time.monotonic()  # silence is counted from the start at the earliest
    heard_at = last_received if pong_timeout is not None else None  # None: no checks
    pong_timeout = pong_timeout or 0.0
    while True:
        wait = ping_interval
        if heard_at is not None:
            now = time.monotonic()
            heard = max(heard_at(), since)
            if pinged is not None and heard >= pinged:
                pinged = None  # answered (or other traffic proved the connection alive)
            if pinged is not None:
                if now - pinged >= pong_timeout:
                    on_failure(
                        RealtimeTimeoutError(
                            f"the server did not answer a ping within {pong_timeout:g} s "
                            "(the connection is dead)"
                        )
                    )
                    return
                wait = min(ping_interval, pinged + pong_timeout - now)
            elif now - heard >= ping_interval:
                try:
                    transport.ping()
                except TransportError as exc:
                    on_failure(exc)
                    return
                pinged = now
                wait = min(ping_interval, pong_timeout)
            else:
                wait = heard + ping_interval - now
        batch = outbox.get(wait)
        if batch is STOP:
            return
        try:
            if batch is None:
                if heard_at is None:
                    transport.ping()
                continue
            for frame in typing.cast("list[str]", batch):
                transport.send(frame)
                if debug:
                    _log.debug("sent %s (%d bytes)", _frame_type(frame), len(frame))
        except TransportError as exc:
            on_failure(exc)
            return
        except Exception as exc:  # a transport must not kill the writer silently
            on_failure(TransportError(f"sending failed: {exc!r}"))
            _log.debug("transport send raised", exc_info=exc)
            return


def run_reader(
    transport: Transport,
    handle: Callable[[str | bytes], None],
    on_end: Callable[[ConnectionClosedError], None],
) -> None:
    """Receive frames and hand each to ``handle`` until the connection ends.

    ``handle`` must not raise (the session's handler reports its own errors);
    if it does anyway, the error is logged and the loop goes on.
    """
    while True:
        try:
            frame = transport.recv()
        except ConnectionClosedError as exc:
            on_end(exc)
            return
        except Exception as exc:  # a transport must not kill the reader silently
            end = ConnectionClosedError(f"receiving failed: {exc!r}")
            end.__cause__ = exc
            on_end(end)
            return
        try:
            handle(frame)
        except Exception:
            _log.exception("unexpected failure handling a frame; the frame was skipped")


def _frame_type(frame: str) -> str:
    """The ``type`` of an encoded client frame, for logs (every encoder puts it first)."""
    if frame.startswith('{"type":"'):
        end = frame.find('"', 9)
        if end > 0:
            return frame[9:end]
    return "frame"
