"""The session's lifecycle and the wiring of its parts.

:class:`SessionCore` composes the parts of a conversation session: a
:class:`~realtime_client._connection.Connection` (transport, reader and
writer threads, send queue, termination record), an
:class:`~realtime_client._pump.EventPump` and the
:class:`~realtime_client._session_conversation.ConversationLayer`. It owns
the lifecycle state ``NEW -> OPEN -> CLOSING -> CLOSED`` and the one close
path. :class:`~realtime_client.ConversationSession` is the public facade over
it. With reconnection on, a :class:`~realtime_client._reconnect.Reconnector`
replaces :attr:`SessionCore.conn` with a new connection when one ends
unexpectedly or nears the session limit, instead of closing.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import typing
from collections.abc import Callable
from typing import Any, Final

from . import events as ev
from ._callbacks import CallbackRegistry, CloseInfo
from ._checks import encode_event
from ._config import ConversationOptions
from ._connection import ABORT_GRACE, Connection, EndCause
from ._pump import EventPump
from ._reconnect import Reconnector
from ._session_conversation import ConversationLayer
from ._transport import Transport
from .errors import (
    ConnectionClosedError,
    RealtimeError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
    UsageError,
)

__all__ = ["SessionCore", "SessionState"]

_log = logging.getLogger("realtime_client")

_CLOSE_SLACK: Final = 4 * ABORT_GRACE  # how far past its budget a close can run, at most
_UNDECODABLE_MARKERS: Final = ('"response.',)  # refused frames the layer still needs


class SessionState(enum.Enum):
    """Where a session is in its life: ``NEW -> OPEN -> CLOSING -> CLOSED``.

    .. versionadded:: 0.1
    """

    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class _SessionWatch:
    """The session's own observer: the session id, ``session.created``, and
    server ``error`` events reported to ``on_error``."""

    def __init__(self, callbacks: CallbackRegistry) -> None:
        self._callbacks = callbacks
        self.session_id: str | None = None
        self.created = threading.Event()  # session.created arrived, or the session closed
        self.created_seen = False
        self.refusal: ServerError | None = None  # why a session ended before it began

    def observe(self, event: Any) -> None:
        kind = type(event)
        if kind is ev.SessionCreatedEvent or kind is ev.SessionUpdatedEvent:
            self.session_id = event.session.id or self.session_id
            if kind is ev.SessionCreatedEvent:
                self.created_seen = True
                self.created.set()
        elif kind is ev.ErrorEvent:
            server_error = ServerError.from_event(event)
            if not self.created_seen:
                self.refusal = server_error
            self._callbacks.report_error(server_error)

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        return


@typing.final
class SessionCore:
    """The lifecycle of one session and its parts (see the module docs).

    Contract: any thread may open, close, send and read the state; the
    connection's reader calls the hooks. The session lock guards only the
    state transitions; no other lock is taken while holding it except the
    callback registry's.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        options: ConversationOptions,
        callbacks: CallbackRegistry,
        ping_interval: float,
        pong_timeout: float | None,
        close_timeout: float,
        model: str | None,
        reconnect: Callable[[], Transport] | None = None,
    ) -> None:
        self.options = options
        self.callbacks = callbacks
        self.close_timeout = close_timeout
        self.lock = threading.Lock()
        self.state = SessionState.NEW
        self.close_info: CloseInfo | None = None
        self.closed_event = threading.Event()
        self._closer: threading.Thread | None = None  # the thread running close()
        self._end_pending = False  # closed from a callback: the reader queues the end
        self.watch = _SessionWatch(callbacks)
        self._ping = (ping_interval, pong_timeout)
        self.conn = self.new_connection(transport)
        self.layer = ConversationLayer(
            options=options,
            send=self.enqueue,
            reader=self.conn.reader,
            model=model,
            wake=self._wake,
        )
        self.layer.tools._subscribe(self._tools_changed)
        policy = options.reconnect_policy
        self.reconnector: Reconnector | None = None
        if policy is not None and reconnect is not None:
            self.reconnector = Reconnector(
                self,
                policy,
                reconnect,
                audio_bytes_per_second=_input_bytes_per_second(options.input_audio_format),
            )
        self.pump = EventPump(
            decode=ev.decode_server_event,
            callbacks=callbacks,
            observers=(self.watch, self.layer)
            if self.reconnector is None
            else (self.watch, self.layer, self.reconnector),
            buffer=options.buffer_events,
            undecodable_markers=_UNDECODABLE_MARKERS,
        )

    def new_connection(self, transport: Transport) -> Connection:
        """A connection over ``transport`` wired to this session (not started)."""
        return Connection(
            transport,
            handle_frame=self._handle_frame,
            flush=self._flush,
            on_end=self._connection_ended,
            ping_interval=self._ping[0],
            pong_timeout=self._ping[1],
            deadlines=self._deadlines,
            max_frames=self.options.send_queue_size,
            max_bytes=self.options.send_queue_bytes,
        )

    def _wake(self) -> None:
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
        conn.termination.record(EndCause.CLOSED_BY_APP)  # kept only if nothing ended it first
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

    def drained(self) -> bool:
        """Closed, and nothing but the end is left to iterate."""
        return self.pump.drained(self.state is SessionState.CLOSED)

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
        try:
            with self.lock:
                unexpected = self.state is SessionState.OPEN
            if unexpected:
                error = conn.termination.error
                if error is not None:
                    _log.warning("session ended: %s", error)
                self.close(None)
        finally:
            if self._end_pending:
                self.pump.end()

    def _deadlines(self, now: float) -> float | None:
        """Writer thread, at each wake-up: every deadline of the session other
        than liveness (response start, tool limits). Frames it produces are
        queued past the send limit: the writer cannot wait for itself."""
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

    def _tools_changed(self) -> None:
        """A tool was registered or removed: send the new list if the session is open."""
        if self.state is not SessionState.OPEN:
            return  # before opening, the client sends them with the first configuration
        tools = self.layer.tools_config()
        update = ev.SessionUpdateEvent(session=ev.RealtimeSessionConfig(tools=tools))
        try:
            self.enqueue([encode_event(update)])
        except SessionClosedError:
            _log.debug("tools changed while the session was closing; not sent")


def _input_bytes_per_second(fmt: ev.AudioFormat | None) -> int:
    """Bytes per second of the input audio: 48,000 for 24 kHz PCM16, 8,000 for G.711."""
    return 8000 if isinstance(fmt, (ev.AudioPCMU, ev.AudioPCMA)) else 48000
