"""The outgoing queue, the dead-peer rule, and the bodies of the reader and
writer threads.

The connection owns the threads; this module holds the loops they run, so
each can be read (and tested) on its own.
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

__all__ = [
    "Liveness",
    "Outbox",
    "frame_type",
    "fresh_error",
    "next_thread_number",
    "on_reader_thread",
    "run_reader",
    "run_writer",
]

_log = logging.getLogger("realtime_client")
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


class _Role(threading.local):
    reader = False  # set on every connection's reader thread


_role = _Role()


def on_reader_thread() -> bool:
    """Whether the calling thread is a connection's reader (any connection's:
    a callback of a connection being retired may send on the next one)."""
    return _role.reader


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

    The wire is taken by one writer at a time: the writer thread with the batch
    it took (:meth:`get` until :meth:`release`), or a caller that claimed it to
    write its own frames (:meth:`claim`, only while nothing is queued). While
    it is taken, puts queue and :meth:`get` hands nothing out, so frames reach
    the wire in the order they were accepted.
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
        self._busy = False  # the wire is taken (a batch or a caller's frames being written)
        # When the writer's timed wake-up falls due (a ping, a deadline): from then until
        # it waits again, callers queue instead of writing, so a caller sending in a tight
        # loop cannot keep the writer from its lock, and its checks, for long.
        self._due = 0.0
        self._writer: int | None = None  # the writer thread's ident (run_writer sets it)

    def bind_writer(self) -> None:
        """Make the calling thread this outbox's writer: its puts never wait for room
        (only it empties the outbox; a deadline handler that sends on it would wait
        for itself)."""
        self._writer = threading.get_ident()

    def put(
        self, frames: Sequence[str], timeout: float | None = None, *, force: bool = False
    ) -> None:
        """Queue ``frames`` together, waiting for room.

        A batch larger than the whole outbox waits for an empty one. ``force``
        queues at once whatever the fill; so does every put from the writer's
        own thread (see :meth:`bind_writer`), which cannot wait for itself.

        Raises:
            SessionClosedError: The session closed before the frames were queued.
            ConnectionClosedError: The connection failed before they were queued.
            SendQueueFullError: No room within ``timeout`` seconds; nothing was queued.
        """
        size = sum(map(len, frames))
        force = force or threading.get_ident() == self._writer
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._stopping:
                    raise self._refusal()
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

    def claim(self) -> bool:
        """Take the wire for the caller's own write, if nothing is queued,
        nobody is writing and the writer's timed wake-up is not due; whether it
        was taken (then :meth:`release` it).

        Raises:
            SessionClosedError: The session is closed.
            ConnectionClosedError: The connection failed.
        """
        if time.monotonic() >= self._due:  # the writer is due: let it have the wire
            return False
        with self._cond:
            if self._stopping:
                raise self._refusal()
            if self._busy or self._frames:
                return False
            self._busy = True
            return True

    def release(self) -> None:
        """Give the wire back (after a claimed write, or the batch :meth:`get` gave)."""
        with self._cond:
            self._busy = False
            if self._frames or self._stopping:
                self._cond.notify_all()  # the writer takes what was queued; a close goes on

    def wait_idle(self, deadline: float) -> bool:
        """Wait until nobody is writing, up to ``deadline`` (``time.monotonic()``);
        whether the wire is free."""
        with self._cond:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def get(self, timeout: float) -> list[str] | _Stop | None:
        """Every queued frame (oldest first), taking the wire until :meth:`release`;
        ``None`` after ``timeout`` seconds without one; :data:`STOP` once stopped
        and empty."""
        with self._cond:
            if timeout > 0 and not self._ready() and not (self._stopping and not self._frames):
                self._due = time.monotonic() + timeout
                self._cond.wait(timeout)
            self._due = 0.0  # the writer is awake: callers queue until it waits again
            if self._ready():
                batch = list(self._frames)
                self._frames.clear()
                self._bytes = 0
                self._busy = True
                self._cond.notify_all()
                return batch
            if self._stopping and not self._frames:
                return STOP
            return None

    def _ready(self) -> bool:
        """With the lock held: frames are waiting and the wire is free."""
        return bool(self._frames) and not self._busy and not self._dropped

    def _refusal(self) -> RealtimeError:
        """With the lock held: the error a put or claim after the stop raises."""
        if self._error is not None:
            return fresh_error(self._error)
        return SessionClosedError("the session is closed: nothing more can be sent")

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


def fresh_error(error: RealtimeError) -> RealtimeError:
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


@typing.final
class Liveness:
    """The dead-peer rule, shared by the writer thread and callers writing their own frames.

    The peer's silence is measured from the last frame of any kind it sent
    (pongs included), or from :meth:`start` at the earliest. Once it lasts
    ``ping_interval + pong_timeout`` seconds the peer is dead; a send that the
    network does not take gives up then (``stalled``). ``pong_timeout=None``
    never gives up.
    """

    def __init__(
        self, heard_at: Callable[[], float], ping_interval: float, pong_timeout: float | None
    ) -> None:
        self.heard_at = heard_at
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.bound = None if pong_timeout is None else ping_interval + pong_timeout
        self._since = time.monotonic()

    def start(self) -> None:
        """Count silence from now at the earliest (the connection starts)."""
        self._since = time.monotonic()

    def silent_for(self, now: float) -> float:
        """Seconds the peer has been silent at ``now``."""
        return now - max(self.heard_at(), self._since)

    def stalled(self) -> bool:
        """Whether a send that makes no progress should give up: the peer is dead."""
        bound = self.bound
        return bound is not None and self.silent_for(time.monotonic()) >= bound

    def dead(self) -> ConnectionClosedError:
        """The error that declares the peer dead."""
        return ConnectionClosedError(
            f"the server did not answer a ping within {self.pong_timeout:g} s and sent nothing "
            f"for {self.bound:g} s (ping_interval + pong_timeout): the connection is dead"
        )

    def verdict(self, exc: TransportError) -> TransportError:
        """What a failed send means: the peer is dead, or ``exc`` itself."""
        return self.dead() if self.stalled() else exc


def run_writer(
    outbox: Outbox,
    transport: Transport,
    *,
    liveness: Liveness,
    on_failure: Callable[[TransportError], None],
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
    outbox.bind_writer()
    debug = _log.isEnabledFor(logging.DEBUG)
    heard_at = liveness.heard_at
    ping_interval = liveness.ping_interval
    bound = liveness.bound
    stalled = liveness.stalled
    pinged: float | None = None  # when the unanswered ping went out

    while True:
        now = time.monotonic()
        silence = liveness.silent_for(now)
        if pinged is not None and heard_at() >= pinged:
            pinged = None  # answered (or other traffic proved the connection alive)
        if bound is not None and silence >= bound:
            on_failure(liveness.dead())
            return
        wait = ping_interval - silence
        if wait <= 0:
            # One ping per silence while answers are checked; without checks,
            # a keep-alive ping every ping_interval.
            if pinged is None or (bound is None and now - pinged >= ping_interval):
                try:
                    transport.ping(stalled)
                except TransportError as exc:
                    on_failure(liveness.verdict(exc))
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
                    _log.debug("sent %s (%d bytes)", frame_type(frame), len(frame))
        except TransportError as exc:
            on_failure(liveness.verdict(exc))
            return
        except Exception as exc:  # a transport must not kill the writer silently
            on_failure(TransportError(f"sending failed: {exc!r}"))
            _log.debug("transport send raised", exc_info=exc)
            return
        finally:
            outbox.release()


def run_reader(
    transport: Transport,
    handle: Callable[[str | bytes], None],
    on_end: Callable[[ConnectionClosedError], None],
) -> None:
    """Receive frames and hand each to ``handle`` until the connection ends.

    ``handle`` must not raise (the session's handler reports its own errors);
    if it does anyway, the error is logged and the loop goes on.
    """
    _role.reader = True  # sends from callbacks on this thread are queued, never written
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


def frame_type(frame: str) -> str:
    """The ``type`` of an encoded client frame, for logs (every encoder puts it first)."""
    if frame.startswith('{"type":"'):
        end = frame.find('"', 9)
        if end > 0:
            return frame[9:end]
    return "frame"
