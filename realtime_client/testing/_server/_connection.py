"""One client connection: its public handle, its worker thread, and fault injection.

Each connection has two threads of the server's own. The connection thread
(``realtime-server-conn-<n>``, started by ``websockets``) only reads frames and
queues them. The worker (``realtime-server-session-<n>``) does everything else
in order: it decodes, runs the session logic, paces responses, fires timers and
injected faults, and sends every frame. One thread owning the session means no
locks around protocol state, and a deterministic order of events.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, Union, final

from ...errors import ProtocolError
from ...events import (
    ClientEvent,
    ServerEvent,
    SessionConfig,
    UnknownClientEvent,
    UnknownServerEvent,
    decode_client_event,
    decode_server_event,
    encode_server_event,
)
from ._record import TrafficEntry
from ._traffic import TrafficLog
from ._util import ServerErrorInfo, encode_error_event, error_event
from ._validate import decode_failure, frame_event_id, unknown_parameters

if TYPE_CHECKING:
    from websockets.sync.server import ServerConnection as WebSocket

    from ._session import SessionLogic
    from ._settings import ServerSettings

__all__ = ["FakeConnection", "MAX_DURATION_REASON"]

log = logging.getLogger("realtime_client.testing")

MAX_DURATION_REASON: Final = "Your session hit the maximum duration of 60 minutes."
"""The close reason the service gives when a session reaches its maximum duration."""


class _Closed:
    """Queued when the connection has closed: the worker ends."""


class _Stop(Exception):
    """Unwinds the worker once the connection is closing."""


_Command = Callable[[], None]
_Inbound = Union[str, bytes, _Command, _Closed]


@final
class FakeConnection(
    TrafficLog[Union[ClientEvent, UnknownClientEvent], Union[ServerEvent, UnknownServerEvent]]
):
    """The server side of one client connection, for assertions and fault injection.

    Get it from :meth:`FakeRealtimeServer.wait_for_connection` or
    :attr:`FakeRealtimeServer.connections`. Its methods are safe from any thread;
    faults take effect on the connection's worker, in order with what it sends.
    Pass ``after="<event type>"`` to a fault to trigger it right after the next
    event of that type goes out (for instance mid-response, after
    ``response.output_audio.delta``).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        index: int,
        websocket: WebSocket,
        settings: ServerSettings,
        path: str,
        query: dict[str, str],
    ) -> None:
        super().__init__(path)
        self._index = index
        self._ws = websocket
        self._settings = settings
        self._query = query
        self._inbound: queue.Queue[_Inbound] = queue.Queue()
        self._held: collections.deque[str | bytes] = collections.deque()
        self._errors: list[BaseException] = []
        self._triggers: list[tuple[str, _Command]] = []
        self._stall_until: float | None = None
        self._silenced = False
        self._server_closed = False
        self._sent_close: tuple[int, str] | None = None
        self._close_code: int | None = None
        self._close_reason = ""
        self.logic: SessionLogic | None = None
        self._threads: list[threading.Thread] = []  # set by the server; joined on stop()

    # --- what tests read ----------------------------------------------------------------

    @property
    def index(self) -> int:
        """The connection's number on its server, from 0."""
        return self._index

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (``model``, ``intent``, ``call_id``)."""
        return dict(self._query)

    @property
    def session(self) -> SessionConfig | None:
        """The session's configuration as it stands (None when replaying)."""
        return self.logic.config if self.logic is not None else None

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by the responder on this connection."""
        with self._cond:
            return list(self._errors)

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._closed.is_set()

    @property
    def close_code(self) -> int | None:
        """The close code, once closed (1006 when the TCP connection just ended)."""
        return self._close_code

    @property
    def close_reason(self) -> str:
        """The close reason, once closed."""
        return self._close_reason

    # --- fault injection ------------------------------------------------------------------

    def _schedule(self, action: _Command, after: str | None) -> None:
        if after is None:
            self._inbound.put(action)
        else:
            self._inbound.put(lambda: self._triggers.append((after, action)))

    def close(self, code: int = 1000, reason: str = "", *, after: str | None = None) -> None:
        """Close the WebSocket with ``code`` and ``reason`` (now, or after an event type)."""
        self._schedule(lambda: self._close_now(code, reason), after)

    def drop(self, *, after: str | None = None) -> None:
        """Cut the TCP connection without a close frame: the client sees an abnormal end."""

        def drop() -> None:
            self._server_closed = True
            with contextlib.suppress(OSError):
                self._ws.socket.shutdown(socket.SHUT_RDWR)
            raise _Stop

        self._schedule(drop, after)

    def stall(self, seconds: float | None = None, *, after: str | None = None) -> None:
        """Stop sending and handling events for ``seconds`` (None: until :meth:`resume`).

        Client frames that arrive meanwhile are kept and handled, in order, afterwards.
        """

        def stall() -> None:
            self._stall_until = math.inf if seconds is None else time.monotonic() + seconds

        self._schedule(stall, after)

    def silence(self, *, after: str | None = None) -> None:
        """Go quiet for good: send nothing more and stop answering pings.

        The connection stays open, as with a peer that vanished without closing
        (a dead NAT entry, a frozen server): only the client's own ping timeout
        can notice. Client frames are still read and kept, never answered.

        .. versionadded:: 0.2
        """

        def stop_pongs() -> None:
            from websockets.frames import Opcode

            protocol = self._ws.protocol
            send_frame = protocol.send_frame
            if getattr(send_frame, "_no_pongs", False):
                return

            def no_pongs(frame: Any) -> None:
                if frame.opcode is not Opcode.PONG:
                    send_frame(frame)

            no_pongs._no_pongs = True  # type: ignore[attr-defined]
            protocol.send_frame = no_pongs  # type: ignore[method-assign]

        def silence() -> None:
            stop_pongs()
            self._silenced = True
            self._stall_until = math.inf

        if after is None:
            # Pongs are sent by websockets' own receiving thread, not by the worker
            # that runs scheduled actions: stop them before returning, so that a
            # ping sent after this call is never answered, however busy the machine.
            stop_pongs()
        self._schedule(silence, after)

    def resume(self) -> None:
        """End a stall, or a reply held by :meth:`pause_reply`."""

        def resume() -> None:
            if not self._silenced:  # silence() is for good
                self._stall_until = None
            if self.logic is not None:
                self.logic.resume_reply()

        self._inbound.put(resume)

    def pause_reply(self, *, at_audio_ms: int) -> None:
        """Hold the reply being streamed (or the next) once it has sent ``at_audio_ms`` of audio.

        The audio delta that reaches ``at_audio_ms`` goes out, then nothing more of
        the reply until it is interrupted: ``response.cancel``, a truncation of
        its item, or speech with server VAD (or :meth:`resume`). Client events
        are handled meanwhile, so an interruption lands at a known point of the
        reply however slow the test machine is (see "Testing barge-in" in the
        testing guide).

        Raises:
            ValueError: ``at_audio_ms`` is negative.

        .. versionadded:: 0.2
        """
        if at_audio_ms < 0:
            raise ValueError(f"at_audio_ms must be 0 or more, got {at_audio_ms}")

        def pause() -> None:
            if self.logic is not None:
                self.logic.pause_reply(at_audio_ms)

        self._inbound.put(pause)

    def send_raw(self, frame: str | bytes, *, after: str | None = None) -> None:
        """Send one frame exactly as given, valid or not (for hostile-input tests)."""
        self._schedule(lambda: self._send_frame(frame, None), after)

    def send(self, event: ServerEvent | UnknownServerEvent, *, after: str | None = None) -> None:
        """Send one server event of your choosing, in order with the session's own."""
        text = encode_server_event(event)  # fails here, in the caller, if the event is bad
        self._schedule(lambda: self._send_frame(text, event), after)

    # --- worker side ------------------------------------------------------------------------

    def _note_error(self, exc: BaseException) -> None:
        with self._cond:
            self._errors.append(exc)

    def _send_frame(
        self, frame: str | bytes, event: ServerEvent | UnknownServerEvent | None
    ) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(frame)
        except (ConnectionClosed, OSError):
            raise _Stop from None
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        self._record(
            TrafficEntry(
                t=self._now(), sender="server", frame=text, binary=isinstance(frame, bytes)
            )
        )
        if event is None:
            return
        self._note_sent(event)
        for trigger in [t for t in self._triggers if t[0] == event.type]:
            self._triggers.remove(trigger)
            trigger[1]()

    def send_event(self, event: ServerEvent) -> None:
        """Encode and send one event (the session logic's ``send``)."""
        self._send_frame(encode_server_event(event), event)

    def _close_now(self, code: int, reason: str) -> None:
        self._server_closed = True
        self._sent_close = (code, reason)
        try:
            self._ws.close(code, reason)
        except Exception:
            log.debug("closing connection %d failed", self._index, exc_info=True)
        raise _Stop

    def _error(self, info: ServerErrorInfo, client_event_id: str | None) -> None:
        event = error_event(info, client_event_id=client_event_id)
        self._send_frame(encode_error_event(event), event)

    def _handle_frame(self, frame: str | bytes) -> None:
        assert self.logic is not None
        try:
            event = decode_client_event(frame)
        except ProtocolError as exc:
            self._error(decode_failure(exc), frame_event_id(frame))
            return
        self._note_received(event)
        event_id = getattr(event, "event_id", None)
        if not isinstance(event, UnknownClientEvent):
            unknown = unknown_parameters(json.loads(frame), event)
            if unknown:
                self._error(
                    ServerErrorInfo(
                        f"Unknown parameter: '{unknown[0]}'.",
                        code="unknown_parameter",
                        param=unknown[0],
                    ),
                    event_id,
                )
                return
        try:
            self.logic.handle(event)
        except ServerErrorInfo as info:
            self._error(info, event_id)

    def _stalled(self) -> bool:
        if self._stall_until is not None and time.monotonic() >= self._stall_until:
            self._stall_until = None
        return self._stall_until is not None

    def _next_inbound(self, timeout: float | None) -> _Inbound | None:
        if self._held and not self._stalled():
            return self._held.popleft()
        try:
            return self._inbound.get(timeout=timeout)
        except queue.Empty:
            return None

    def run_worker(self, replay: list[TrafficEntry] | None) -> None:
        """The worker thread's body: serve the session (or replay a recording) until closed."""
        try:
            if replay is not None:
                self._replay(replay)
            else:
                self._serve()
        except _Stop:
            pass
        except Exception:
            log.exception("the offline server failed on connection %d", self._index)
            with contextlib.suppress(_Stop):
                self._close_now(1011, "Internal server error")

    def _serve(self) -> None:
        assert self.logic is not None
        logic = self.logic
        logic.open()
        expires = self._opened + self._settings.max_session_duration
        while True:
            stalled = self._stalled()
            deadlines = [expires]
            if self._stall_until is not None:
                deadlines.append(self._stall_until)
            if not stalled:
                for deadline in (logic.next_due(), logic.idle_deadline):
                    if deadline is not None:
                        deadlines.append(deadline)
            message = self._next_inbound(max(0.0, min(deadlines) - time.monotonic()))
            if isinstance(message, _Closed):
                return
            if callable(message):
                message()
            elif message is not None:
                if self._stalled():
                    self._held.append(message)
                else:
                    self._handle_frame(message)
            now = time.monotonic()
            if now >= expires:
                self._close_now(1001, MAX_DURATION_REASON)
            if self._stalled():
                continue
            if logic.idle_deadline is not None and now >= logic.idle_deadline:
                logic.idle_timeout()
            logic.pump()

    def _replay(self, entries: list[TrafficEntry]) -> None:
        base = time.monotonic()
        for entry in entries:
            if entry.sender == "client":
                if entry.frame is None:
                    continue
                frame = self._wait_client_frame()
                base = time.monotonic() - entry.t / self._settings.speed
                self._compare(entry.frame, frame)
                continue
            due = base + entry.t / self._settings.speed
            while (wait := due - time.monotonic()) > 0:
                try:
                    message = self._inbound.get(timeout=wait)
                except queue.Empty:
                    continue
                self._take_early(message)
            if entry.frame is None:
                self._close_now(entry.close_code or 1000, entry.close_reason)
                return
            try:
                event: ServerEvent | UnknownServerEvent | None = decode_server_event(entry.frame)
            except ProtocolError:
                event = None  # a recorded hostile frame: sent as it was
            self._send_frame(entry.frame.encode() if entry.binary else entry.frame, event)
        while True:  # the recording is over: keep listening until the client leaves
            self._take_early(self._inbound.get())

    def _take_early(self, message: _Inbound) -> None:
        if isinstance(message, _Closed):
            raise _Stop
        if callable(message):
            message()
        else:
            self._held.append(message)

    def _wait_client_frame(self) -> str | bytes:
        while not self._held:
            self._take_early(self._inbound.get())
        frame = self._held.popleft()
        try:
            event = decode_client_event(frame)
        except ProtocolError:
            return frame
        self._note_received(event)
        return frame

    def feed(self, frame: str | bytes) -> None:
        """Queue a frame the client sent (called by the connection thread)."""
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        self._record(
            TrafficEntry(
                t=self._now(), sender="client", frame=text, binary=isinstance(frame, bytes)
            )
        )
        self._inbound.put(frame)

    def ended(self, code: int | None, reason: str, *, by_server: bool) -> None:
        """The connection is over: record the close, stop the worker."""
        if self._sent_close is None and by_server:
            # stop() closed it through websockets (code 1001): report that close,
            # not the client's answer to it, unless the client had closed first.
            protocol = self._ws.protocol
            if protocol.close_sent is not None and not protocol.close_rcvd_then_sent:
                self._sent_close = (protocol.close_sent.code, protocol.close_sent.reason)
        if self._sent_close is not None:  # the server closed first: report what it sent
            code, reason = self._sent_close
        self._close_code = int(code) if code is not None else 1006
        self._close_reason = reason
        sender: Literal["client", "server"] = (
            "server" if (self._server_closed or by_server) else "client"
        )
        self._record(
            TrafficEntry(
                t=self._now(), sender=sender, close_code=self._close_code, close_reason=reason
            )
        )
        self._inbound.put(_Closed())

    def mark_closed(self) -> None:
        """The worker has ended: wake everyone waiting on this connection."""
        with self._cond:
            self._closed.set()
            self._cond.notify_all()
