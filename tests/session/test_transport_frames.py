"""The transport's own frame writer: what goes on the wire is a valid masked client frame."""

from __future__ import annotations

import socket
import threading

import pytest
import websocket

from realtime_client._framing import masked_frame as _masked_frame
from realtime_client._transport import WebSocketTransport


def _unmask(frame: bytes) -> tuple[int, bytes]:
    """Parse one client frame with websocket-client's own parser; (opcode, payload)."""
    assert frame[0] & 0x80, "FIN must be set"
    assert frame[1] & 0x80, "client frames must be masked"
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        length = int.from_bytes(frame[2:4], "big")
        offset = 4
    elif length == 127:
        length = int.from_bytes(frame[2:10], "big")
        offset = 10
    key, payload = frame[offset : offset + 4], frame[offset + 4 :]
    assert len(payload) == length
    return frame[0] & 0x0F, websocket.ABNF.mask(key, payload)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 1000, 65535, 65536, 300_000])
def test_masked_frame_round_trips_at_every_length_encoding(size):
    payload = bytes(i % 251 for i in range(size))
    opcode, unmasked = _unmask(_masked_frame(0x1, payload))
    assert opcode == 0x1
    assert unmasked == payload


def test_every_frame_gets_a_fresh_mask_key():
    keys = {_masked_frame(0x1, b"same payload")[2:6] for _ in range(50)}
    assert len(keys) > 45  # 32 random bits each: repeats are (almost) impossible


def test_send_writes_one_whole_text_frame_utf8_encoded():
    here, there = socket.socketpair()
    with here, there:
        ws = websocket.WebSocket(enable_multithread=True)
        ws.sock = here
        ws.connected = True
        transport = WebSocketTransport(ws)
        text = '{"type":"conversation.item.create","text":"héllo ☃"}'
        sender = threading.Thread(target=transport.send, args=(text,), name="test-sender")
        sender.start()
        received = b""
        there.settimeout(5)
        while len(received) < 4 or len(received) < len(_masked_frame(1, text.encode())):
            chunk = there.recv(65536)
            assert chunk, "the socket closed before the frame was whole"
            received += chunk
        sender.join(5)
        opcode, payload = _unmask(received)
        assert opcode == 0x1
        assert payload.decode() == text


def _server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """An unmasked (server) frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


@pytest.mark.parametrize("size", [5, 300, 70_000])
def test_frame_ready_only_once_the_whole_frame_is_buffered(size):
    """The session hands events over in batches only while whole frames are waiting:
    a partly received frame must not count (the next read would wait on the network)."""
    from realtime_client._framing import FrameReader as _FrameReader

    here, there = socket.socketpair()
    with here, there:
        reader = _FrameReader(here, 1 << 20, lambda payload: None)
        first, second = _server_frame(b"a" * 3), _server_frame(b"b" * size)
        there.sendall(first + second[: len(second) // 2])
        assert reader.read_message() == b"aaa"  # one recv buffered part of the second
        assert not reader.frame_ready()
        there.sendall(second[len(second) // 2 :])
        # Nothing is read until the reader asks; then the rest arrives whole.
        assert reader.read_message() == b"b" * size
        assert not reader.frame_ready()
        there.sendall(_server_frame(b"c") + _server_frame(b"d"))
        assert reader.read_message() == b"c"
        assert reader.frame_ready()
        assert reader.read_message() == b"d"
