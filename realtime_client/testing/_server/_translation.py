"""The offline server's translation endpoint: ``/v1/realtime/translations?model=...``.

:class:`TranslationService` checks the handshake and serves each connection
on the connection's own thread (the translator is paced by the input, so it
needs no timers and no worker). :class:`TranslationConnection` is the handle
tests read: the decoded traffic both ways, the configuration, the recording.
Recording and replay work as for conversation connections (same JSONL format).
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Union, final

from ...errors import ProtocolError
from ...events import UnknownClientEvent, UnknownServerEvent
from ...events import translation as tev
from ._connection import MAX_DURATION_REASON
from ._handshake import _MISSING_KEY, _WRONG_KEY, _bearer, _json_response, parse_path
from ._record import TrafficEntry
from ._settings import ServerSettings
from ._traffic import TrafficLog
from ._translator import Translator, initial_translation_session
from ._util import ServerErrorInfo, encode_error_event, error_event
from ._validate import decode_failure, frame_event_id, unknown_parameters

if TYPE_CHECKING:
    from websockets.http11 import Request, Response
    from websockets.sync.server import ServerConnection

__all__ = ["TRANSLATION_PATH", "TranslationConnection", "TranslationService"]

log = logging.getLogger("realtime_client.testing")

TRANSLATION_PATH: Final = "/v1/realtime/translations"


@final
class TranslationConnection(
    TrafficLog[
        Union[tev.ClientEvent, UnknownClientEvent], Union[tev.ServerEvent, UnknownServerEvent]
    ]
):
    """The server side of one translation connection, for assertions.

    Get it from ``server.translations.wait_for_connection()``.

    .. versionadded:: 0.3
    """

    def __init__(self, *, index: int, websocket: ServerConnection, path: str) -> None:
        super().__init__(path)
        self._index = index
        self._ws = websocket
        self._close_code: int | None = None
        self._sent_close: tuple[int, str] | None = None  # when this side closed first
        self.translator: Translator | None = None

    @property
    def index(self) -> int:
        """The translation connection's number on its server, from 0."""
        return self._index

    @property
    def session(self) -> tev.TranslationSession | None:
        """The session's configuration as it stands (None when replaying)."""
        return self.translator.config if self.translator is not None else None

    @property
    def close_code(self) -> int | None:
        """The close code, once closed: the server's when it closed first (the
        session's limit), else the client's."""
        return self._close_code

    # --- the connection thread ---------------------------------------------------------------

    def send_event(self, event: tev.ServerEvent) -> None:
        """Encode and send one event (the translator's ``send``)."""
        if isinstance(event, tev.ErrorEvent):
            frame = encode_error_event(event)
        else:
            frame = tev.encode_translation_server_event(event)
        self._send_frame(frame, event)

    def _send_frame(self, frame: str, event: tev.ServerEvent | UnknownServerEvent | None) -> None:
        self._ws.send(frame)
        self._record(TrafficEntry(t=self._now(), sender="server", frame=frame))
        if event is not None:
            self._note_sent(event)

    def _receive(self, timeout: float | None = None) -> str:
        frame = self._ws.recv(timeout)
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        self._record(TrafficEntry(t=self._now(), sender="client", frame=text))
        return text

    def handle_frame(self, frame: str) -> None:
        """Decode one client frame and act on it; a bad one gets an ``error`` event."""
        assert self.translator is not None
        try:
            event = tev.decode_translation_client_event(frame)
        except ProtocolError as exc:
            self._error(decode_failure(exc), frame_event_id(frame))
            return
        self._note_received(event)
        event_id = getattr(event, "event_id", None)
        raw = json.loads(frame)
        try:
            if not isinstance(event, UnknownClientEvent):
                unknown = [p for p in unknown_parameters(raw, event) if p != "session.model"]
                if unknown:
                    raise ServerErrorInfo(
                        f"Unknown parameter: '{unknown[0]}'.",
                        code="unknown_parameter",
                        param=unknown[0],
                    )
            self.translator.handle(event, raw)
        except ServerErrorInfo as info:
            self._error(info, event_id)

    def _error(self, info: ServerErrorInfo, client_event_id: str | None) -> None:
        self.send_event(error_event(info, client_event_id=client_event_id))

    def serve(self, max_duration: float) -> None:
        """Serve the session until the client leaves or closes it, or until
        ``max_duration`` seconds have passed: then, as the service does, the
        connection closes with code 1001 and the reason naming the limit."""
        assert self.translator is not None
        expires = time.monotonic() + max_duration
        self.translator.open()
        while not self.translator.closed:
            remaining = expires - time.monotonic()
            if remaining <= 0:
                self._sent_close = (1001, MAX_DURATION_REASON)
                self._ws.close(*self._sent_close)
                return
            try:
                frame = self._receive(remaining)
            except TimeoutError:
                continue  # the limit: closed at the top of the loop
            self.handle_frame(frame)
        self._ws.close(1000, "")

    def replay(self, entries: list[TrafficEntry], speed: float) -> None:
        """Play a recording's server side back, waiting for the client's frames in turn."""
        base = time.monotonic()
        for entry in entries:
            if entry.sender == "client":
                if entry.frame is None:
                    continue
                got = self._receive()
                base = time.monotonic() - entry.t / speed
                self._compare(entry.frame, got)
                continue
            wait = base + entry.t / speed - time.monotonic()
            if wait > 0:
                self._closed.wait(wait)
            if entry.frame is None:
                self._ws.close(entry.close_code or 1000, entry.close_reason)
                return
            try:
                event: Any = tev.decode_translation_server_event(entry.frame)
            except ProtocolError:
                event = None
            self._send_frame(entry.frame, event)
        while True:  # the recording is over: listen until the client leaves
            self._receive()

    def _compare(self, expected: str, got: str | bytes) -> None:
        with contextlib.suppress(ProtocolError):
            self._note_received(tev.decode_translation_client_event(got))
        super()._compare(expected, got)

    def ended(self, code: int | None, reason: str) -> None:
        """Record the close and wake everyone waiting."""
        if self._sent_close is not None:
            code, reason = self._sent_close
        self._close_code = code if code is not None else 1006
        self._record(
            TrafficEntry(
                t=self._now(), sender="server", close_code=self._close_code, close_reason=reason
            )
        )
        with self._cond:
            self._closed.set()
            self._cond.notify_all()


