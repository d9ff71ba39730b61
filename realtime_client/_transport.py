"""The transport interface and its WebSocket implementation.

This is the only module that imports ``websocket`` (websocket-client). The
session talks to a :class:`Transport`; tests swap in
:class:`~realtime_client.testing.FakeTransport`.

websocket-client does the handshake and TLS, nothing else. After the
handshake this module is the one owner of the WebSocket: it reads and writes
every frame itself (data, ping, pong, close), straight on the socket, under
one send lock. websocket-client reads every frame header with its own small
``recv`` calls and builds each frame it sends through several layers of
Python, which costs more than the event itself (a live conversation sends one
every 40 ms); and sharing the socket with it meant two framings behind one lock.

The socket keeps a short timeout (:data:`TICK`) after the handshake, so no
call blocks on it for good: a read that times out is simply retried, and a
send that the network does not take asks its caller's ``stalled()`` check
each tick, so a peer that stopped reading is detected while a send is stuck.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import struct
import threading
import time
import typing
from collections.abc import Callable, Mapping
from typing import Final, Protocol
from urllib.parse import urlsplit

import websocket

from .errors import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    RealtimeTimeoutError,
    TransportError,
)

__all__ = ["Transport", "WebSocketTransport", "is_loopback_host"]

_log = logging.getLogger("realtime_client")

_OP_CONT: Final = 0x0
_OP_TEXT: Final = 0x1
_OP_BINARY: Final = 0x2
_OP_CLOSE: Final = 0x8
_OP_PING: Final = 0x9
_OP_PONG: Final = 0xA
_READ_MIN: Final = 16 * 1024  # bytes asked of the socket while traffic is light
_READ_MAX: Final = 256 * 1024  # ... and at most, under a burst
TICK: Final = 0.25
"""Seconds the socket waits before a blocked read or write wakes to check its
caller (a read is retried; a stuck send asks ``stalled()``)."""
_CONTROL_BOUND: Final = 1.0  # seconds a pong or close frame may take to go out
_BODY_KEPT: Final = 2000
DEFAULT_MAX_MESSAGE: Final = 256 * 1024 * 1024
"""The largest message accepted by default: far above any real event (audio
deltas are kilobytes), low enough that a broken peer cannot exhaust memory."""


Stalled = Callable[[], bool]
"""Asked while a send makes no progress: ``True`` gives up (the peer is dead)."""


class Transport(Protocol):
    """What a session needs from a connection: frames in, frames out, liveness, teardown.

    Every capability the session uses is declared here; a transport implements
    all of them (the session never probes for optional methods).

    ``recv`` and ``frame_ready`` are called from the reader thread only;
    ``send`` and ``ping`` from the writer thread only; ``last_received`` from
    the writer; ``send_close``, ``abort`` and ``shutdown`` from the thread that
    closes the session, possibly while the other two are blocked.
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
        """When (``time.monotonic()``) the last frame of any kind arrived, pongs included."""
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


_SECRET_HEADER = re.compile(
    r"(?im)^([ \t]*(?:authorization|proxy-authorization|api-key|cookie|set-cookie|"
    r"openai-[a-z-]*key[a-z-]*|x-api-key)[ \t]*:)[^\r\n]*"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)[ \t]+[^\s,;\"']+")
_KEY_LIKE = re.compile(r"\b(sk|ek|rk)-[A-Za-z0-9_-]{8,}")
REDACTED: Final = "[redacted]"


def redact(text: str) -> str:
    """``text`` with credential header values, bearer tokens and API keys replaced."""
    text = _SECRET_HEADER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _KEY_LIKE.sub(REDACTED, text)


class _RedactingFilter(logging.Filter):
    """Keeps credentials out of websocket-client's trace (``websocket.enableTrace``),
    which dumps the handshake's request headers, Authorization included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is passed on as it is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_redactor_lock = threading.Lock()
_REDACTOR: Final = _RedactingFilter()


def _install_redactor() -> None:
    """Put the redacting filter on websocket-client's logger (once: filters are a set)."""
    with _redactor_lock:
        logger = logging.getLogger("websocket")
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


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


def _error_message(body: bytes | None) -> str:
    """The server's error message from a handshake answer body, if it has one."""
    if not body:
        return ""
    text = body[:_BODY_KEPT].decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return text.strip()


