"""The transport's own frame writer: what goes on the wire is a valid masked client frame."""

from __future__ import annotations

import queue
import socket
import threading

import pytest
import websocket

from realtime_client._framing import masked_frame as _masked_frame
from realtime_client._transport import WebSocketTransport
from realtime_client.errors import TransportError


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


@pytest.mark.parametrize(
    ("after", "ready"),
    [
        (_server_frame(b"", 0x9), False),  # a ping alone: recv would answer it, then wait
        (_server_frame(b"", 0xA), False),  # a pong alone
        (_server_frame(b"x", 0x9) + _server_frame(b"e"), True),  # a ping, then an event
        (_server_frame(b"\x03\xe8", 0x8), True),  # a close frame: recv ends at once
        (b"\x01\x03par", False),  # the first fragment of a message, without its end
        (b"\x01\x03par" + _server_frame(b"t", 0x0), True),  # a whole fragmented message
    ],
)
def test_frame_ready_looks_past_control_frames(after, ready):
    """An event followed by a ping in one read must reach iterators at once: only
    a whole message (or a close) counts as ready, not a ping or pong, after which
    the next read would wait on the network."""
    from realtime_client._framing import FrameReader as _FrameReader

    here, there = socket.socketpair()
    with here, there:
        reader = _FrameReader(here, 1 << 20, lambda payload: None)
        there.sendall(_server_frame(b"first") + after)
        assert reader.read_message() == b"first"  # the rest is buffered with it
        assert reader.frame_ready() is ready


class _SlowNetwork:
    """A socket whose network takes nothing for ``stuck`` send attempts (each one
    a tick of ``tick`` seconds, as the real socket's timeout), then everything."""

    def __init__(self, stuck: int, tick: float = 0.025) -> None:
        self.incoming: queue.Queue[bytes] = queue.Queue()
        self.out = bytearray()
        self.stuck = 0  # set once the network should stop taking bytes
        self._budget = stuck
        self._tick = tick
        self.shut = threading.Event()

    def settimeout(self, _value: float) -> None:
        pass

    def recv(self, size: int) -> bytes:
        if self.shut.is_set():
            return b""
        try:
            return self.incoming.get(timeout=self._tick)
        except queue.Empty:
            raise TimeoutError from None

    def send(self, data: memoryview) -> int:
        if self.shut.is_set():
            raise OSError("shut down")
        if self.stuck:
            self.stuck -= 1
            self.shut.wait(self._tick)
            raise TimeoutError
        self.out += data
        return len(data)

    def stop_taking(self) -> None:
        self.stuck = self._budget

    def shutdown(self, _how: int) -> None:
        self.shut.set()


def test_a_ping_answer_waits_for_a_slow_network_while_the_peer_is_alive():
    """A live peer that reads slowly (an upload filling the socket) gets its pong
    late, not a cut connection: the answer waits as long as the dead-peer rule
    says the peer is alive (here 1.5 s of a network taking nothing, longer than
    the 1 s a close frame may take)."""
    network = _SlowNetwork(stuck=60)  # 60 ticks of 25 ms
    ws = websocket.WebSocket(enable_multithread=True)
    ws.sock = network  # type: ignore[assignment]
    ws.connected = True
    transport = WebSocketTransport(ws)
    transport.send('{"type":"a"}', lambda: False)  # the peer is alive all along
    network.stop_taking()
    network.incoming.put(_server_frame(b"hb", 0x9))  # the peer pings
    network.incoming.put(_server_frame(b'{"type":"b"}'))
    received: list[object] = []

    def read() -> None:
        try:
            received.append(transport.recv())
        except Exception as exc:  # the assertion below shows it
            received.append(exc)

    reader = threading.Thread(target=read, name="reader")
    reader.start()
    reader.join(10)
    assert received == [b'{"type":"b"}']
    assert not network.shut.is_set(), "the connection was cut"
    transport.send('{"type":"c"}', lambda: False)
    frames, data = [], bytes(network.out)
    while data:
        length = data[1] & 0x7F
        frames.append(_unmask(data[: 6 + length]))
        data = data[6 + length :]
    assert [(0x1, b'{"type":"a"}'), (0xA, b"hb"), (0x1, b'{"type":"c"}')] == frames


class _InterruptedNetwork(_SlowNetwork):
    """Takes the first 10 bytes of a frame, then the caller gets Ctrl-C."""

    def __init__(self) -> None:
        super().__init__(stuck=0)
        self.calls = 0

    def send(self, data: memoryview) -> int:
        self.calls += 1
        if self.calls == 1:
            self.out += data[:10]
            return 10
        raise KeyboardInterrupt


def test_an_interrupt_in_the_middle_of_a_frame_cuts_the_stream():
    """Ctrl-C while a frame is half written: the interrupt reaches the caller and
    the connection is cut, so no later frame (a close frame among them) is read
    by the server as the rest of the half-written one."""
    network = _InterruptedNetwork()
    ws = websocket.WebSocket(enable_multithread=True)
    ws.sock = network  # type: ignore[assignment]
    ws.connected = True
    transport = WebSocketTransport(ws)
    with pytest.raises(KeyboardInterrupt):
        transport.send('{"type":"input_audio_buffer.append","audio":"AAAA"}')
    assert network.shut.is_set()
    with pytest.raises(TransportError, match="cut"):
        transport.send('{"type":"b"}')
    transport.send_close()  # best effort: nothing more reaches the wire
    assert 10 == len(network.out)


def test_a_message_still_arriving_counts_as_the_peer_speaking():
    """The dead-peer rule measures silence: the bytes of a large message that takes
    long to arrive prove the server alive, not only the start of each frame."""
    from realtime_client._framing import FrameReader as _FrameReader

    class Signalling:
        """The socket, telling when the reader asks for more having received (and
        dealt with) ``target`` bytes."""

        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock
            self.returned = 0
            self.target = 0
            self.caught_up = threading.Event()

        def recv(self, size: int) -> bytes:
            if self.returned == self.target:
                self.caught_up.set()
            data = self.sock.recv(size)
            self.returned += len(data)
            return data

    here, there = socket.socketpair()
    with here, there:
        here.settimeout(5)
        signalling = Signalling(here)
        reader = _FrameReader(signalling, 1 << 20, lambda payload: None)  # type: ignore[arg-type]
        frame = _server_frame(b"x" * 100_000)
        done: list[bytes | str] = []
        thread = threading.Thread(target=lambda: done.append(reader.read_message()))
        signalling.target = 10
        there.sendall(frame[:10])  # the header alone
        thread.start()
        assert signalling.caught_up.wait(5)
        header_seen = reader.last_frame_at
        signalling.caught_up.clear()
        signalling.target = 50_000
        there.sendall(frame[10:50_000])  # half of the same frame: no new header
        assert signalling.caught_up.wait(5)
        assert reader.last_frame_at > header_seen
        there.sendall(frame[50_000:])
        thread.join(5)
        assert [b"x" * 100_000] == done
