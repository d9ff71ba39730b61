"""ConversationSession: one open Realtime conversation.

A session owns two daemon threads. The reader (``realtime-reader-<n>``)
decodes every frame, runs the callbacks and queues the event for iteration;
the writer (``realtime-writer-<n>``) sends what callers queued and pings when
the server falls silent. Callers' ``send*`` methods encode on the caller's
thread, so a bad event raises where it was made. The sending and receiving
halves live in ``_session_send`` and ``_session_receive``; this module owns
the threads and the lifecycle. See ``docs/threading.md`` for the contract.
"""

from __future__ import annotations

import enum
import json
import logging
import queue
import threading
import time
import typing
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

from . import events as ev
from ._callbacks import CallbackRegistry, CloseInfo
from ._checks import check_callable, check_instance, check_seconds, check_text
from ._config import ConversationOptions
from ._responses import ResponseHandle
from ._session_conversation import ConversationLayer, SessionConversation
from ._session_receive import END, SessionReceiving
from ._session_send import SessionSending
from ._transport import Transport
from ._workers import Outbox, next_thread_number, run_reader, run_writer
from .errors import (
    ConnectionClosedError,
    ProtocolError,
    RealtimeError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
    SessionExpiredError,
    TransportError,
    UsageError,
)

__all__ = ["CloseInfo", "ConversationSession", "ResponseHandle", "SessionState", "start_session"]

_log = logging.getLogger("realtime_client")

F = TypeVar("F", bound=Callable[..., object])

DEFAULT_PING_INTERVAL: Final = 20.0
DEFAULT_PONG_TIMEOUT: Final = 20.0
DEFAULT_CLOSE_TIMEOUT: Final = 5.0
_ABORT_GRACE: Final = 1.0  # after an abort, a blocked thread wakes at once; allow a little
_CLOSE_SLACK: Final = 4 * _ABORT_GRACE  # how far past its budget a close can run, at most
_EXPIRY_WORDS: Final = ("duration", "expire", "maximum", "max ")


_BATCH_MAX: Final = 32  # events handed to the iterator at once, at most


class SessionState(enum.Enum):
    """Where a session is in its life: ``NEW -> OPEN -> CLOSING -> CLOSED``.

    .. versionadded:: 0.1
    """

    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


def _is_expiry(code: int | None, reason: str) -> bool:
    """Whether a close is the server ending the session at its maximum duration."""
    lowered = reason.lower()
    return code == 1001 and any(word in lowered for word in _EXPIRY_WORDS)


def _terminal_error(exc: ConnectionClosedError) -> RealtimeError | None:
    """The error a server-side close means, or ``None`` for a normal (1000) close."""
    if exc.code == 1000:
        return None
    if _is_expiry(exc.code, exc.reason):
        error: ConnectionClosedError = SessionExpiredError(
            f"the server ended the session at its maximum duration: {exc.reason}",
            code=exc.code,
            reason=exc.reason,
        )
        error.__cause__ = exc
        return error
    return exc


