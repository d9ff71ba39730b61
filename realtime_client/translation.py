"""TranslationSession: one open live speech translation session.

Made by :meth:`ConversationClient.start_translation
<realtime_client.ConversationClient.start_translation>`. It runs on the same
machinery as a conversation: a reader thread (``realtime-reader-<n>``) that
decodes each frame with the translation codec, runs the callbacks and queues
the event, and a writer thread (``realtime-writer-<n>``) that sends what
callers queue and pings when the server falls silent. See docs/translation.md.

The session depends on the core in one place, :meth:`TranslationSession._start_threads`
and the imports below: ``Transport``, ``Outbox``, ``run_reader``,
``run_writer``, ``next_thread_number``, ``CallbackRegistry`` and ``CloseInfo``.

.. versionadded:: 0.3
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import typing
from collections.abc import Callable
from typing import Any, Final, TypeVar

from ._callbacks import CallbackRegistry, CloseInfo
from ._translation_receive import END, AnyTranslationEvent, TranslationReceiving
from ._translation_setup import (
    NoiseReductionArg,
    TranscriptionArg,
    build_update,
)
from ._transport import Transport
from ._workers import Outbox, next_thread_number, run_reader, run_writer
from .errors import (
    ConnectionClosedError,
    ProtocolError,
    RealtimeError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
    TransportError,
    UsageError,
)
from .events import translation as tev
from .session import SessionState

__all__ = ["TranslationSession", "open_translation"]

_log = logging.getLogger("realtime_client")

F = TypeVar("F", bound=Callable[..., object])
_ABORT_GRACE: Final = 1.0
_SEND_QUEUE: Final = 1024


@typing.final
class TranslationSession(TranslationReceiving):
    """An open translation session: send audio, receive translated speech and text.

    Use it as a context manager; leaving the block closes it politely
    (``session.close``, then the server's ``session.closed``, then the socket).

    Args:
        transport: The connection (already connected).
        model: The session's model (it is fixed at creation).
        accumulate: Keep :attr:`source_transcript`, :attr:`target_transcript`
            and :attr:`translated_audio`; ``False`` for long sessions that
            consume the deltas themselves.
        buffer_events: Queue events for :meth:`events`; ``False`` for
            callback-only applications.
        on_error: Called with every reported error: a failing callback, a bad
            frame (:class:`~realtime_client.ProtocolError`), a server ``error``
            event (as :class:`~realtime_client.ServerError`), the terminal error.
        on_close: Called once, last, with a :class:`~realtime_client.CloseInfo`.
        ping_interval: Seconds of server silence after which a ping is sent.
        pong_timeout: Seconds within which the server must answer a ping; None
            never gives up.
        close_timeout: Default bound, in seconds, of :meth:`close`.

    .. versionadded:: 0.3
    """

    def __init__(
        self,
        *,
        transport: Transport,
        model: str,
        accumulate: bool = True,
        buffer_events: bool = True,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
        ping_interval: float = 20.0,
        pong_timeout: float | None = 20.0,
        close_timeout: float = 5.0,
    ) -> None:
        if ping_interval <= 0:
            raise ValueError("ping_interval must be positive")
        if pong_timeout is not None and pong_timeout <= 0:
            raise ValueError("pong_timeout must be positive (or None)")
        if close_timeout < 0:
            raise ValueError("close_timeout must not be negative")
        self._transport = transport
        self._model = model
        self._accumulate = accumulate
        self._buffer = buffer_events
        self._close_timeout = close_timeout
        self._callbacks = CallbackRegistry()
        if on_error is not None:
            self._callbacks.on_error(on_error)
        if on_close is not None:
            self._callbacks.on_close(on_close)
        self._lock = threading.Lock()
        self._state = SessionState.NEW
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._created = threading.Event()
        self._created_seen = False
        self._refusal: ServerError | None = None
        self._confirmed = threading.Event()  # session.closed arrived, or the reader ended
        self._closed_event = threading.Event()
        self._closer: threading.Thread | None = None
        self._end_pending = False
        self._close_info: CloseInfo | None = None
        self._peer_close: ConnectionClosedError | None = None
        self._writer_error: TransportError | None = None
        self._terminal: RealtimeError | None = None
        self._config: tev.TranslationSession | None = None
        self._source: list[str] = []
        self._target: list[str] = []
        self._audio = bytearray()
        self._data_lock = threading.Lock()
        self._outbox = Outbox(_SEND_QUEUE)
        self._reader, self._writer = self._start_threads(ping_interval, pong_timeout)

    def _start_threads(
        self, ping_interval: float, pong_timeout: float | None
    ) -> tuple[threading.Thread, threading.Thread]:
        """Build (not start) the reader and writer on the core's loop bodies."""
        number = next_thread_number()
        heard = getattr(self._transport, "last_received", None)
        reader = threading.Thread(
            target=run_reader,
            args=(self._transport, self._handle_frame, self._reader_ended),
            name=f"realtime-reader-{number}",
            daemon=True,
        )
        writer = threading.Thread(
            target=run_writer,
            args=(self._outbox, self._transport),
            kwargs={
                "ping_interval": ping_interval,
                "on_failure": self._writer_failed,
                "pong_timeout": pong_timeout,
                "last_received": heard if callable(heard) else None,
            },
            name=f"realtime-writer-{number}",
            daemon=True,
        )
        return reader, writer

    def __repr__(self) -> str:
        return f"<TranslationSession {self._state.value} id={self.session_id!r}>"

    # --- state ---------------------------------------------------------------------------------

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
        """How the session ended, once it has."""
        return self._close_info

    @property
    def model(self) -> str:
        """The session's model."""
        return self._model

    @property
    def config(self) -> tev.TranslationSession | None:
        """The configuration the server last reported (``session.created`` / ``.updated``)."""
        return self._config

    @property
    def session_id(self) -> str | None:
        """The server's session id, once ``session.created`` arrived."""
        return self._config.id if self._config is not None else None

    @property
    def language(self) -> str | None:
        """The target language the server last reported."""
        config = self._config
        output = config.audio.output if config is not None else None
        return output.language if output is not None else None

    def _accumulated(self) -> None:
        if not self._accumulate:
            raise UsageError("this session does not accumulate (accumulate=False): use the deltas")

    @property
    def source_transcript(self) -> str:
        """The source-language transcript so far (input transcription must be on).

        Raises:
            UsageError: The session was made with ``accumulate=False``.
        """
        self._accumulated()
        with self._data_lock:
            return "".join(self._source)

    @property
    def target_transcript(self) -> str:
        """The translated transcript so far.

        Raises:
            UsageError: The session was made with ``accumulate=False``.
        """
        self._accumulated()
        with self._data_lock:
            return "".join(self._target)

    @property
    def translated_audio(self) -> bytes:
        """The translated speech so far, as PCM16 (24 kHz mono unless the deltas said otherwise).

        Raises:
            UsageError: The session was made with ``accumulate=False``.
        """
        self._accumulated()
        with self._data_lock:
            return bytes(self._audio)

    # --- lifecycle -----------------------------------------------------------------------------

    def open(self) -> TranslationSession:
        """Start the threads; returns the session.

        Raises:
            SessionClosedError: It was closed (sessions cannot be reopened).
            UsageError: It is already open.
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

    def __enter__(self) -> TranslationSession:
        if self._state is SessionState.NEW:
            self.open()
        elif self._state is SessionState.CLOSED:
            raise SessionClosedError("a closed session cannot be reopened")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_created(self, timeout: float) -> None:
        """Wait for ``session.created``.

        Raises:
            RealtimeTimeoutError: It did not come within ``timeout`` seconds.
            ConnectionClosedError: The connection ended first (with the
                server's reason, if it sent an ``error``).
            SessionClosedError: The session was closed first.
        """
        if not self._created.wait(timeout):
            raise RealtimeTimeoutError(
                f"the server sent no session.created within {timeout:g} s of connecting"
            )
        if self._created_seen:
            return
        info = self._close_info
        error = info.error if info is not None else None
        if isinstance(error, ConnectionClosedError) and self._refusal is not None:
            raise ConnectionClosedError(
                f"{error}; the server said: {self._refusal}", code=error.code, reason=error.reason
            ) from error
        if error is not None:
            raise error
        raise SessionClosedError("the session closed before the server created it")

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the session has closed; whether it had within ``timeout``."""
        return self._closed_event.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Finish the session: idempotent, safe from any thread, bounded in time.

        Sends ``session.close`` (queued audio goes first), waits for the
        server's ``session.closed`` (the last translated output arrives before
        it), then closes the WebSocket and joins the threads. A server that
        does not answer within ``timeout`` seconds is cut off. Events received
        stay available to iteration, which then ends; ``on_close`` runs once, last.

        Args:
            timeout: Bound in seconds for the polite part (default: the
                session's ``close_timeout``).
        """
        budget = self._close_timeout if timeout is None else max(timeout, 0.0)
        current = threading.current_thread()
        with self._lock:
            state = self._state
            if state in (SessionState.OPEN, SessionState.NEW):
                self._state = SessionState.CLOSING
                self._closer = current
        if state is SessionState.CLOSING:
            if current not in (self._closer, self._reader, self._writer):
                self._closed_event.wait(budget + 4 * _ABORT_GRACE)
            return
        if state is SessionState.CLOSED:
            return
        deadline = time.monotonic() + budget
        if state is SessionState.OPEN:
            self._finish_politely(deadline, on_reader=current is self._reader)
            self._outbox.stop()
            if not self._join(self._writer, deadline):
                self._outbox.stop(drop=True)
                self._transport.abort()
                self._join(self._writer, time.monotonic() + _ABORT_GRACE)
            self._transport.send_close()
            if not self._join(self._reader, deadline):
                self._transport.abort()
                self._join(self._reader, time.monotonic() + _ABORT_GRACE)
        else:
            self._outbox.stop(drop=True)
        self._transport.shutdown()
        peer = self._peer_close
        self._close_info = CloseInfo(
            code=peer.code if peer is not None else None,
            reason=peer.reason if peer is not None else "",
            error=self._terminal,
        )
        if current is self._reader:
            # Closed from a callback: the event being dispatched is queued after this
            # returns, so the reader queues the end once it is done with it.
            self._end_pending = True
        else:
            self._events.put(END)
        with self._lock:
            self._state = SessionState.CLOSED
        self._closed_event.set()
        self._created.set()
        self._confirmed.set()
        if self._terminal is not None:
            self._callbacks.report_error(self._terminal)
        self._callbacks.fire_close(self._close_info)

    def _finish_politely(self, deadline: float, *, on_reader: bool) -> None:
        """Send ``session.close`` and wait for ``session.closed``, within ``deadline``."""
        if not self._created_seen or self._confirmed.is_set():
            return
        try:
            frame = tev.encode_translation_client_event(tev.SessionCloseEvent())
            self._outbox.put([frame], max(deadline - time.monotonic(), 0.0))
        except (SessionClosedError, RealtimeTimeoutError):
            return
        if on_reader:
            return  # session.closed would arrive on this very thread: do not wait for it
        if not self._confirmed.wait(max(deadline - time.monotonic(), 0.0)):
            _log.warning("the server did not confirm session.close in time; closing anyway")

    @staticmethod
    def _join(thread: threading.Thread, deadline: float) -> bool:
        if thread is threading.current_thread():
            return False
        if thread.is_alive():
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not thread.is_alive()

    # --- sending -------------------------------------------------------------------------------

    def send(self, event: tev.ClientEvent, *, timeout: float | None = None) -> None:
        """Send one translation client event (encoded here, sent by the writer).

        Args:
            event: The event.
            timeout: Seconds to wait for room in the send queue (``None``: as
                long as it takes; a close wakes the wait).

        Raises:
            ProtocolError: ``event`` is not a valid translation client event.
            SessionClosedError: The session is closing or closed.
            RealtimeTimeoutError: The send queue stayed full for ``timeout`` seconds.
        """
        frame = tev.encode_translation_client_event(event)
        if self._state is not SessionState.OPEN:
            raise SessionClosedError("the session is not open: nothing can be sent")
        self._outbox.put([frame], timeout)

    def send_audio(
        self, audio: bytes | bytearray | memoryview, *, timeout: float | None = None
    ) -> None:
        """Append input audio: 24 kHz mono PCM16 (200 ms chunks translate best).

        Keep sending silence while nobody speaks: the server treats the stream
        as continuous.

        Raises:
            TypeError: ``audio`` is not bytes.
            ValueError: ``audio`` is empty or has an odd number of bytes.
            SessionClosedError: The session is closing or closed.
            RealtimeTimeoutError: The send queue stayed full for ``timeout`` seconds.
        """
        if not isinstance(audio, (bytes, bytearray, memoryview)):
            raise TypeError(f"audio must be PCM16 bytes, got {type(audio).__name__}")
        data = bytes(audio)
        if not data or len(data) % 2:
            raise ValueError(
                f"audio must be a non-empty whole number of samples, got {len(data)} bytes"
            )
        self.send(tev.SessionInputAudioBufferAppendEvent(audio=data), timeout=timeout)

    def update(
        self,
        *,
        language: str | None = None,
        input_transcription: TranscriptionArg | bool = False,
        noise_reduction: NoiseReductionArg | bool = False,
    ) -> None:
        """Change the target language, the source transcription or the noise reduction.

        Only the arguments given are sent; ``None`` for ``input_transcription``
        or ``noise_reduction`` turns it off. The model cannot change. The
        server answers with ``session.updated`` (see :attr:`config`) or an
        ``error``.

        Raises:
            ValueError: An argument is not valid, or none was given.
            SessionClosedError: The session is closing or closed.
        """
        given: dict[str, Any] = {}
        if language is not None:
            given["language"] = language
        if input_transcription is not False:
            given["input_transcription"] = input_transcription
        if noise_reduction is not False:
            given["noise_reduction"] = noise_reduction
        self.send(build_update(**given))

    # --- receiving -----------------------------------------------------------------------------

    def on_close(self, fn: F) -> F:
        """Call ``fn(close_info)`` once the session has closed (at once if it has)."""
        with self._lock:
            done = self._state is SessionState.CLOSED
            if not done:
                self._callbacks.on_close(fn)
        if done and self._close_info is not None:
            fn(self._close_info)
        return fn

    # --- the reader's side ---------------------------------------------------------------------

    def _handle_frame(self, frame: str | bytes) -> None:
        try:
            self._handle_one(frame)
        finally:
            if self._end_pending:  # closed from a callback: the end follows this event
                self._end_pending = False
                self._events.put(END)

    def _handle_one(self, frame: str | bytes) -> None:
        if self._state is SessionState.CLOSED:
            return
        try:
            event = tev.decode_translation_server_event(frame)
        except ProtocolError as exc:
            _log.warning("skipped a bad frame from the server: %s", exc)
            self._callbacks.report_error(exc)
            return
        self._observe(event)
        self._callbacks.dispatch(event)
        if self._buffer:
            self._events.put(event)

    def _observe(self, event: AnyTranslationEvent) -> None:
        if isinstance(event, (tev.SessionCreatedEvent, tev.SessionUpdatedEvent)):
            self._config = event.session
            if isinstance(event, tev.SessionCreatedEvent):
                self._created_seen = True
                self._created.set()
        elif isinstance(event, tev.SessionClosedEvent):
            self._confirmed.set()
        elif isinstance(event, tev.ErrorEvent):
            error = ServerError.from_event(event)
            if not self._created_seen:
                self._refusal = error
            self._callbacks.report_error(error)
        elif self._accumulate:
            with self._data_lock:
                if isinstance(event, tev.SessionOutputTranscriptDeltaEvent):
                    self._target.append(event.delta)
                elif isinstance(event, tev.SessionInputTranscriptDeltaEvent):
                    self._source.append(event.delta)
                elif isinstance(event, tev.SessionOutputAudioDeltaEvent):
                    self._audio += event.delta

    def _reader_ended(self, exc: ConnectionClosedError) -> None:
        try:
            self._connection_ended(exc)
        finally:
            if self._end_pending:
                self._end_pending = False
                self._events.put(END)

    def _connection_ended(self, exc: ConnectionClosedError) -> None:
        if exc.code is not None and self._peer_close is None:
            self._peer_close = exc
        self._confirmed.set()
        with self._lock:
            unexpected = self._state is SessionState.OPEN
        if not unexpected:
            return
        error: RealtimeError | None
        if self._writer_error is not None:
            error = ConnectionClosedError(
                f"the connection failed while sending: {self._writer_error}"
            )
            error.__cause__ = self._writer_error
        elif exc.code == 1000:
            error = None
        else:
            error = exc
        self._terminal = error
        if error is not None:
            _log.warning("translation session ended: %s", error)
        self.close()

    def _writer_failed(self, exc: TransportError) -> None:
        self._writer_error = exc
        self._outbox.stop(drop=True)
        self._transport.abort()


def open_translation(
    connect: Callable[[], Transport],
    *,
    model: str,
    update: tev.SessionUpdateEvent,
    connect_timeout: float,
    **session_args: Any,
) -> TranslationSession:
    """Connect, wait for ``session.created``, send the first ``session.update``.

    ``update`` was built (and checked) before this is called, so bad arguments
    never open a socket. On any failure the session is closed before raising.
    """
    session = TranslationSession(transport=connect(), model=model, **session_args)
    try:
        session.open()
        session.wait_created(connect_timeout)
        session.send(update)
    except BaseException:
        session.close()
        raise
    return session