class _FrameReader:
    """Reads WebSocket messages from a socket through one large buffer.

    Server frames are unmasked; control frames may arrive between the
    fragments of a message, and pings are answered through ``pong``.
    """

    def __init__(self, sock: socket.socket, max_message: int, pong: _PongFn) -> None:
        self._sock = sock
        self._buf = bytearray()
        self._pos = 0
        self._max = max_message
        self._pong = pong
        self._ask = _READ_MIN
        self.last_frame_at = time.monotonic()

    def _fill(self, need: int) -> None:
        buf = self._buf
        if self._pos and self._pos >= len(buf) // 2:
            del buf[: self._pos]
            self._pos = 0
        recv = self._sock.recv
        while len(buf) - self._pos < need:
            # Ask for little while traffic is light (the buffer recv allocates
            # is held for as long as it waits), more while reads come back full.
            ask = max(self._ask, need - (len(buf) - self._pos))
            try:
                chunk = recv(ask)
            except TimeoutError:
                continue  # the socket's tick: nothing arrived; keep waiting
            if not chunk:
                raise ConnectionClosedError("the connection was closed without a close frame")
            if len(chunk) >= self._ask:
                self._ask = min(self._ask * 2, _READ_MAX)
            elif self._ask > _READ_MIN:
                self._ask = _READ_MIN
            buf += chunk

    def _take(self, n: int) -> bytes:
        if len(self._buf) - self._pos < n:
            self._fill(n)
        start = self._pos
        self._pos = start + n
        return bytes(self._buf[start : start + n])

    def frame_ready(self) -> bool:
        """Whether a whole frame is already buffered (the next read will not block on it)."""
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have < 2:
            return False
        length = buf[pos + 1] & 0x7F
        header = 2
        if length == 126:
            header = 4
            if have < header:
                return False
            length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
        elif length == 127:
            header = 10
            if have < header:
                return False
            length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
        if buf[pos + 1] & 0x80:
            header += 4
        return have >= header + length

    def read_frame(self) -> tuple[bool, int, bytes]:
        """One frame: (fin, opcode, payload)."""
        if len(self._buf) - self._pos < 2:
            self._fill(2)
        b0 = self._buf[self._pos]
        b1 = self._buf[self._pos + 1]
        self._pos += 2
        self.last_frame_at = time.monotonic()  # any frame, pongs too, proves the peer alive
        if b0 & 0x70:
            raise _ProtocolViolation("frame uses reserved bits (no extension was negotiated)")
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._take(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._take(8))
        if length > self._max:
            raise _ProtocolViolation(
                f"frame of {length} bytes exceeds the {self._max}-byte limit", code=1009
            )
        mask = self._take(4) if b1 & 0x80 else b""
        payload = self._take(length)
        if mask:  # servers must not mask; tolerate it rather than fail
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def read_message(self) -> str | bytes:
        """The next text or binary message, answering pings on the way."""
        parts: list[bytes] = []
        size = 0
        while True:
            fin, opcode, payload = self.read_frame()
            if opcode in (_OP_TEXT, _OP_BINARY):
                if parts:
                    raise _ProtocolViolation("a new message started inside a fragmented one")
                if fin:
                    return payload
                parts.append(payload)
                size = len(payload)
            elif opcode == _OP_CONT:
                if not parts:
                    raise _ProtocolViolation("a continuation frame without a message")
                size += len(payload)
                if size > self._max:
                    raise _ProtocolViolation(
                        f"message exceeds the {self._max}-byte limit", code=1009
                    )
                parts.append(payload)
                if fin:
                    return b"".join(parts)
            elif opcode == _OP_CLOSE:
                raise _PeerClosed(payload)
            elif opcode == _OP_PING:
                self._pong(payload)
            elif opcode != _OP_PONG:
                raise _ProtocolViolation(f"unknown opcode {opcode:#x}")


class _PongFn(Protocol):
    def __call__(self, payload: bytes, /) -> None: ...


