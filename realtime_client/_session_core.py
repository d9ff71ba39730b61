"""The session's lifecycle and the wiring of its parts, for either protocol.

:class:`SessionCore` composes the parts of a session: a
:class:`~realtime_client._connection.Connection` (transport, reader and
writer threads, send queue, termination record), an
:class:`~realtime_client._pump.EventPump` and a protocol :class:`Layer` (the
conversation layer of a :class:`~realtime_client.ConversationSession`, the
accumulators of a :class:`~realtime_client.TranslationSession`). It owns the
lifecycle state ``NEW -> OPEN -> CLOSING -> CLOSED`` and the one close path.
What differs between the protocols is data (a :class:`Wire`: the decoder, the
event classes the core watches, the goodbye a polite close sends) and the
layer. The public facades check, encode and delegate here. With reconnection
on, a :class:`~realtime_client._reconnect.Reconnector` replaces
:attr:`SessionCore.conn` with a new connection when one ends unexpectedly or
nears the session limit, instead of closing.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import typing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

import attrs

from ._callbacks import CallbackRegistry, CloseInfo
from ._connection import ABORT_GRACE, Connection, EndCause
from ._pump import EventPump, Observer
from ._transport import Transport
from .errors import (
    ConnectionClosedError,
    RealtimeError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
    UsageError,
)

if TYPE_CHECKING:
    from ._reconnect import Reconnector

__all__ = ["Layer", "SessionCore", "SessionState", "Wire"]

_log = logging.getLogger("realtime_client")

_CLOSE_SLACK: Final = 4 * ABORT_GRACE  # how far past its budget a close can run, at most


class SessionState(enum.Enum):
    """Where a session is in its life: ``NEW -> OPEN -> CLOSING -> CLOSED``.

    .. versionadded:: 0.1
    """

    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@typing.final
@attrs.frozen(kw_only=True)
class Wire:
    """What the core knows of a protocol.

    Attributes:
        decode: Turns a frame into an event; raises ProtocolError for a bad frame.
        created: The class of the server's first event (``session.created``).
        updated: The class of its configuration updates (``session.updated``).
        error: The class of the server's ``error`` event.
        goodbye: A frame a polite close sends first, if the protocol has one
            (a translation's ``session.close``).
        farewell: The class of the server's answer to it (``session.closed``).
        undecodable_markers: Text in refused frames the layer still wants to see.
    """

    decode: Callable[[str | bytes], Any]
    created: type
    updated: type
    error: type
    goodbye: str | None = None
    farewell: type | None = None
    undecodable_markers: tuple[str, ...] = ()


class Layer(Observer, Protocol):
    """The protocol's own part: an observer of the pump, with the core's hooks."""

    def expire(self, now: float) -> tuple[list[str], float | None]:
        """Writer thread, at each timed wake-up: frames to send and the next deadline."""
        ...

    def runs_on(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` is one the layer owns (close may be joining it)."""
        ...

    def close(self, timeout: float, error: RealtimeError | None) -> None:
        """The session closed (``error``: the connection's, if the network ended
        it): finish what the layer keeps open, within about ``timeout`` seconds."""
        ...


L = TypeVar("L", bound=Layer)


class _SessionWatch:
    """The session's own observer: the session id, ``session.created``, the
    goodbye's answer, and server ``error`` events reported to ``on_error``."""

    def __init__(self, callbacks: CallbackRegistry, wire: Wire) -> None:
        self._callbacks = callbacks
        self._created_type = wire.created
        self._updated_type = wire.updated
        self._error_type = wire.error
        self._farewell_type = wire.farewell
        self.session_id: str | None = None
        self.created = threading.Event()  # session.created arrived, or the session closed
        self.created_seen = False
        self.refusal: ServerError | None = None  # why a session ended before it began
        self.answered = threading.Event()  # the goodbye was answered, or the connection ended

    def observe(self, event: Any) -> None:
        kind = type(event)
        if kind is self._created_type or kind is self._updated_type:
            self.session_id = event.session.id or self.session_id
            if kind is self._created_type:
                self.created_seen = True
                self.created.set()
        elif kind is self._error_type:
            server_error = ServerError.from_event(event)
            if not self.created_seen:
                self.refusal = server_error
            self._callbacks.report_error(server_error)
        elif kind is self._farewell_type:
            self.answered.set()

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        return


@typing.final
class SessionCore(Generic[L]):
    """The lifecycle of one session and its parts (see the module docs).

    Contract: any thread may open, close, send and read the state; the
    connection's reader calls the hooks. The session lock guards only the
    state transitions; no other lock is taken while holding it except the
    callback registry's.

    Args:
        transport: The connected transport (the core owns it from now on).
        wire: The protocol's decoder and the events the core watches.
        make_layer: Builds the protocol layer, given the core (whose
            connection exists by then: the layer may keep its ``enqueue``,
            reader thread and ``wake``).
        callbacks: The session's callback registry.
        buffer: Queue events for iteration (``False``: callbacks only).
        max_frames: Frames the send queue holds before a send waits.
        max_bytes: Bytes the send queue holds before a send waits.
        ping_interval: Seconds of silence from the peer before a ping.
        pong_timeout: Seconds more before the peer is declared dead (``None``: never).
        close_timeout: Default bound of :meth:`close`, in seconds.
        reconnect: Builds the session's reconnector, given the core (whose
            layer exists by then); ``None``: a connection's end ends the session.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        wire: Wire,
        make_layer: Callable[[SessionCore[L]], L],
        callbacks: CallbackRegistry,
        buffer: bool,
        max_frames: int,
        max_bytes: int,
        ping_interval: float,
        pong_timeout: float | None,
        close_timeout: float,
        reconnect: Callable[[SessionCore[L]], Reconnector] | None = None,
    ) -> None:
        self.callbacks = callbacks
        self.close_timeout = close_timeout
        self.lock = threading.Lock()
        self.state = SessionState.NEW
        self.close_info: CloseInfo | None = None
        self.closed_event = threading.Event()
        self._goodbye = wire.goodbye
        self._closer: threading.Thread | None = None  # the thread running close()
        self._end_pending = False  # closed from a callback: the reader queues the end
        self.watch = _SessionWatch(callbacks, wire)
        self._conn_settings = (ping_interval, pong_timeout, max_frames, max_bytes)
        # With reconnection, every frame is queued: a send that failed while its caller
        # wrote it is retried on the next connection, where the replay may carry it too.
        self._write_through = reconnect is None
        self.reconnector: Reconnector | None = None
        self.conn = self.new_connection(transport)
        self.layer = make_layer(self)
        observers: tuple[Observer, ...] = (self.watch, self.layer)
        if reconnect is not None:
            self.reconnector = reconnect(self)
            observers = (*observers, self.reconnector)
        self.pump = EventPump(
            decode=wire.decode,
            callbacks=callbacks,
            observers=observers,
            buffer=buffer,
            undecodable_markers=wire.undecodable_markers,
        )

    def new_connection(self, transport: Transport) -> Connection:
        """A connection over ``transport`` wired to this session (not started)."""
        ping_interval, pong_timeout, max_frames, max_bytes = self._conn_settings
        return Connection(
            transport,
            handle_frame=self._handle_frame,
            flush=self._flush,
            on_end=self._connection_ended,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            deadlines=self._deadlines,
            max_frames=max_frames,
            max_bytes=max_bytes,
            write_through=self._write_through,
        )

    def wake(self) -> None:
        """Wake the writer of the connection in use (a reconnection replaces it)."""
        self.conn.wake()

    def is_open(self) -> bool:
        """Whether the session is open (not closing)."""
        with self.lock:
            return self.state is SessionState.OPEN

    def is_open_locked(self) -> bool:
        """:meth:`is_open` with :attr:`lock` held by the caller."""
        return self.state is SessionState.OPEN

    # --- lifecycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """``NEW -> OPEN``: start the connection's threads."""
        with self.lock:
            if self.state is SessionState.OPEN:
                raise UsageError("the session is already open")
            if self.state is not SessionState.NEW:
                raise SessionClosedError("a closed session cannot be reopened")
            self.state = SessionState.OPEN
        self.conn.start()

    def close(self, timeout: float | None) -> None:
        """The one close path (see :meth:`ConversationSession.close
        <realtime_client.ConversationSession.close>`)."""
        budget = self.close_timeout if timeout is None else max(timeout, 0.0)
        with self.lock:
            state = self.state
            if state is SessionState.OPEN or state is SessionState.NEW:
                self.state = SessionState.CLOSING
                self._closer = threading.current_thread()
        if state is SessionState.CLOSING:
            if self._may_wait_for_close():
                self.closed_event.wait(budget + _CLOSE_SLACK)
            return
        if state is SessionState.CLOSED:
            return
        deadline = time.monotonic() + budget
        if self.reconnector is not None:
            self.reconnector.stop(deadline)  # no new connection from now on
        conn = self.conn
        # Kept only if nothing ended the connection first.
        by_app = conn.termination.record(EndCause.CLOSED_BY_APP)
        if by_app and state is SessionState.OPEN:
            self._say_goodbye(deadline)
        conn.shut(deadline, started=state is SessionState.OPEN)
        termination = conn.termination
        error = termination.error
        # Unfinished requests fail (with the connection's error if the network
        # ended the session); tool threads stop (their sends already fail).
        self.layer.close(max(deadline - time.monotonic(), ABORT_GRACE), error)
        self.close_info = CloseInfo(
            code=termination.peer_code, reason=termination.peer_reason, error=error
        )
        self.pump.stopped = True
        if threading.current_thread() is conn.reader:
            # Closed from a callback: the event being dispatched is queued after
            # this returns, so the reader ends iteration once it is done with it.
            self._end_pending = True
        else:
            self.pump.end()  # iterators finish
        with self.lock:
            self.state = SessionState.CLOSED
        self.closed_event.set()
        self.watch.created.set()  # wake a wait_created(): it reports the close
        if error is not None:
            self.callbacks.report_error(error)
        self.callbacks.fire_close(self.close_info)  # exactly once, last
        _log.debug("session closed (%s)", self.close_info)

    def _say_goodbye(self, deadline: float) -> None:
        """The protocol's polite close, if it has one: send the goodbye (behind
        what is queued) and wait, until ``deadline``, for the server's answer
        (the last output arrives before it). Skipped before the server created
        the session; not waited for on the reader, which delivers the answer."""
        if self._goodbye is None or not self.watch.created_seen:
            return
        try:
            self.conn.send([self._goodbye], max(deadline - time.monotonic(), 0.0))
        except RealtimeError as exc:
            _log.debug("goodbye not sent: %s", exc)
            return
        if threading.current_thread() is self.conn.reader:
            return
        if not self.watch.answered.wait(max(deadline - time.monotonic(), 0.0)):
            _log.warning("the server did not answer the close in time; closing anyway")

    def _may_wait_for_close(self) -> bool:
        """Whether this thread can wait for another thread's close without a deadlock."""
        current = threading.current_thread()
        if current is self._closer or self.conn.owns(current):
            return False
        if self.reconnector is not None and self.reconnector.owns(current):
            return False
        return not self.layer.runs_on(current)  # a tool thread: close may be joining it

    def wait_created(self, timeout: float) -> None:
        """Wait for ``session.created`` (see the facade's docs)."""
        if not self.watch.created.wait(timeout):
            raise RealtimeTimeoutError(
                f"the server sent no session.created within {timeout:g} s of connecting"
            )
        if not self.watch.created_seen:
            info = self.close_info
            error = info.error if info is not None else None
            refusal = self.watch.refusal
            if isinstance(error, ConnectionClosedError) and refusal is not None:
                raise ConnectionClosedError(
                    f"{error}; the server said: {refusal}", code=error.code, reason=error.reason
                ) from error
            if error is not None:
                raise error
            raise SessionClosedError("the session closed before the server created it")

    def on_close(self, fn: Callable[[CloseInfo], object]) -> None:
        """Call ``fn(close_info)`` once closed (at once if it is)."""
        with self.lock:
            done = self.state is SessionState.CLOSED
            if not done:
                self.callbacks.on_close(fn)
        if done and self.close_info is not None:
            fn(self.close_info)

    # --- sending and iteration -------------------------------------------------------------------

    def enqueue(self, frames: list[str], timeout: float | None = None) -> None:
        """Queue encoded frames together for the writer."""
        if self.state in (SessionState.CLOSING, SessionState.CLOSED):
            raise SessionClosedError("the session is closed: nothing more can be sent")
        if self.reconnector is not None:
            self.reconnector.send(frames, timeout)
        else:
            self.conn.send(frames, timeout)

    def events(self, timeout: float | None) -> Iterator[Any]:
        """Every event received, in order, until the end (see the facades' ``events()``)."""
        if not self.pump.buffer:
            raise UsageError(
                "this session does not buffer events (buffer_events=False): use callbacks"
            )
        if self.pump.drained(self.state is SessionState.CLOSED):
            error = self.terminal_error()
            if error is not None:
                raise error
            raise SessionClosedError("the session is closed: there are no more events")
        return self.pump.iterate(timeout, self.terminal_error)

    def terminal_error(self) -> RealtimeError | None:
        """The error the session ended with, if any."""
        info = self.close_info
        return info.error if info is not None else None

    # --- the parts' hooks ----------------------------------------------------------------------

    def _handle_frame(self, frame: str | bytes) -> None:
        """Reader thread: one frame through the pump (after the events a
        reconnection left for the new connection's reader to deliver first)."""
        reconnector = self.reconnector
        if reconnector is not None and reconnector.pending_events:
            events, reconnector.pending_events = reconnector.pending_events, []
            for event in events:
                self.pump.deliver(event)
        self.pump.handle(frame)

    def _flush(self) -> None:
        self.pump.flush()

    def _connection_ended(self, conn: Connection) -> None:
        """Reader thread: the connection ended. Unless the app is closing the
        session, close it with the connection's terminal error. (A reconnecting
        session starts its next connection instead.)"""
        try:
            reconnector = self.reconnector
            if reconnector is not None:
                if conn is not self.conn or conn is reconnector.retiring:
                    return  # a connection the session moved away from
                ending = conn.termination.ending
                if self.is_open() and reconnector.wants(ending):
                    assert ending is not None
                    reason = "expired" if ending.cause is EndCause.EXPIRED else str(ending.error)
                    reconnector.begin(conn, reason, planned=False)
                    return
            self.watch.answered.set()  # a close waiting for the goodbye's answer goes on
            with self.lock:
                unexpected = self.state is SessionState.OPEN
            if unexpected:
                error = conn.termination.error
                if error is not None:
                    _log.warning("session ended: %s", error)
                self.close(None)
        finally:
            # A close made on this reader (a callback) left the end of iteration to
            # it, whichever connection it reads: a retired one included.
            if self._end_pending:
                self.pump.end()

    def _deadlines(self, now: float) -> float | None:
        """Writer thread, at each wake-up: every deadline of the session other
        than liveness (the layer's: response start, tool limits). Frames it
        produces are queued past the send limit: the writer cannot wait for itself."""
        frames, due = self.layer.expire(now)
        if frames:
            try:
                self.conn.send(frames, force=True)
            except RealtimeError as exc:
                _log.debug("not sent, the session is closing: %s", exc)
        if self.reconnector is not None:
            rollover = self.reconnector.rollover_due(now)
            if rollover is not None and (due is None or rollover < due):
                due = rollover
        return due