@typing.final
class ConversationSession(SessionConversation, SessionSending, SessionReceiving):
    """An open Realtime conversation: send events, receive events and messages.

    Usually made by :meth:`ConversationClient.start_conversation
    <realtime_client.ConversationClient.start_conversation>`, which returns it
    open. Tests build one directly over a
    :class:`~realtime_client.testing.FakeTransport`.

    Use it as a context manager: leaving the block closes it, also on an
    exception.

    Args:
        transport: The connection (already connected).
        options: Local behaviour (event buffering, send queue size, ...).
        on_error: Called with every reported error: a failing callback, a bad
            frame (:class:`~realtime_client.ProtocolError`), a server ``error``
            event (as :class:`~realtime_client.ServerError`), the terminal error.
        on_close: Called once, last, with a :class:`CloseInfo`.
        ping_interval: Seconds of silence from the server after which a ping
            is sent.
        pong_timeout: Seconds within which the server must answer a ping (any
            frame counts); otherwise the connection is dead and the session
            closes with :class:`~realtime_client.ConnectionClosedError`. None
            never gives up.
        close_timeout: Default bound, in seconds, of :meth:`close`.
        call_id: The SIP/WebRTC call this session controls, if any.
        model: The session's model, to price its usage (``session.usage``).

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 The conversation layer: ``last_turn``, ``items``,
       ``usage``, ``tools``, ``ask()``; ``create_response()`` returns a handle.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        options: ConversationOptions | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        pong_timeout: float | None = DEFAULT_PONG_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        call_id: str | None = None,
        model: str | None = None,
    ) -> None:
        check_seconds("ping_interval", ping_interval)
        check_seconds("pong_timeout", pong_timeout, allow_none=True)
        check_seconds("close_timeout", close_timeout, allow_zero=True)
        check_instance("options", options, ConversationOptions)
        check_callable("on_error", on_error)
        check_callable("on_close", on_close)
        check_text("call_id", call_id)
        check_text("model", model)
        self._transport = transport
        self._options = options or ConversationOptions()
        self._ping_interval = ping_interval
        self._close_timeout = close_timeout
        self._call_id = call_id
        self._callbacks = CallbackRegistry()
        if on_error is not None:
            self._callbacks.on_error(on_error)
        if on_close is not None:
            self._callbacks.on_close(on_close)
        self._lock = threading.Lock()
        self._state = SessionState.NEW
        self._outbox = Outbox(self._options.send_queue_size, self._options.send_queue_bytes)
        # Lists of events (the reader hands over everything one socket read
        # brought, in one put), then END.
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._buffer = self._options.buffer_events
        self._batch: list[Any] = []  # the reader's events not yet handed over
        self._created = threading.Event()  # session.created arrived, or the session closed
        self._created_seen = False
        self._refusal: ServerError | None = None
        self._frame_ready: Callable[[], bool] = transport.frame_ready
        self._close_info: CloseInfo | None = None
        self._closed_event = threading.Event()
        self._closer: threading.Thread | None = None  # the thread running close()
        self._peer_close: ConnectionClosedError | None = None
        self._writer_error: ConnectionClosedError | None = None
        self._terminal: RealtimeError | None = None
        self._end_pending = False  # closed from a callback: the reader queues the end
        self._end_queued = False  # the end marker is in the event queue
        self._session_id: str | None = None
        self._debug = _log.isEnabledFor(logging.DEBUG)
        number = next_thread_number()
        self._reader = threading.Thread(
            target=run_reader,
            args=(transport, self._handle_frame, self._reader_ended),
            name=f"realtime-reader-{number}",
            daemon=True,
        )
        self._writer = threading.Thread(
            target=run_writer,
            args=(self._outbox, transport),
            kwargs={
                "ping_interval": ping_interval,
                "on_failure": self._writer_failed,
                "pong_timeout": pong_timeout,
                "deadlines": self._deadlines,
            },
            name=f"realtime-writer-{number}",
            daemon=True,
        )
        self._layer = ConversationLayer(
            options=self._options,
            send=self._enqueue,
            reader=self._reader,
            model=model,
            wake=self._outbox.wake,
        )
        self._layer.tools._subscribe(self._tools_changed)
        self._observers: list[Callable[[Any], None]] = [self._layer.observe]

    def __repr__(self) -> str:
        return f"<ConversationSession {self._state.value} id={self._session_id!r}>"

    # --- lifecycle ---------------------------------------------------------------------------

    def open(self) -> ConversationSession:
        """Start the reader and writer threads; returns the session.

        Raises:
            SessionClosedError: The session was already closed (sessions
                cannot be reopened).
            UsageError: The session is already open.
        """
        with self._lock:
            if self._state is SessionState.OPEN:
                raise UsageError("the session is already open")
            if self._state is not SessionState.NEW:
                raise SessionClosedError("a closed session cannot be reopened")
            self._state = SessionState.OPEN
        self._writer.start()
        self._reader.start()
        return self

    def __enter__(self) -> ConversationSession:
        """Open the session if it is new; a closed session cannot be entered.

        Raises:
            SessionClosedError: The session has closed (its terminal error, if
                any, is the ``__cause__``).
        """
        if self._state is SessionState.NEW:
            self.open()
        elif self._state is SessionState.CLOSED:
            info = self._close_info
            raise SessionClosedError("a closed session cannot be reopened") from (
                info.error if info is not None else None
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def state(self) -> SessionState:
        """The lifecycle state."""
        return self._state

    @property
    def closed(self) -> bool:
        """Whether the session is closing or closed."""
        return self._state in (SessionState.CLOSING, SessionState.CLOSED)

    @property
    def close_info(self) -> CloseInfo | None:
        """How the session ended, once it has (``None`` before)."""
        return self._close_info

    @property
    def session_id(self) -> str | None:
        """The server's session id, from ``session.created`` (``None`` before)."""
        return self._session_id

    @property
    def call_id(self) -> str | None:
        """The SIP/WebRTC call this session controls, if any."""
        return self._call_id

    @property
    def _reader_thread(self) -> threading.Thread:
        return self._reader

    @property
    def options(self) -> ConversationOptions:
        """The options the session was made with."""
        return self._options

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the session has closed; whether it had within ``timeout``."""
        return self._closed_event.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Close the session: idempotent, safe from any thread, bounded in time.

        Frames already queued are sent first, then the closing handshake runs,
        then the threads are joined; a peer that does not answer is cut off.
        Events received before the close stay available to iteration, which
        then ends. ``on_close`` runs once, last. Called from a callback (the
        reader thread), it does the same without waiting for its own thread.

        When another thread is already closing the session (for example the
        reader, after the server closed the connection), this call waits for
        that close to finish, within about ``timeout`` seconds, so the session
        is closed and its threads are gone when it returns. Called from a
        thread that close is waiting for (a callback, a tool function, the
        closing thread itself), it returns at once instead of deadlocking.

        Args:
            timeout: Upper bound in seconds for the polite part (default: the
                session's ``close_timeout``); after it, the connection is cut.
        """
        budget = self._close_timeout if timeout is None else max(timeout, 0.0)
        with self._lock:
            state = self._state
            if state is SessionState.OPEN or state is SessionState.NEW:
                self._state = SessionState.CLOSING
                self._closer = threading.current_thread()
        if state is SessionState.CLOSING:
            if self._may_wait_for_close():
                self._closed_event.wait(budget + _CLOSE_SLACK)
            return
        if state is SessionState.CLOSED:
            return
        started = state is SessionState.OPEN
        deadline = time.monotonic() + budget
        if started:
            self._outbox.stop()  # 1. the writer drains what is queued, then exits
            if not self._join(self._writer, deadline):
                self._outbox.stop(drop=True)  # a send is stuck: cut the connection
                self._transport.abort()
                self._join(self._writer, time.monotonic() + _ABORT_GRACE)
            self._transport.send_close()  # 2. polite close; the reader sees the answer
            if not self._join(self._reader, deadline):
                self._transport.abort()  # 3. wake a reader blocked in recv
                self._join(self._reader, time.monotonic() + _ABORT_GRACE)
        else:
            self._outbox.stop(drop=True)
        self._transport.shutdown()
        # Unfinished requests fail; tool threads stop (their sends already fail).
        self._layer.close(max(deadline - time.monotonic(), _ABORT_GRACE), self._terminal)
        peer = self._peer_close
        error: RealtimeError | None = self._terminal
        self._close_info = CloseInfo(
            code=peer.code if peer is not None else None,
            reason=peer.reason if peer is not None else "",
            error=error,
        )
        if threading.current_thread() is self._reader:
            # Closed from a callback: the event being dispatched is queued after
            # this returns, so the reader ends iteration once it is done with it.
            self._end_pending = True
        else:
            self._put_end()  # 4. iterators finish
        with self._lock:
            self._state = SessionState.CLOSED
        self._closed_event.set()
        self._created.set()  # wake a wait_created(): it reports the close
        if error is not None:
            self._callbacks.report_error(error)
        self._callbacks.fire_close(self._close_info)  # 5. exactly once, last
        _log.debug("session closed (%s)", self._close_info)

    def _may_wait_for_close(self) -> bool:
        """Whether this thread can wait for another thread's close without a deadlock."""
        current = threading.current_thread()
        if current is self._closer or current is self._reader or current is self._writer:
            return False
        return not self._layer.runs_on(current)  # a tool thread: close may be joining it

    @staticmethod
    def _join(thread: threading.Thread, deadline: float) -> bool:
        """Join until ``deadline``; never the calling thread itself (paho's rule)."""
        if thread is threading.current_thread():
            return False
        if thread.is_alive():
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not thread.is_alive()

    # --- the threads' hooks ------------------------------------------------------------------

    def wait_created(self, timeout: float) -> None:
        """Wait for the server's ``session.created``, its first event on a new connection.

        :meth:`ConversationClient.start_conversation
        <realtime_client.ConversationClient.start_conversation>` calls it, so a
        session it returns is one the server has set up.

        Raises:
            RealtimeTimeoutError: It did not come within ``timeout`` seconds.
            ConnectionClosedError: The connection ended first (the server's
                reason, e.g. an unknown model, is in the message).
            SessionClosedError: The session was closed first.
        """
        if not self._created.wait(timeout):
            raise RealtimeTimeoutError(
                f"the server sent no session.created within {timeout:g} s of connecting"
            )
        if not self._created_seen:
            info = self._close_info
            error = info.error if info is not None else None
            refusal = self._refusal
            if isinstance(error, ConnectionClosedError) and refusal is not None:
                raise ConnectionClosedError(
                    f"{error}; the server said: {refusal}", code=error.code, reason=error.reason
                ) from error
            if error is not None:
                raise error
            raise SessionClosedError("the session closed before the server created it")

    def _handle_frame(self, frame: str | bytes) -> None:
        """Reader thread: decode, observe, run callbacks, queue."""
        try:
            self._handle_one(frame)
        finally:
            # Hand the events over once the next read would wait on the network:
            # one put and one wake-up per socket read, not per event.
            batch = self._batch
            if batch and (len(batch) >= _BATCH_MAX or not self._frame_ready()):
                self._batch = []
                self._events.put(batch)

    def _flush_batch(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self._events.put(batch)

    def _handle_one(self, frame: str | bytes) -> None:
        if self._state is SessionState.CLOSED:
            return  # frames still buffered after a close from a callback
        try:
            event = ev.decode_server_event(frame)
        except ProtocolError as exc:
            _log.warning("skipped a bad frame from the server: %s", exc)
            self._callbacks.report_error(exc)
            self._undecodable(frame)
            return
        if self._debug:
            _log.debug("received %s (%d bytes)", event.type, len(frame))
        kind = event.type
        if isinstance(event, (ev.SessionCreatedEvent, ev.SessionUpdatedEvent)):
            self._session_id = event.session.id or self._session_id
            if isinstance(event, ev.SessionCreatedEvent):
                self._created_seen = True
                self._created.set()
        elif isinstance(event, ev.ErrorEvent):
            server_error = ServerError.from_event(event)
            if not self._created_seen:
                self._refusal = server_error  # why a session ends before it began
            self._callbacks.report_error(server_error)
        for observe in self._observers:
            try:
                observe(event)
            except Exception as exc:
                _log.exception("internal observer failed on %s", kind)
                self._callbacks.report_error(exc)
        if self._batch and self._callbacks.wants(event):
            self._flush_batch()  # a slow callback must not hold back earlier events
        self._callbacks.dispatch(event)
        if self._buffer:
            self._batch.append(event)

    def _undecodable(self, frame: str | bytes) -> None:
        """Reader thread: a refused frame may still start or end a response;
        the conversation layer must learn of it, or its queue waits forever."""
        if isinstance(frame, bytes):
            if b'"response.' not in frame:
                return  # cheap filter: the layer only cares about response.created / .done
        elif '"response.' not in frame:
            return
        try:
            raw = json.loads(frame)
        except (ValueError, RecursionError):
            return
        try:
            self._layer.observe_undecodable(raw)
        except Exception as error:
            _log.exception("internal observer failed on a bad frame")
            self._callbacks.report_error(error)

    def _reader_ended(self, exc: ConnectionClosedError) -> None:
        """Reader thread: the connection ended; close if nobody asked for it."""
        try:
            self._connection_ended(exc)
        finally:
            if self._end_pending:
                self._put_end()

    def _put_end(self) -> None:
        self._flush_batch()  # the reader has ended (or is stuck in a callback)
        self._end_queued = True
        self._events.put(END)

    def _connection_ended(self, exc: ConnectionClosedError) -> None:
        if exc.code is not None and self._peer_close is None:
            self._peer_close = exc
        with self._lock:
            unexpected = self._state is SessionState.OPEN
        if not unexpected:
            return
        writer_error = self._writer_error
        error = writer_error if writer_error is not None else _terminal_error(exc)
        self._terminal = error
        if error is not None:
            _log.warning("session ended: %s", error)
            # The connection is gone: blocked and later sends fail with its error.
            self._outbox.stop(drop=True, error=error)
        self.close()

    def _deadlines(self, now: float) -> float | None:
        """Writer thread, at each wake-up: every deadline of the session other
        than liveness (response start, tool limits). Frames it produces are
        queued past the send limit: the writer cannot wait for itself."""
        frames, due = self._layer.expire(now)
        if frames:
            try:
                self._outbox.put(frames, force=True)
            except RealtimeError as exc:
                _log.debug("not sent, the session is closing: %s", exc)
        return due

    def _writer_failed(self, exc: TransportError) -> None:
        """Writer thread: a send failed or the peer stopped answering; wake the
        reader, which closes the session with this error."""
        if isinstance(exc, ConnectionClosedError):
            error = exc
        else:
            error = ConnectionClosedError(f"the connection failed while sending: {exc}")
            error.__cause__ = exc
        self._writer_error = error
        self._outbox.stop(drop=True, error=error)  # blocked and later sends fail with it
        self._transport.abort()

    # --- sending -------------------------------------------------------------------------------

    def _tools_changed(self) -> None:
        """A tool was registered or removed: send the new list if the session is open."""
        if self._state is not SessionState.OPEN:
            return  # before opening, the client sends them with the first configuration
        tools = self._layer.tools_config()
        try:
            self.send(ev.SessionUpdateEvent(session=ev.RealtimeSessionConfig(tools=tools)))
        except SessionClosedError:
            _log.debug("tools changed while the session was closing; not sent")

    def _enqueue(self, frames: list[str], timeout: float | None = None) -> None:
        if self._state in (SessionState.CLOSING, SessionState.CLOSED):
            raise SessionClosedError("the session is closed: nothing more can be sent")
        self._outbox.put(frames, timeout)

    # --- lifecycle callbacks and the receiving half's hook ------------------------------------

    def on_close(self, fn: F) -> F:
        """Call ``fn(close_info)`` once the session has closed (immediately if it has)."""
        with self._lock:
            done = self._state is SessionState.CLOSED
            if not done:
                self._callbacks.on_close(fn)
        if done and self._close_info is not None:
            fn(self._close_info)
        return fn

    def _drained(self) -> bool:
        """Closed, and nothing but the end is left to iterate."""
        # Closed from a callback, the reader still queues the event it was
        # dispatching, then the end: until the end is queued, iterate.
        return (
            self._state is SessionState.CLOSED and self._end_queued and self._events.qsize() <= 1
        )


def start_session(
    transport: Transport,
    *,
    options: ConversationOptions,
    on_error: Callable[[BaseException], object] | None,
    on_close: Callable[[CloseInfo], object] | None,
    ping_interval: float,
    pong_timeout: float | None,
    close_timeout: float,
    call_id: str | None,
    model: str | None,
    config: ev.SessionConfig | None,
    seed: list[str] | None,
    created_timeout: float | None,
) -> ConversationSession:
    """The client's one way to make a session: build it over a connected
    ``transport``, open it, wait for ``session.created`` (unless
    ``created_timeout`` is None: a sideband socket joins an existing session),
    then send the first configuration and the seeded items.

    Nothing is left open on failure: the session (or, if building it failed,
    the transport) is closed before the error propagates.
    """
    try:
        session = ConversationSession(
            transport=transport,
            options=options,
            on_error=on_error,
            on_close=on_close,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            call_id=call_id,
            model=model,
        )
    except BaseException:
        transport.abort()
        transport.shutdown()
        raise
    try:
        if isinstance(config, ev.RealtimeSessionConfig):
            layer = session._layer
            layer.base_tools = list(config.tools or ())
            tools = layer.tools_config()
            config = attrs.evolve(config, tools=tools or None)
            if config == ev.RealtimeSessionConfig():
                config = None
        session.open()
        if created_timeout is not None:
            session.wait_created(created_timeout)
        if config is not None:
            session.send(ev.SessionUpdateEvent(session=config))
        if seed:
            session._enqueue(seed)
    except BaseException:
        session.close()
        raise
    return session