class _ProtocolViolation(Exception):
    def __init__(self, message: str, *, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code


class _PeerClosed(Exception):
    def __init__(self, payload: bytes) -> None:
        super().__init__("close frame")
        self.code: int | None = None
        self.reason = ""
        if len(payload) >= 2:
            (self.code,) = struct.unpack("!H", payload[:2])
            self.reason = payload[2:].decode("utf-8", "replace")


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
        self._reader = _FrameReader(self._sock, max_message, self._pong)
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
        context = ssl_context or ssl.create_default_context()
        if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
            raise ValueError("ssl_context must verify certificates and hostnames")
        target = _where(url)
        _install_redactor()
        try:
            ws = websocket.create_connection(
                url,
                timeout=timeout,
                header=[f"{name}: {value}" for name, value in headers.items()],
                sslopt={"context": context},
                skip_utf8_validation=True,
                enable_multithread=True,
                suppress_origin=True,
            )
        except websocket.WebSocketBadStatusException as exc:
            status = exc.status_code
            body = (exc.resp_body or b"")[:_BODY_KEPT]
            text = body.decode("utf-8", "replace")
            detail = _error_message(exc.resp_body) or (exc.status_message or "")
            error_cls = AuthenticationError if status in (401, 403) else ConnectError
            raise error_cls(
                f"handshake with {target} failed: HTTP {status}"
                + (f": {detail}" if detail else ""),
                status_code=status,
                body=text,
                headers=_answer_headers(exc),
            ) from None
        except (TimeoutError, websocket.WebSocketTimeoutException) as exc:
            raise RealtimeTimeoutError(
                f"connecting to {target} took longer than {timeout} s"
            ) from exc
        except ssl.SSLError as exc:
            raise ConnectError(f"TLS with {target} failed: {exc}") from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise ConnectError(f"cannot connect to {target}: {exc}") from exc
        return cls(ws, max_message=max_message)

    # --- receiving (the reader thread) ---------------------------------------------------------

    def last_received(self) -> float:
        """When (``time.monotonic()``) the last frame of any kind arrived, pongs included."""
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
        except _PeerClosed as closed:
            with self._lock:
                echo = not self._close_sent
                self._close_sent = True
            if echo:
                self._control(_OP_CLOSE, struct.pack("!H", closed.code or 1000))
            raise ConnectionClosedError(
                f"the server closed the connection (code {closed.code})"
                + (f": {closed.reason}" if closed.reason else ""),
                code=closed.code,
                reason=closed.reason,
            ) from None
        except _ProtocolViolation as exc:
            self.send_close(exc.code, str(exc)[:120])
            raise ConnectionClosedError(
                f"protocol violation from the server: {exc}", code=exc.code
            ) from None
        except ConnectionClosedError:
            raise
        except (OSError, ValueError) as exc:  # ValueError: a recv on a closed SSL socket
            raise ConnectionClosedError(f"the connection broke: {exc}") from exc

    def _pong(self, payload: bytes) -> None:
        """Reader thread: answer a ping without waiting for the wire.

        While a send holds the wire, the answer is left for it to write after
        its frame, so the reader never waits behind a slow send.
        """
        self._pending_pong = payload[:125]
        if self._send_lock.acquire(blocking=False):
            self._release()

    # --- sending (the writer thread; control frames from the reader and the closer) -------------

    def send(self, frame: str, stalled: Stalled | None = None) -> None:
        """Send one text frame; see :meth:`Transport.send`."""
        self._write(_masked_frame(_OP_TEXT, frame.encode()), stalled, None)

    def ping(self, stalled: Stalled | None = None) -> None:
        """Send a ping; see :meth:`Transport.ping`."""
        self._write(_masked_frame(_OP_PING, b""), stalled, None)

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
            self._release()

    def _write_locked(self, data: bytes, stalled: Stalled | None, deadline: float | None) -> None:
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
                        self.abort()  # part of a frame may be out: the stream is unusable
                        raise TransportError(
                            "sending stalled: the network took nothing while the peer was silent"
                        ) from None
                    continue
                view = view[sent:]
        except OSError as exc:
            raise TransportError(f"sending failed: {exc}") from exc

    def _release(self) -> None:
        """Write a waiting ping answer (best effort), then let the next frame go."""
        try:
            pong, self._pending_pong = self._pending_pong, None
            if pong is not None and not self._aborted:
                self._write_locked(
                    _masked_frame(_OP_PONG, pong), None, time.monotonic() + _CONTROL_BOUND
                )
        except TransportError as exc:
            _log.debug("could not answer a ping: %s", exc)
        finally:
            self._send_lock.release()

    def _control(self, opcode: int, payload: bytes) -> None:
        """A pong or close frame: best effort, bounded, never raises."""
        try:
            self._write(_masked_frame(opcode, payload[:125]), None, _CONTROL_BOUND)
        except TransportError as exc:
            _log.debug("could not send a control frame (%#x): %s", opcode, exc)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame once; see :meth:`Transport.send_close`."""
        with self._lock:
            if self._close_sent or self._aborted:
                return
            self._close_sent = True
        self._control(_OP_CLOSE, struct.pack("!H", code) + reason.encode()[:123])

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
        except (OSError, websocket.WebSocketException) as exc:
            _log.debug("socket shutdown failed: %s", exc)


def _masked_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame (RFC 6455 5.2): header, a fresh random mask key, masked payload."""
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        header = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    key = os.urandom(4)
    # XOR the whole payload at once, as one big integer against the repeated key.
    mask = int.from_bytes((key * ((n >> 2) + 1))[:n], "little")
    masked = (int.from_bytes(payload, "little") ^ mask).to_bytes(n, "little")
    return header + key + masked


def _where(url: str) -> str:
    """The scheme, host and path of ``url``, for messages (the query is left out)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _answer_headers(exc: websocket.WebSocketBadStatusException) -> dict[str, str]:
    """The headers of a refused handshake's answer (its retry hints among them)."""
    headers = getattr(exc, "resp_headers", None)
    if not isinstance(headers, dict):
        return {}
    return {str(name): str(value) for name, value in headers.items()}
