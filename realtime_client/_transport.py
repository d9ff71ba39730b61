"""The transport interface and its WebSocket implementation.

The session talks to a :class:`Transport`; tests swap in
:class:`~realtime_client.testing.FakeTransport`.

websocket-client does the handshake and TLS, nothing else
(:mod:`~realtime_client._handshake`, the only module that imports it, loaded
when the first connection opens). After the handshake this module is the one
owner of the WebSocket: it reads and writes every frame itself (data, ping,
pong, close; the framing is in :mod:`~realtime_client._framing`), straight on
the socket, under one send lock. websocket-client reads every frame header
with its own small ``recv`` calls and builds each frame it sends through
several layers of Python, which costs more than the event itself (a live
conversation sends one every 40 ms); and sharing the socket with it meant two
framings behind one lock.

The socket keeps a short timeout (:data:`TICK`) after the handshake, so no
call blocks on it for good: a read that times out is simply retried, and a
send that the network does not take asks its caller's ``stalled()`` check
each tick, so a peer that stopped reading is detected while a send is stuck.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import struct
import threading
import time
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, Protocol

from ._framing import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    PeerClosed,
    ProtocolViolation,
    masked_frame,
)
from .errors import ConnectionClosedError, TransportError

if TYPE_CHECKING:  # loaded with the first connection (see _handshake)
    import ssl

    import websocket

__all__ = ["Transport", "ViolationClosedError", "WebSocketTransport", "is_loopback_host"]

_log = logging.getLogger("realtime_client")

TICK: Final = 0.25
"""Seconds the socket waits before a blocked read or write wakes to check its
caller (a read is retried; a stuck send asks ``stalled()``)."""
_CONTROL_BOUND: Final = 1.0  # seconds a pong or close frame may take to go out
DEFAULT_MAX_MESSAGE: Final = 256 * 1024 * 1024
"""The largest message accepted by default: far above any real event (audio
deltas are kilobytes), low enough that a broken peer cannot exhaust memory."""


class ViolationClosedError(ConnectionClosedError):
    """This client closed the connection because the server broke the protocol;
    ``code`` is the code it closed with (1002, or 1009 for a message too large),
    not one the server sent."""


Stalled = Callable[[], bool]
"""Asked while a send makes no progress: ``True`` gives up (the peer is dead)."""


class Transport(Protocol):
    """What a session needs from a connection: frames in, frames out, liveness, teardown.

    Every capability the session uses is declared here; a transport implements
    all of them (the session never probes for optional methods).

    ``recv`` and ``frame_ready`` are called from the reader thread only;
    ``send`` by one thread at a time, never the reader (the writer thread, or an
    application thread writing its own frame while the connection lets it);
    ``ping`` from the writer, possibly while a ``send`` runs on another thread;
    ``last_received`` from any thread; ``send_close``, ``abort`` and
    ``shutdown`` from the thread that closes the session, possibly while the
    others are blocked.
    """

    def recv(self) -> str | bytes:
        """Block until the next whole message arrives and return it.

        Raises:
            ConnectionClosedError: The peer closed (``code``/``reason`` set from
                its close frame), the connection broke, or :meth:`abort` was called.
        """
        ...

    def send(self, frame: str, stalled: Stalled | None = None) -> None:
        """Send one text frame.

        While the network takes nothing, ``stalled()`` is asked at least every
        :data:`TICK` seconds; when it answers ``True`` the send gives up and
        :class:`~realtime_client.TransportError` is raised. The connection is then
        unusable (a frame half sent cannot be finished): nothing more is written,
        and the caller records why before it calls :meth:`abort`.

        Raises:
            TransportError: The frame could not be sent.
        """
        ...

    def ping(self, stalled: Stalled | None = None) -> None:
        """Send a keep-alive ping (``stalled`` as for :meth:`send`)."""
        ...

    def last_received(self) -> float:
        """When (``time.monotonic()``) the peer last sent anything: a frame of any
        kind (pongs included), or part of one still arriving."""
        ...

    def frame_ready(self) -> bool:
        """Whether :meth:`recv` would return at once (a whole message is buffered)."""
        ...

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; never raises."""
        ...

    def abort(self) -> None:
        """Wake any thread blocked in :meth:`recv` or :meth:`send`; never raises."""
        ...

    def shutdown(self) -> None:
        """Release the connection's resources; never raises."""
        ...


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@typing.final
class WebSocketTransport:
    """A :class:`Transport` over a socket that websocket-client opened.

    Build one with :meth:`connect`. After the handshake the socket has a
    :data:`TICK` timeout: the reader retries a read that times out, and a send
    the network does not take checks its caller's ``stalled()`` each tick.
    Every frame after the handshake is written here under one lock, so data,
    pings, pongs and the close frame never interleave.
    """

    def __init__(self, ws: websocket.WebSocket, *, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._ws = ws
        sock = ws.sock
        if sock is None:
            raise ValueError("the WebSocket is not connected")
        self._sock: socket.socket = sock
        self._sock.settimeout(TICK)
        self._reader = FrameReader(self._sock, max_message, self._pong)
        self._close_sent = False
        self._aborted = False
        self._lock = threading.Lock()  # guards _close_sent
        self._send_lock = threading.Lock()  # one frame on the wire at a time
        self._pending_pong: bytes | None = None  # a ping answer waiting for the wire

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
        max_message: int = DEFAULT_MAX_MESSAGE,
    ) -> WebSocketTransport:
        """Open a WebSocket connection and finish the handshake.

        Args:
            url: A ``wss://`` (or loopback ``ws://``) URL.
            headers: Extra handshake headers (authentication among them).
            timeout: Seconds allowed for the TCP connect, TLS and the handshake.
            ssl_context: The TLS context; by default the system's trusted
                certificates, with hostname checking. Verification is never off.
            max_message: The largest message accepted, in bytes.

        Raises:
            AuthenticationError: The server answered 401 or 403.
            ConnectError: Any other handshake failure (``status_code`` and
                ``body`` set when the server answered).
            RealtimeTimeoutError: The handshake took longer than ``timeout``.
        """
        from ._handshake import open_websocket  # websocket-client, ssl: loaded on first use

        ws, _ = open_websocket(url, headers=headers, timeout=timeout, ssl_context=ssl_context)
        return cls(ws, max_message=max_message)

    # --- receiving (the reader thread) ---------------------------------------------------------

    def last_received(self) -> float:
        """When (``time.monotonic()``) the peer last sent anything: a frame of any
        kind (pongs included), or part of one still arriving."""
        return self._reader.last_frame_at

    def frame_ready(self) -> bool:
        """Whether the next frame is already received in full, so :meth:`recv`
        would not wait on the network for it. The session uses it to hand the
        events of one read to its iterator together."""
        return self._reader.frame_ready()

    def recv(self) -> str | bytes:
        """The next message; see :meth:`Transport.recv`."""
        try:
            return self._reader.read_message()
        except PeerClosed as closed:
            with self._lock:
                echo = not self._close_sent
                self._close_sent = True
            if echo:
                self._control(OP_CLOSE, struct.pack("!H", closed.code or 1000))
            raise ConnectionClosedError(
                f"the server closed the connection (code {closed.code})"
                + (f": {closed.reason}" if closed.reason else ""),
                code=closed.code,
                reason=closed.reason,
            ) from None
        except ProtocolViolation as exc:
            self.send_close(exc.code, str(exc)[:120])
            raise ViolationClosedError(
                f"protocol violation from the server: {exc}", code=exc.code
            ) from None
        except ConnectionClosedError:
            raise
        except (OSError, ValueError) as exc:  # ValueError: a recv on a closed SSL socket
            raise ConnectionClosedError(f"the connection broke: {exc}") from exc

    def _pong(self, payload: bytes) -> None:
        """Reader thread: answer a ping without waiting long.

        While a send holds the wire, the answer is left for it to write after
        its frame, so the reader never waits behind a slow send. Otherwise the
        reader writes it, for at most ``_CONTROL_BOUND`` (see :meth:`_release`).
        """
        self._pending_pong = payload[:125]
        if self._send_lock.acquire(blocking=False):
            self._release(None, time.monotonic() + _CONTROL_BOUND)

    # --- sending (the writer thread; control frames from the reader and the closer) -------------

    def send(self, frame: str, stalled: Stalled | None = None) -> None:
        """Send one text frame; see :meth:`Transport.send`."""
        self._write(masked_frame(OP_TEXT, frame.encode()), stalled, None)

    def ping(self, stalled: Stalled | None = None) -> None:
        """Send a ping; see :meth:`Transport.ping`."""
        self._write(masked_frame(OP_PING, b""), stalled, None)

    def _write(self, data: bytes, stalled: Stalled | None, bound: float | None) -> None:
        """Write one whole frame under the send lock; give up when ``stalled()``
        says so, or after ``bound`` seconds (a control frame)."""
        deadline = None if bound is None else time.monotonic() + bound
        if bound is None:
            self._send_lock.acquire()
        elif not self._send_lock.acquire(timeout=bound):
            raise TransportError("the connection is busy with a send that does not progress")
        try:
            self._write_locked(data, stalled, deadline)
        finally:
            self._release(stalled, deadline)

    def _write_locked(
        self,
        data: bytes,
        stalled: Stalled | None,
        deadline: float | None,
        *,
        keep_unsent: bool = False,
    ) -> bool:
        """Write ``data`` whole; True once written. With ``keep_unsent``, a frame
        none of which the network took by ``deadline`` is not written (False)
        and the stream stays usable; otherwise the deadline cuts the connection."""
        if self._aborted:  # cut, or a frame was left half sent: nothing more can follow
            raise TransportError("the connection was cut")
        view = memoryview(data)
        send = self._sock.send
        try:
            while view:
                try:
                    sent = send(view)
                except TimeoutError:
                    if stalled is not None and stalled():
                        # Part of a frame may be out: the stream is unusable, so no
                        # other frame is written. The socket is left for the caller to
                        # abort once it has recorded why: shutting it here would let
                        # the reader report a plain EOF first.
                        self._aborted = True
                        raise TransportError(
                            "sending stalled: the network took nothing while the peer was silent"
                        ) from None
                    if deadline is not None and time.monotonic() >= deadline:
                        if keep_unsent and len(view) == len(data):
                            return False
                        self.abort()  # part of a frame may be out: the stream is unusable
                        raise TransportError(
                            "a control frame could not be sent within "
                            f"{_CONTROL_BOUND:g} s: the network took nothing"
                        ) from None
                    continue
                view = view[sent:]
        except OSError as exc:
            raise TransportError(f"sending failed: {exc}") from exc
        except TransportError:  # the stall above: the caller aborts once it has recorded why
            raise
        except BaseException:
            # KeyboardInterrupt and the like, part of a frame out: any frame written
            # after it would be read as the rest of this one, so the stream is cut.
            if len(view) < len(data):
                self.abort()
            raise
        return True

    def _release(self, stalled: Stalled | None, deadline: float | None) -> None:
        """Write a waiting ping answer, then let the next frame go.

        The answer goes out under the rules of the write that held the wire: after
        a data frame, for as long as the dead-peer rule says the peer is alive (a
        live peer that reads slowly, an upload filling the socket, gets its answer
        late rather than a cut connection); after a control frame, or from the
        reader, by ``deadline``. If the network took none of it by then, it waits
        for the next frame's writer instead.
        """
        try:
            pong, self._pending_pong = self._pending_pong, None
            if pong is not None and not self._aborted:
                frame = masked_frame(OP_PONG, pong)
                sent = self._write_locked(frame, stalled, deadline, keep_unsent=True)
                if not sent and self._pending_pong is None:  # (a newer ping's answer wins)
                    self._pending_pong = pong
        except TransportError as exc:
            _log.debug("could not answer a ping: %s", exc)
        finally:
            self._send_lock.release()

    def _control(self, opcode: int, payload: bytes) -> None:
        """A pong or close frame: best effort, bounded, never raises."""
        try:
            self._write(masked_frame(opcode, payload[:125]), None, _CONTROL_BOUND)
        except TransportError as exc:
            _log.debug("could not send a control frame (%#x): %s", opcode, exc)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame once; see :meth:`Transport.send_close`."""
        with self._lock:
            if self._close_sent or self._aborted:
                return
            self._close_sent = True
        self._control(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:123])

    # --- teardown -------------------------------------------------------------------------------

    def abort(self) -> None:
        """Shut the socket down in both directions, waking blocked calls.

        websocket-client's own ``abort()`` does nothing once a close frame has
        been sent, so the socket is shut down here directly.
        """
        self._aborted = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def shutdown(self) -> None:
        """Close the socket; see :meth:`Transport.shutdown`."""
        self._aborted = True
        try:
            self._ws.shutdown()  # type: ignore[no-untyped-call]
        except OSError as exc:  # websocket-client closes the socket and raises nothing else
            _log.debug("socket shutdown failed: %s", exc)
