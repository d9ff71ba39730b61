"""WebSocket framing (RFC 6455) over a plain or TLS socket: reading server
frames through one buffer, and building masked client frames.

Kept apart from :mod:`~realtime_client._transport` (which writes the frames,
keeps the send lock and opens connections) so each reads on its own. Nothing
here imports websocket-client.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Final, Protocol

from .errors import ConnectionClosedError

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameReader",
    "PeerClosed",
    "ProtocolViolation",
    "masked_frame",
]

OP_CONT: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA
_READ_MIN: Final = 16 * 1024  # bytes asked of the socket while traffic is light
_READ_MAX: Final = 256 * 1024  # ... and at most, under a burst


class FrameReader:
    """Reads WebSocket messages from a socket through one large buffer.

    Server frames are unmasked; control frames may arrive between the
    fragments of a message, and pings are answered through ``pong``.
    """

    def __init__(self, sock: socket.socket, max_message: int, pong: PongFn) -> None:
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
            # Bytes of a frame still arriving prove the peer alive too: a large
            # message that takes longer than the dead-peer bound is not silence.
            self.last_frame_at = time.monotonic()
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
        """Whether a whole message is already buffered, so the next
        :meth:`read_message` will not block on the network.

        Pings and pongs do not count: after answering them the read would wait.
        A close frame does (the read ends at once), and so does a fragmented
        message once its last fragment is in.
        """
        buf, pos, end = self._buf, self._pos, len(self._buf)
        while True:
            if end - pos < 2:
                return False
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            header = 2
            if length == 126:
                header = 4
                if end - pos < header:
                    return False
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            elif length == 127:
                header = 10
                if end - pos < header:
                    return False
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            if b1 & 0x80:
                header += 4
            if end - pos < header + length:
                return False
            opcode = b0 & 0x0F
            fragment = opcode in (OP_TEXT, OP_BINARY, OP_CONT) and not b0 & 0x80
            if not fragment and opcode not in (OP_PING, OP_PONG):
                return True  # a message's end, a close, or a violation: the read ends
            pos += header + length  # a ping, a pong or a fragment: look at what follows

    def read_frame(self) -> tuple[bool, int, bytes]:
        """One frame: (fin, opcode, payload)."""
        if len(self._buf) - self._pos < 2:
            self._fill(2)
        b0 = self._buf[self._pos]
        b1 = self._buf[self._pos + 1]
        self._pos += 2
        self.last_frame_at = time.monotonic()  # any frame, pongs too, proves the peer alive
        if b0 & 0x70:
            raise ProtocolViolation("frame uses reserved bits (no extension was negotiated)")
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._take(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._take(8))
        if length > self._max:
            raise ProtocolViolation(
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
            if opcode in (OP_TEXT, OP_BINARY):
                if parts:
                    raise ProtocolViolation("a new message started inside a fragmented one")
                if fin:
                    return payload
                parts.append(payload)
                size = len(payload)
            elif opcode == OP_CONT:
                if not parts:
                    raise ProtocolViolation("a continuation frame without a message")
                size += len(payload)
                if size > self._max:
                    raise ProtocolViolation(
                        f"message exceeds the {self._max}-byte limit", code=1009
                    )
                parts.append(payload)
                if fin:
                    return b"".join(parts)
            elif opcode == OP_CLOSE:
                raise PeerClosed(payload)
            elif opcode == OP_PING:
                self._pong(payload)
            elif opcode != OP_PONG:
                raise ProtocolViolation(f"unknown opcode {opcode:#x}")


class PongFn(Protocol):
    def __call__(self, payload: bytes, /) -> None: ...


class ProtocolViolation(Exception):
    """The server broke the framing rules; ``code`` is the close code to answer with."""

    def __init__(self, message: str, *, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code


class PeerClosed(Exception):
    """The server sent a close frame (its ``code`` and ``reason``)."""

    def __init__(self, payload: bytes) -> None:
        super().__init__("close frame")
        self.code: int | None = None
        self.reason = ""
        if len(payload) >= 2:
            (self.code,) = struct.unpack("!H", payload[:2])
            self.reason = payload[2:].decode("utf-8", "replace")


def masked_frame(opcode: int, payload: bytes) -> bytes:
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