@final
class TranslationService:
    """The translation endpoint of one :class:`FakeRealtimeServer` (``server.translations``).

    .. versionadded:: 0.3
    """

    def __init__(
        self,
        *,
        settings: ServerSettings,
        replay: list[TrafficEntry] | None,
        recording_tag: str,
        on_connect: Callable[[TranslationConnection], None] | None = None,
        issued: Callable[[str], bool] = lambda key: False,
        forget: Callable[[ServerConnection], None] | None = None,
    ) -> None:
        self._settings = settings
        self._issued = issued  # a client secret the server's REST side issued
        # Given (FakeRealtimeServer(keep_closed=False)): an ended connection is let
        # go of here, and its socket through this. None keeps every connection.
        self._forget = forget
        self._replay = replay
        self._tag = recording_tag
        self._on_connect = on_connect
        self._cond = threading.Condition()
        self._connections: list[TranslationConnection] = []
        self._numbers = itertools.count()
        self._threads: list[threading.Thread] = []

    @property
    def connections(self) -> list[TranslationConnection]:
        """Every translation connection so far, in order (a copy)."""
        with self._cond:
            return list(self._connections)

    @property
    def threads(self) -> list[threading.Thread]:
        """The connection threads, for the server to join on stop."""
        with self._cond:
            return list(self._threads)

    def wait_for_connection(self, index: int = 0, timeout: float = 5.0) -> TranslationConnection:
        """Wait for the translation connection with this number (0 is the first).

        Raises:
            TimeoutError: It did not open within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._connections) > index, timeout):
                raise TimeoutError(
                    f"translation connection {index} did not open within {timeout} s"
                )
            return self._connections[index]

    @staticmethod
    def handles(path: str) -> bool:
        """Whether a request path is the translation endpoint's."""
        return parse_path(path)[0] == TRANSLATION_PATH

    def check_request(self, request: Request) -> Response | None:
        """Answer a bad translation handshake with its HTTP error; None lets it open."""
        _, query = parse_path(request.path)
        key = _bearer(request)
        expected = self._settings.api_key
        if key is None:
            return _json_response(401, "Unauthorized", _MISSING_KEY, code="missing_api_key")
        if (
            expected is not None
            and not hmac.compare_digest(key.encode(), expected.encode())
            and not self._issued(key)
        ):
            return _json_response(401, "Unauthorized", _WRONG_KEY, code="invalid_api_key")
        if not query.get("model"):
            return _json_response(
                400,
                "Bad Request",
                "Missing required parameter: 'model'.",
                code="missing_required_parameter",
                param="model",
            )
        return None

    def handle(self, websocket: ServerConnection) -> None:
        """Serve one translation connection on the calling (connection) thread."""
        from websockets.exceptions import ConnectionClosed

        assert websocket.request is not None
        path = websocket.request.path
        _, query = parse_path(path)
        with self._cond:
            index = next(self._numbers)
            connection = TranslationConnection(index=index, websocket=websocket, path=path)
            if self._replay is None:
                connection.translator = Translator(
                    settings=self._settings,
                    session=initial_translation_session(
                        query["model"], self._settings.max_session_duration
                    ),
                    send=connection.send_event,
                )
            self._connections.append(connection)
            self._threads.append(threading.current_thread())
            self._cond.notify_all()
        if self._on_connect is not None:
            try:
                self._on_connect(connection)
            except Exception:
                log.exception("on_connect raised")
        try:
            if self._replay is not None:
                connection.replay(self._replay, self._settings.speed)
            else:
                connection.serve(self._settings.max_session_duration)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("the offline server failed on translation connection %d", index)
            websocket.close(1011, "Internal server error")
        finally:
            if self._forget is not None:  # before ended(): a waiter finds it gone
                with self._cond:
                    me = threading.current_thread()
                    self._connections = [c for c in self._connections if c is not connection]
                    self._threads = [t for t in self._threads if t is not me]
                self._forget(websocket)
            connection.ended(websocket.close_code, websocket.close_reason or "")
            self._save(connection)

    def _save(self, connection: TranslationConnection) -> None:
        if self._settings.record_dir is None:
            return
        name = f"server-{self._tag}-translation-{connection.index}.jsonl"
        try:
            connection.save(Path(self._settings.record_dir) / name)
        except OSError:
            log.exception("could not save the recording of translation %d", connection.index)
