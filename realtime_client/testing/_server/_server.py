"""FakeRealtimeServer: the offline Realtime service on loopback, and serve_forever()."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import socket
import threading
import time
import typing
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from ...errors import UsageError
from ._config import DEFAULT_MODEL, initial_realtime_session, initial_transcription_session
from ._connection import FakeConnection
from ._handshake import check_request, parse_path, rename_thread
from ._handshake_faults import FailureKind, HandshakeFaults
from ._http import CallRecord, RestRoutes
from ._record import TrafficEntry, load_traffic
from ._replies import Responder
from ._session import SessionLogic
from ._settings import ServerSettings, Transcriber
from ._speech import SpeechEngine
from ._translation import TranslationService

if TYPE_CHECKING:
    from websockets.http11 import Request, Response
    from websockets.sync.server import Server, ServerConnection

__all__ = ["FakeRealtimeServer", "serve_forever"]

log = logging.getLogger("realtime_client.testing")

_CLOSE_TIMEOUT: Final = 2.0
_server_numbers = itertools.count()


@final
class FakeRealtimeServer:
    """An offline stand-in for the OpenAI Realtime service, on a loopback WebSocket.

    It speaks the GA protocol: the same events in the same order, the same
    errors and close codes, with a deterministic "model" you can script. Use it
    as a context manager, or call :meth:`start` and :meth:`stop`::

        with FakeRealtimeServer(speed=20) as server:
            client = ConversationClient(base_url=server.base_url, api_key="sk-test")

    Every connection is its own session; :meth:`wait_for_connection` returns its
    :class:`FakeConnection` handle, which records the traffic and injects faults.

    Args:
        host: The address to bind; keep the default loopback address in tests.
        port: The port; 0 picks a free one (read it from :attr:`port`).
        api_key: The only key accepted (or, on the translation endpoint, a client
            secret this server issued). None accepts any non-empty
            ``Authorization: Bearer`` key (or Azure ``api-key`` header), and no key
            at all on the conversation endpoint, so that
            ``ConversationClient(base_url=server.base_url)`` needs none; the
            translation endpoint and the REST routes always want a key, as the
            service does.
        responder: What the model answers: a callable taking a
            :class:`ResponseRequest` and returning a reply (or a list of them),
            or a list of canned replies used in order on each connection (the
            default model answers once they run out). None: the default model.
        transcribe: The text input transcription "hears" in the user's audio:
            a fixed string, or a callable of (PCM16 audio, sample rate) returning
            the text, or None for a failed transcription. The default model
            also quotes it in its reply. By default a note of the speech's length.
        speech_engine: ``"espeak"``, ``"synthetic"``, or ``"auto"`` (espeak-ng
            when it is installed, else the synthetic voice).
        speed: How much faster than real time the server runs: response pacing
            and ``idle_timeout_ms``. ``math.inf`` streams without waiting.
        max_session_duration: Seconds after which a session is closed with code
            1001 and the service's reason text (which names 60 minutes).
        handshake_delay: Seconds to hold each opening handshake (fault injection).
        record_dir: A directory where each connection's traffic is saved as
            ``server-<tag>-connection-<n>.jsonl`` when it ends. ``<tag>`` is
            random per server (see :attr:`recording_tag`), so servers sharing
            the directory never overwrite each other's recordings. It is
            created if missing.
        replay: A recording (JSONL, as saved by :meth:`FakeConnection.save`) whose
            server side is played back to every client instead of a live session.
        on_connect: Called with each new connection's handle before the session
            starts, on the connection's thread (arm faults here).
        keep_closed: Keep every connection that ended, with its traffic, in
            :attr:`connections` (what tests inspect). ``False`` lets go of one as
            it ends, for a server that runs for ever (``realtime-client serve``):
            its memory then follows the connections open, not all there were.
            Set it before relying on :meth:`wait_for_connection` indices: with
            ``False`` they count the connections still open.

    Raises:
        ValueError: ``speed`` or ``max_session_duration`` is not positive,
            ``replay`` is not a readable recording, or ``record_dir`` cannot be
            created.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        responder: Responder | None = None,
        transcribe: Transcriber | None = None,
        speech_engine: SpeechEngine = "auto",
        speed: float = 1.0,
        max_session_duration: float = 3600.0,
        handshake_delay: float = 0.0,
        record_dir: str | os.PathLike[str] | None = None,
        replay: str | os.PathLike[str] | None = None,
        on_connect: Callable[[FakeConnection], None] | None = None,
        keep_closed: bool = True,
    ) -> None:
        self._settings = ServerSettings(
            api_key=api_key,
            responder=responder,
            transcribe=transcribe,
            speech_engine=speech_engine,
            speed=speed,
            max_session_duration=max_session_duration,
            handshake_delay=handshake_delay,
            record_dir=record_dir,
            replay=replay,
        )
        self._replay: list[TrafficEntry] | None = load_traffic(replay) if replay else None
        self._recording_tag = secrets.token_hex(4)
        if record_dir is not None:
            try:
                Path(record_dir).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ValueError(
                    f"record_dir {os.fspath(record_dir)!r} cannot be created: {exc}"
                ) from exc
        self._host = host
        self._requested_port = port
        self._on_connect = on_connect
        self._keep_closed = keep_closed
        self._number = next(_server_numbers)
        self._lock = threading.Condition()
        self._connections: list[FakeConnection] = []
        self._connection_numbers = itertools.count()
        self._stopping = threading.Event()
        self._sockets: list[ServerConnection] = []  # every connection, to abort on stop()
        self._handshake_faults = HandshakeFaults()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._rest = RestRoutes(self._settings)
        self._translations = TranslationService(
            settings=self._settings,
            replay=self._replay,
            recording_tag=self._recording_tag,
            issued=self._rest.issued,
            forget=None if keep_closed else self._forget_socket,
        )

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeRealtimeServer:
        """Bind and start accepting connections; returns the server itself.

        Raises:
            UsageError: The server was already started.
            OSError: The address cannot be bound.
        """
        from websockets.sync.server import serve

        with self._lock:
            if self._server is not None or self._stopped:
                raise UsageError("a FakeRealtimeServer can be started only once")
            self._server = serve(
                self._handle,
                self._host,
                self._requested_port,
                process_request=self._process_request,
                max_size=None,
                ping_interval=None,
                close_timeout=_CLOSE_TIMEOUT,
                compression=None,
                # A factory, not a class: websockets only calls it (see _http.py).
                create_connection=typing.cast(Any, self._rest.create_connection),
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                name=f"realtime-server-accept-{self._number}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (code 1001), stop listening, and end every thread.

        Idempotent and bounded: it returns within ``timeout`` seconds. Connections
        first get a graceful close (half of ``timeout``, at most
        :data:`_CLOSE_TIMEOUT` seconds, for the closing handshake). A connection
        still open then, typically because its client never reads and the
        server is blocked sending to it, has its socket shut down, which ends
        the blocked send. Every server thread is then joined against the same
        deadline.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            server, thread = self._server, self._thread
        self._stopping.set()
        if server is None:
            return
        # websockets' shutdown() closes connections without a time limit: a send
        # blocked on a client that never reads holds the lock its close() needs.
        # So it runs on a thread of its own, and is unblocked by aborting below.
        with self._lock:
            opened = list(self._sockets)

        def shut_down() -> None:
            # websockets < 17 (the last for Python 3.10 is 16.1) leaves connections open
            # at shutdown(); 17 closes them with 1001 too, and a second close is a no-op.
            for websocket in opened:
                websocket.close(1001)
            server.shutdown()

        closer = threading.Thread(
            target=shut_down, name=f"realtime-server-stop-{self._number}", daemon=True
        )
        closer.start()
        closer.join(min(_CLOSE_TIMEOUT, timeout / 2))
        if closer.is_alive():
            with self._lock:
                sockets = list(self._sockets)
            for websocket in sockets:
                _abort(websocket)
        threads: list[threading.Thread | None] = [closer, thread]
        for connection in self.connections:
            threads.extend(connection._threads)
        threads.extend(self._translations.threads)
        for each in threads:
            if each is not None and each is not threading.current_thread():
                each.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for t in threads if t is not None and t.is_alive()]
        if left:
            log.warning("the offline server's threads did not end in %s s: %s", timeout, left)

    def __enter__(self) -> FakeRealtimeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on.

        Raises:
            UsageError: The server is not started.
        """
        if self._server is None:
            raise UsageError("the server is not started: call start() or use it in a with block")
        return int(self._server.socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        """``ws://127.0.0.1:PORT/v1``: the base URL clients append ``/realtime`` to."""
        return f"ws://{self._host}:{self.port}/v1"

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/v1/realtime``: the endpoint itself."""
        return self.base_url + "/realtime"

    @property
    def recording_tag(self) -> str:
        """The random part of this server's recording names: ``server-<tag>-connection-<n>.jsonl``.

        .. versionadded:: 0.1
        """
        return self._recording_tag

    @property
    def translations(self) -> TranslationService:
        """The translation endpoint (``/v1/realtime/translations``): its connections.

        .. versionadded:: 0.3
        """
        return self._translations

    @property
    def calls(self) -> dict[str, CallRecord]:
        """The WebRTC calls created with ``POST /v1/realtime/calls``, by id (a copy).

        .. versionadded:: 0.3
        """
        return self._rest.calls

    @property
    def connections(self) -> list[FakeConnection]:
        """Every connection so far, in the order they opened (a copy)."""
        with self._lock:
            return list(self._connections)

    def wait_for_connection(self, index: int = 0, timeout: float = 5.0) -> FakeConnection:
        """Wait for the connection with this number (0 is the first) to open.

        Raises:
            TimeoutError: It did not open within ``timeout`` seconds.
        """
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._connections) > index, timeout):
                raise TimeoutError(f"connection {index} did not open within {timeout} s")
            return self._connections[index]

    # --- per connection -------------------------------------------------------------------

    # --- transient handshake failures ------------------------------------------------------

    def fail_handshakes(
        self,
        count: int,
        status: FailureKind = 503,
        *,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        """Make the next ``count`` opening handshakes fail, then accept again.

        For testing connect retries: each failing handshake gets the HTTP error
        ``status`` with the service's JSON error body (429: ``rate_limit_exceeded``),
        or with ``status="reset"`` the TCP connection is cut before any answer.
        ``retry_after`` (seconds) and ``retry_after_ms`` add the ``Retry-After`` and
        ``retry-after-ms`` headers the service uses as retry hints. Calls add up:
        ``fail_handshakes(1, 429, retry_after_ms=200); fail_handshakes(1, "reset")``
        fails the next two handshakes in that order.

        Raises:
            ValueError: A negative count or hint, or a status outside 400-599.

        .. versionadded:: 0.2
        """
        self._handshake_faults.add(
            count, status, retry_after=retry_after, retry_after_ms=retry_after_ms
        )

    @property
    def handshake_attempts(self) -> int:
        """Opening handshakes received so far, failed ones included.

        .. versionadded:: 0.2
        """
        return self._handshake_faults.attempts

    @property
    def failed_handshakes(self) -> int:
        """Handshakes failed on purpose by :meth:`fail_handshakes` so far.

        .. versionadded:: 0.2
        """
        return self._handshake_faults.failed

    def _forget_socket(self, websocket: ServerConnection) -> None:
        """Let go of an ended connection's socket (``keep_closed=False``)."""
        with self._lock:
            self._sockets = [s for s in self._sockets if s is not websocket]

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        rename_thread(connection, f"realtime-server-conn-{self._number}-handshake")
        with self._lock:
            self._sockets.append(connection)
        failure = self._handshake_faults.take()
        if failure is not None and failure.kind == "reset":
            _abort(connection)  # no answer at all: the client sees a reset connection
            return attrs.evolve(failure, kind=503).response()  # never reaches the client
        if failure is not None:
            return failure.response()
        if TranslationService.handles(request.path):
            return self._translations.check_request(request)
        return check_request(
            request,
            api_key=self._settings.api_key,
            delay=self._settings.handshake_delay,
            stopping=self._stopping,
        )

    def _handle(self, websocket: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        assert websocket.request is not None
        if TranslationService.handles(websocket.request.path):
            rename_thread(websocket, f"realtime-server-translation-{self._number}")
            return self._translations.handle(websocket)
        index = next(self._connection_numbers)
        rename_thread(websocket, f"realtime-server-conn-{self._number}-{index}")
        _, query = parse_path(websocket.request.path)
        connection = FakeConnection(
            index=index,
            websocket=websocket,
            settings=self._settings,
            path=websocket.request.path,
            query=query,
        )
        if self._replay is None:
            max_s = self._settings.max_session_duration
            session = (
                initial_transcription_session(max_duration_s=max_s)
                if query.get("intent") == "transcription"
                else initial_realtime_session(
                    model=query.get("model") or DEFAULT_MODEL, max_duration_s=max_s
                )
            )
            connection.logic = SessionLogic(
                settings=self._settings,
                session=session,
                send=connection.send_event,
                connection=connection,
            )
        with self._lock:
            self._connections.append(connection)
            self._lock.notify_all()
        wants = (
            "transcription"
            if query.get("intent")
            else f"model {query.get('model') or DEFAULT_MODEL}"
        )
        log.info("connection %d opened from %s: %s", index, _peer(websocket), wants)
        if self._on_connect is not None:
            try:
                self._on_connect(connection)
            except Exception:
                log.exception("on_connect raised")
        worker = threading.Thread(
            target=connection.run_worker,
            args=(self._replay,),
            name=f"realtime-server-session-{self._number}-{index}",
            daemon=True,
        )
        worker.start()
        recv_thread = getattr(websocket, "recv_events_thread", None)
        connection._threads = [threading.current_thread(), worker]
        if isinstance(recv_thread, threading.Thread):
            connection._threads.append(recv_thread)
        try:
            while True:
                connection.feed(websocket.recv())
        except ConnectionClosed:
            pass
        finally:
            connection.ended(
                websocket.close_code,
                websocket.close_reason or "",
                by_server=self._stopping.is_set(),
            )
            worker.join(_CLOSE_TIMEOUT * 2)
            self._save(connection)
            if not self._keep_closed:  # before mark_closed: a waiter finds it gone
                with self._lock:
                    self._connections = [c for c in self._connections if c is not connection]
                self._forget_socket(websocket)
            connection.mark_closed()
            log.info(
                "connection %d closed: %d events in, %d out, close code %d",
                index,
                len(connection.received),
                len(connection.sent),
                connection.close_code,
            )

    def _save(self, connection: FakeConnection) -> None:
        if self._settings.record_dir is None:
            return
        name = f"server-{self._recording_tag}-connection-{connection.index}.jsonl"
        target = Path(self._settings.record_dir) / name
        try:
            connection.save(target)
        except OSError:
            log.exception("could not save the recording of connection %d", connection.index)


def _peer(websocket: ServerConnection) -> str:
    """The client's address, for the log; a client already gone has none."""
    try:
        address = websocket.remote_address
    except OSError:  # the socket closed before the handler ran
        return "a client that already left"
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)


