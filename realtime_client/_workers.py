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
    RealtimeError,
    SendQueueFullError,
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
    """A FIFO of encoded frames between the senders and the writer, bounded in
    frames and in bytes.

    ``put`` blocks while the outbox is full (back-pressure on callers that
    produce faster than the network takes), and wakes with the session's end
    (:class:`SessionClosedError`, or the connection's own error when the
    network ended it). Frames put together stay adjacent, so a caller's related
    events never interleave with another thread's; a put that does not fit in
    time queues nothing.
    """

    def __init__(self, maxsize: int, max_bytes: int = 1 << 62) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self._frames: collections.deque[str] = collections.deque()
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self._bytes = 0  # characters queued (frames are ASCII JSON, so bytes on the wire)
        self._cond = threading.Condition(threading.Lock())
        self._stopping = False  # no more puts; the writer drains what is left
        self._dropped = False  # no more puts, and what is left is discarded
        self._error: RealtimeError | None = None  # why puts fail, when not a plain close

    def put(
        self, frames: Sequence[str], timeout: float | None = None, *, force: bool = False
    ) -> None:
        """Queue ``frames`` together, waiting for room.

        A batch larger than the whole outbox waits for an empty one. ``force``
        queues at once whatever the fill (for frames the writer's own thread
        produces: it cannot wait for itself).

        Raises:
            SessionClosedError: The session closed before the frames were queued.
            ConnectionClosedError: The connection failed before they were queued.
            SendQueueFullError: No room within ``timeout`` seconds; nothing was queued.
        """
        size = sum(map(len, frames))
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._stopping:
                    if self._error is not None:
                        raise _fresh(self._error)
                    raise SessionClosedError("the session is closed: nothing more can be sent")
                queued = self._frames
                if (
                    force
                    or not queued
                    or (
                        len(queued) + len(frames) <= self._maxsize
                        and self._bytes + size <= self._max_bytes
                    )
                ):
                    queued.extend(frames)
                    self._bytes += size
                    self._cond.notify_all()
                    return
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise SendQueueFullError(
                        f"the send queue stayed full for {timeout} s ({len(queued)} frames, "
                        f"{self._bytes} bytes waiting: the network is not taking frames as "
                        "fast as they are sent); nothing was queued"
                    )
                self._cond.wait(remaining)

    def get(self, timeout: float) -> list[str] | _Stop | None:
        """Every queued frame (oldest first), ``None`` after ``timeout`` idle
        seconds, or :data:`STOP` once stopped and empty."""
        with self._cond:
            if not self._frames and not self._stopping and timeout > 0:
                self._cond.wait(timeout)
            if self._frames and not self._dropped:
                batch = list(self._frames)
                self._frames.clear()
                self._bytes = 0
                self._cond.notify_all()
                return batch
            if self._stopping:
                return STOP
            return None

    def wake(self) -> None:
        """Wake the writer early (a new deadline was set)."""
        with self._cond:
            self._cond.notify_all()

    def stop(self, *, drop: bool = False, error: RealtimeError | None = None) -> None:
        """Refuse further puts and wake everyone; with ``drop``, discard the rest.

        With ``error`` (the connection failed), puts raise a copy of it instead
        of :class:`SessionClosedError`.
        """
        with self._cond:
            self._stopping = True
            if error is not None and self._error is None:
                self._error = error
            if drop:
                self._dropped = True
                self._frames.clear()
                self._bytes = 0
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting to be sent."""
        return self._bytes


def _fresh(error: RealtimeError) -> RealtimeError:
    """A new exception like ``error`` for one more caller, chained to it."""
    if isinstance(error, ConnectionClosedError):
        copy: RealtimeError = ConnectionClosedError(
            str(error), code=error.code, reason=error.reason
        )
    else:
        copy = ConnectionClosedError(str(error))
    copy.__cause__ = error
    return copy


Deadlines = Callable[[float], "float | None"]
"""Called by the writer at each wake-up with ``time.monotonic()``: acts on
whatever is due and returns the next deadline (or ``None``)."""


def run_writer(
    outbox: Outbox,
    transport: Transport,
    *,
    ping_interval: float,
    on_failure: Callable[[TransportError], None],
    pong_timeout: float | None = None,
    deadlines: Deadlines | None = None,
) -> None:
    """Send queued frames until stopped, and keep every deadline of the session.

    Liveness: a ping goes out once the server has been silent (no frame of any
    kind, pongs included) for ``ping_interval`` seconds, whatever is being
    sent; once it has been silent for ``ping_interval + pong_timeout`` the
    connection is declared dead through ``on_failure``, also while a send is
    stuck because the peer stopped reading (the transport asks ``stalled()``
    each tick). ``pong_timeout=None`` never gives up.

    ``deadlines`` is called at every wake-up (the response start limits and
    the tool limits live there), so no other thread keeps time.

    A failed send or ping is handed to ``on_failure`` and ends the loop: the
    frames after it are not sent, and the session closes with the error.
    """
    debug = _log.isEnabledFor(logging.DEBUG)
    since = time.monotonic()  # silence is counted from the start at the earliest
    heard_at = transport.last_received
    bound = None if pong_timeout is None else ping_interval + pong_timeout
    pinged: float | None = None  # when the unanswered ping went out

    def silent_for(now: float) -> float:
        return now - max(heard_at(), since)

    def stalled() -> bool:
        return bound is not None and silent_for(time.monotonic()) >= bound

    def dead() -> ConnectionClosedError:
        assert pong_timeout is not None
        return ConnectionClosedError(
            f"the server did not answer a ping within {pong_timeout:g} s and sent nothing "
            f"for {bound:g} s (ping_interval + pong_timeout): the connection is dead"
        )

    while True:
        now = time.monotonic()
        silence = silent_for(now)
        if pinged is not None and heard_at() >= pinged:
            pinged = None  # answered (or other traffic proved the connection alive)
        if bound is not None and silence >= bound:
            on_failure(dead())
            return
        wait = ping_interval - silence
        if wait <= 0:
            # One ping per silence while answers are checked; without checks,
            # a keep-alive ping every ping_interval.
            if pinged is None or (bound is None and now - pinged >= ping_interval):
                try:
                    transport.ping(stalled)
                except TransportError as exc:
                    on_failure(dead() if stalled() else exc)
                    return
                pinged = now
            wait = pinged + ping_interval - now
            if bound is not None:  # look for the answer each ping_interval, up to the bound
                wait = min(ping_interval, bound - silence)
        if deadlines is not None:
            try:
                due = deadlines(now)
            except Exception:  # a deadline handler must not kill the writer
                _log.exception("a deadline handler failed")
                due = None
            if due is not None:
                wait = min(wait, due - now)
        batch = outbox.get(max(wait, 0.0))
        if batch is STOP:
            return
        if batch is None:
            continue
        try:
            for frame in typing.cast("list[str]", batch):
                transport.send(frame, stalled)
                if debug:
                    _log.debug("sent %s (%d bytes)", _frame_type(frame), len(frame))
        except TransportError as exc:
            on_failure(dead() if stalled() else exc)
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
