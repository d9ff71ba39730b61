"""Minimal loopback WebSocket peers written for the tests, not by the library:
raw TCP sockets speaking only what RFC 6455 and the Realtime spec require.

:class:`RawPeer` completes the handshake, sends what the test scripts, and can
stop reading altogether (a half-open connection: the peer's process hangs, its
kernel keeps the socket). It counts the connections it accepts, so a test can
prove no socket was opened.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import queue
import socket
import threading
from collections.abc import Callable
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WAIT = 5.0


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked (server) frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


def event_frame(event: dict[str, Any]) -> bytes:
    return server_frame(json.dumps(event).encode())


CREATED: dict[str, Any] = {
    "type": "session.created",
    "event_id": "ev_0",
    "session": {"type": "realtime", "id": "sess_1"},
}


class PeerConnection:
    """The peer's side of one accepted connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""
        self.pings = 0
        self.on_ping: Callable[[int], None] | None = None

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_event(self, event: dict[str, Any]) -> None:
        self.send(event_frame(event))

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the client closed the connection")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def read_frame(self) -> tuple[int, bytes]:
        """One client frame: (opcode, unmasked payload)."""
        b0, b1 = self._read(2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(self._read(2), "big")
        elif length == 127:
            length = int.from_bytes(self._read(8), "big")
        key = self._read(4) if b1 & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(self._read(length)))
        return b0 & 0x0F, payload

    def read_event(self) -> dict[str, Any]:
        """The next text frame, decoded; control frames are answered or skipped."""
        for _ in range(1000):  # bounded
            opcode, payload = self.read_frame()
            if opcode == 0x1:
                result: dict[str, Any] = json.loads(payload)
                return result
            if opcode == 0x9:
                self.send(server_frame(payload, 0xA))
                self.pings += 1
                if self.on_ping is not None:
                    self.on_ping(self.pings)
            if opcode == 0x8:
                raise ConnectionError("the client sent a close frame")
        raise AssertionError("no text frame among 1000 frames")


class RawPeer:
    """A loopback WebSocket server on raw sockets, one scripted handler per connection.

    Args:
        handler: Runs on the peer's thread with each accepted, handshaken connection.
        rcvbuf: SO_RCVBUF of the accepted sockets (small: a peer that stops
            reading fills up fast).
        greet: Send ``session.created`` right after the handshake.
    """

    def __init__(
        self,
        handler: Callable[[PeerConnection], None],
        *,
        rcvbuf: int | None = None,
        greet: bool = True,
    ) -> None:
        self._handler = handler
        self._greet = greet
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.accepted = 0
        self.errors: queue.SimpleQueue[BaseException] = queue.SimpleQueue()
        self.release = threading.Event()  # the handler may wait on it before returning
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="test-peer", daemon=True)
        self._acceptor.start()

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(WAIT * 2)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                request += chunk
            key = ""
            for line in request.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            sock.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            connection = PeerConnection(sock)
            if self._greet:
                connection.send_event(CREATED)
            self._handler(connection)
        except (OSError, ConnectionError) as exc:
            self.errors.put(exc)
        finally:  # the handler is done: end the TCP connection (no close frame)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.release.set()
        self._stop.set()
        self._acceptor.join(WAIT)
        self._listener.close()
        for thread in self._threads:
            thread.join(WAIT)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def stop_reading(peer: RawPeer) -> Callable[[PeerConnection], None]:
    """A handler that never reads again and never answers: a half-open peer."""

    def handler(connection: PeerConnection) -> None:
        peer.release.wait(WAIT * 4)

    return handler