def _abort(websocket: ServerConnection) -> None:
    """Shut the connection's socket down: a send or receive blocked on it returns at once."""
    with contextlib.suppress(OSError):
        websocket.socket.shutdown(socket.SHUT_RDWR)


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[str], None] | None = None,
    stop_event: threading.Event | None = None,
    api_key: str | None = None,
    speed: float = 1.0,
) -> None:
    """Run a :class:`FakeRealtimeServer` until ``stop_event`` is set or Ctrl-C.

    Args:
        host: The address to bind.
        port: The port; 0 picks a free one.
        ready: Called once with the base URL (``ws://HOST:PORT/v1``) when the
            server accepts connections.
        stop_event: Stops the server when set; None runs until interrupted.
        api_key: The only key accepted; None accepts any key, or none on the
            conversation endpoint (see :class:`FakeRealtimeServer`).
        speed: How much faster than real time responses stream.

    .. versionadded:: 0.1
    """
    stop = stop_event if stop_event is not None else threading.Event()
    with FakeRealtimeServer(
        host=host, port=port, api_key=api_key, speed=speed, keep_closed=False
    ) as server:
        if ready is not None:
            ready(server.base_url)
        while not stop.wait(0.5):  # a short wait keeps Ctrl-C prompt in the main thread
            pass
