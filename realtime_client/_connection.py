"""One connection's part of a session: the transport, its two threads, and how it ended.

A :class:`Connection` owns a connected :class:`~realtime_client._transport.Transport`,
the send queue, the reader thread (``realtime-reader-<n>``) and the writer
thread (``realtime-writer-<n>``), and one :class:`Termination` record. It knows
nothing of the Realtime protocol: frames go in and out as text, the reader
hands each received frame to ``handle_frame`` (an event pump), and the writer
calls ``deadlines`` at each timed wake-up.

Which thread writes a frame: a send without a timeout, from any thread but a
reader, while nothing is queued and nothing is being written, is written by
the calling thread itself (write-through: no hand-off, so a burst of sends
waits on the network as a plain blocking socket would, not in a queue);
otherwise the frame is queued and the writer thread sends it. A conversation session and a
translation session build on it alike; a reconnecting session can replace one
connection with the next under the same facade, each with its own record.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import typing
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from ._transport import Transport, ViolationClosedError
from ._workers import (
    Deadlines,
    Liveness,
    Outbox,
    frame_type,
    fresh_error,
    next_thread_number,
    on_reader_thread,
    run_reader,
    run_writer,
)
from .errors import (
    ConnectionClosedError,
    RealtimeError,
    SessionClosedError,
    SessionExpiredError,
    TransportError,
)

__all__ = ["ABORT_GRACE", "Connection", "EndCause", "Ending", "Termination"]

_log = logging.getLogger("realtime_client")

ABORT_GRACE: Final = 1.0
"""Seconds a thread gets to wake after the connection is cut (it wakes at once)."""
_EXPIRY_WORDS: Final = ("duration", "expire", "maximum", "max ")


class EndCause(enum.Enum):
    """Why a connection ended."""

    CLOSED_BY_APP = "closed by the application"
    CLOSED_BY_SERVER = "closed by the server"
    EXPIRED = "the server ended the session at its maximum duration"
    BROKEN = "the connection broke"
    UNRESPONSIVE = "the peer stopped answering"


@typing.final
@attrs.frozen(kw_only=True)
class Ending:
    """How a connection ended: the cause, and the error it means (``None`` for a
    clean end: the app closing, or the server closing with code 1000)."""

    cause: EndCause
    error: RealtimeError | None = None


@typing.final
class Termination:
    """The one record of a connection's end, set once under one lock.

    The first cause recorded wins (an application's close racing the server's
    is whichever came first); later ones are ignored. Separately, the close
    frame the peer sent, if any, is kept for :class:`~realtime_client.CloseInfo`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ending: Ending | None = None
        self._peer: ConnectionClosedError | None = None

    def record(self, cause: EndCause, error: RealtimeError | None = None) -> bool:
        """Record the end; whether this call was the first (and so the one kept)."""
        with self._lock:
            if self._ending is not None:
                return False
            self._ending = Ending(cause=cause, error=error)
            return True

    def note_peer_close(self, exc: ConnectionClosedError) -> None:
        """Keep the peer's close frame (its code and reason), the first one seen."""
        if exc.code is None or isinstance(exc, ViolationClosedError):
            return  # no close frame, or the code is the one this client closed with
        with self._lock:
            if self._peer is None:
                self._peer = exc

    @property
    def ending(self) -> Ending | None:
        """The end, once recorded."""
        return self._ending

    @property
    def error(self) -> RealtimeError | None:
        """The terminal error, if the end has one."""
        ending = self._ending
        return ending.error if ending is not None else None

    @property
    def peer_code(self) -> int | None:
        """The close code the peer sent, if it sent one."""
        return self._peer.code if self._peer is not None else None

    @property
    def peer_reason(self) -> str:
        """The close reason the peer sent."""
        return self._peer.reason if self._peer is not None else ""


def classify_close(exc: ConnectionClosedError) -> Ending:
    """What a connection ending seen by the reader means."""
    if exc.code is None:
        return Ending(cause=EndCause.BROKEN, error=exc)
    if exc.code == 1000:
        return Ending(cause=EndCause.CLOSED_BY_SERVER)
    lowered = exc.reason.lower()
    if exc.code == 1001 and any(word in lowered for word in _EXPIRY_WORDS):
        error = SessionExpiredError(
            f"the server ended the session at its maximum duration: {exc.reason}",
            code=exc.code,
            reason=exc.reason,
        )
        error.__cause__ = exc
        return Ending(cause=EndCause.EXPIRED, error=error)
    return Ending(cause=EndCause.CLOSED_BY_SERVER, error=exc)


@typing.final
class Connection:
    """A transport with its reader and writer threads and its termination record.

    Contract: :meth:`start` once; :meth:`send` from any thread; the reader
    calls ``handle_frame`` for every frame, ``flush`` whenever no further frame
    is already buffered, and ``on_end(self)`` once when the connection ends
    (whoever ended it); :meth:`shut` from the thread that closes, within a bound.

    Args:
        transport: The connected transport (this connection owns it from now on).
        handle_frame: Reader thread: one received frame.
        flush: Reader thread: the next read would wait on the network.
        on_end: Reader thread: the connection ended (the record says how).
        ping_interval: Seconds of silence from the peer before a ping.
        pong_timeout: Seconds more of silence before the peer is declared dead
            (``None``: never).
        deadlines: Writer thread, at each wake-up: other deadlines (see
            :func:`~realtime_client._workers.run_writer`).
        max_frames: Frames the send queue holds before ``send`` waits.
        max_bytes: Bytes the send queue holds before ``send`` waits.
        write_through: Let a caller write its own frames (see :meth:`send`);
            ``False`` queues every frame for the writer.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        handle_frame: Callable[[str | bytes], None],
        flush: Callable[[], None],
        on_end: Callable[[Connection], None],
        ping_interval: float,
        pong_timeout: float | None,
        deadlines: Deadlines | None,
        max_frames: int,
        max_bytes: int,
        write_through: bool = True,
    ) -> None:
        self.transport = transport
        self._write_through = write_through
        self.termination = Termination()
        self._shut = False
        self._shut_lock = threading.Lock()
        self._shut_done = threading.Event()
        self._outbox = Outbox(max_frames, max_bytes)
        self._liveness = Liveness(transport.last_received, ping_interval, pong_timeout)
        self._handle_frame = handle_frame
        self._flush = flush
        self._on_end = on_end
        number = next_thread_number()
        self.number = number  # in its threads' names, and its tool threads'
        self.reader = threading.Thread(
            target=run_reader,
            args=(transport, self._handle, self._reader_ended),
            name=f"realtime-reader-{number}",
            daemon=True,
        )
        self.writer = threading.Thread(
            target=run_writer,
            args=(self._outbox, transport),
            kwargs={
                "liveness": self._liveness,
                "on_failure": self._writer_failed,
                "deadlines": deadlines,
            },
            name=f"realtime-writer-{number}",
            daemon=True,
        )

    # --- any thread ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer, then the reader."""
        self._liveness.start()
        self.writer.start()
        self.reader.start()

    def send(
        self, frames: Sequence[str], timeout: float | None = None, *, force: bool = False
    ) -> None:
        """Send ``frames`` together, in order after everything accepted before.

        With ``timeout=None``, from a thread other than a reader, while nothing
        is queued and nothing is being written, the calling thread writes the
        frames itself (each whole, under the transport's send lock), so it
        returns once the network took them; a peer that stops reading is found
        by the same rule as the writer's (``ping_interval + pong_timeout``).
        Otherwise they are queued for the writer thread (see :meth:`Outbox.put`):
        a call with a timeout, or a callback's send on the reader thread, never
        waits on the network, only for room in the queue. ``force`` queues past
        the limits (for the writer's own frames).

        Raises:
            SessionClosedError: The session closed before the frames were accepted,
                or while the calling thread was writing them.
            ConnectionClosedError: The connection failed before they were
                accepted, or while the calling thread was writing them.
            SendQueueFullError: No room within ``timeout`` seconds; nothing was queued.
        """
        outbox = self._outbox
        if (
            force
            or timeout is not None
            or not self._write_through
            or on_reader_thread()
            or not outbox.claim()
        ):
            outbox.put(frames, timeout, force=force)
            return
        transport = self.transport
        stalled = self._liveness.stalled
        try:
            for frame in frames:
                transport.send(frame, stalled)
                if _log.isEnabledFor(logging.DEBUG):
                    _log.debug("sent %s (%d bytes)", frame_type(frame), len(frame))
        except TransportError as exc:
            raise self._direct_write_failed(exc) from exc
        finally:
            outbox.release()

    def wake(self) -> None:
        """Wake the writer so it looks at its deadlines again."""
        self._outbox.wake()

    def refuse_sends(self, error: RealtimeError | None = None) -> None:
        """Refuse further sends and drop what is queued (``error``: what senders get)."""
        self._outbox.stop(drop=True, error=error)

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return len(self._outbox)

    def owns(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` is this connection's reader or writer."""
        return thread is self.reader or thread is self.writer

    def shut(self, deadline: float, *, started: bool) -> None:
        """Close the connection by ``deadline`` (``time.monotonic()``), then release it.

        Frames already queued are sent, the closing handshake runs and both
        threads are joined; a send or a peer that does not finish in time is cut
        off. Never joins the calling thread (a callback may close). Once only:
        a later call waits (up to its own deadline) for the first to finish.
        """
        with self._shut_lock:
            first = not self._shut
            self._shut = True
        if not first:
            self._shut_done.wait(max(deadline - time.monotonic(), 0.0))
            return
        try:
            self._shut_now(deadline, started=started)
        finally:
            self._shut_done.set()

    def _shut_now(self, deadline: float, *, started: bool) -> None:
        if started:
            self._outbox.stop()  # 1. the writer drains what is queued, then exits,
            # and a caller writing its own frame finishes it
            if not _join(self.writer, deadline) or not self._outbox.wait_idle(deadline):
                self._outbox.stop(drop=True)  # a send is stuck: cut the connection
                self.transport.abort()
                _join(self.writer, time.monotonic() + ABORT_GRACE)
            self.transport.send_close()  # 2. polite close; the reader sees the answer
            if not _join(self.reader, deadline):
                self.transport.abort()  # 3. wake a reader blocked in recv
                _join(self.reader, time.monotonic() + ABORT_GRACE)
        else:
            self._outbox.stop(drop=True)
        self.transport.shutdown()

    # --- the threads' hooks --------------------------------------------------------------------

    def _handle(self, frame: str | bytes) -> None:
        """Reader thread: hand the frame on; flush once the next read would wait."""
        try:
            self._handle_frame(frame)
        finally:
            if not self.transport.frame_ready():
                self._flush()

    def _reader_ended(self, exc: ConnectionClosedError) -> None:
        """Reader thread: record how the connection ended (if nobody did first)."""
        self.termination.note_peer_close(exc)
        ending = classify_close(exc)
        if self.termination.record(ending.cause, ending.error) and ending.error is not None:
            # Blocked and later sends fail with the connection's error.
            self._outbox.stop(drop=True, error=ending.error)
        self._on_end(self)

    def _direct_write_failed(self, exc: TransportError) -> RealtimeError:
        """A calling thread's own write failed: end the connection as the writer
        would; the error for that caller (the connection's, or SessionClosedError
        when the app's close cut the write)."""
        self._writer_failed(self._liveness.verdict(exc))
        ending = self.termination.ending
        if ending is not None and ending.error is not None:
            return fresh_error(ending.error)
        return SessionClosedError("the session closed while the frame was being sent")

    def _writer_failed(self, exc: TransportError) -> None:
        """Writer thread: a send failed or the peer stopped answering. Record it
        and cut the connection; the reader wakes and reports the end."""
        if isinstance(exc, ConnectionClosedError):
            error, cause = exc, EndCause.UNRESPONSIVE
        else:
            error = ConnectionClosedError(f"the connection failed while sending: {exc}")
            error.__cause__ = exc
            cause = EndCause.BROKEN
        self.termination.record(cause, error)
        self._outbox.stop(drop=True, error=error)
        self.transport.abort()


def _join(thread: threading.Thread, deadline: float) -> bool:
    """Join until ``deadline``; never the calling thread itself (paho's rule)."""
    if thread is threading.current_thread():
        return False
    if thread.is_alive():
        thread.join(max(deadline - time.monotonic(), 0.0))
    return not thread.is_alive()
