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
    """A socket for the transport whose network the test steers: closed while
    ``gate`` is clear, then taking nothing for ``stuck`` send attempts (each a
    tick of ``tick`` seconds, as the real socket's timeout), and ``then_stuck``
    more after the next write it takes (at most ``limit`` bytes of it, if set)."""

    def __init__(self, tick: float = 0.025) -> None:
        self.incoming: queue.Queue[bytes] = queue.Queue()
        self.out = bytearray()
        self.gate = threading.Event()
        self.gate.set()
        self.stuck = 0
        self.then_stuck = 0
        self.limit: int | None = None
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
        if not self.gate.is_set():
            self.gate.wait(self._tick)
            raise TimeoutError
        if self.stuck:
            self.stuck -= 1
            self.shut.wait(self._tick)
            raise TimeoutError
        taken = data[: self.limit] if self.limit is not None else data
        self.out += taken
        self.stuck, self.then_stuck = self.then_stuck, 0
        return len(taken)

    def shutdown(self, _how: int) -> None:
        self.shut.set()

    def frames(self) -> list[tuple[int, bytes]]:
        """What the transport wrote, frame by frame: (opcode, unmasked payload)."""
        frames, data = [], bytes(self.out)
        while data:
            length = data[1] & 0x7F
            frames.append(_unmask(data[: 6 + length]))
            data = data[6 + length :]
        return frames


def _transport_on(network: _SlowNetwork) -> WebSocketTransport:
    ws = websocket.WebSocket(enable_multithread=True)
    ws.sock = network  # type: ignore[assignment]
    ws.connected = True
    return WebSocketTransport(ws)


def _read_one(transport: WebSocketTransport) -> list[object]:
    """One recv() on a thread, joined: what it returned, or raised."""
    received: list[object] = []

    def read() -> None:
        try:
            received.append(transport.recv())
        except Exception as exc:  # the caller's assertion shows it
            received.append(exc)

    reader = threading.Thread(target=read, name="test-reader")
    reader.start()
    reader.join(10)
    return received


def test_a_ping_answer_the_network_will_not_take_waits_for_the_next_frame():
    """The reader answers a ping while the network takes nothing: it gives up
    after 1 s without cutting the connection (nothing of the answer went out),
    and the answer follows the next frame written, once the network takes it."""
    network = _SlowNetwork()
    transport = _transport_on(network)
    transport.send('{"type":"a"}', lambda: False)
    network.stuck = 60  # 1.5 s of a network taking nothing
    network.incoming.put(_server_frame(b"hb", 0x9))  # the peer pings
    network.incoming.put(_server_frame(b'{"type":"b"}'))
    assert [b'{"type":"b"}'] == _read_one(transport)  # the reader did not wait for ever
    assert not network.shut.is_set(), "the connection was cut"
    transport.send('{"type":"c"}', lambda: False)  # the peer is alive all along
    assert [(0x1, b'{"type":"a"}'), (0x1, b'{"type":"c"}'), (0xA, b"hb")] == network.frames()


def test_a_ping_answer_behind_a_send_waits_while_the_peer_is_alive():
    """A ping answered while a send holds the wire goes out after that frame, for
    as long as the dead-peer rule says the peer is alive: a live peer that reads
    slowly (an upload filling the socket) gets its pong late, not a connection
    cut after 1 s."""
    network = _SlowNetwork()
    transport = _transport_on(network)
    transport.send('{"type":"a"}', lambda: False)
    network.gate.clear()  # the network stops taking frames
    network.then_stuck = 60  # and, once it took the next one, 1.5 s more
    sender = threading.Thread(
        target=transport.send, args=('{"type":"x"}', lambda: False), name="test-sender"
    )
    sender.start()
    network.incoming.put(_server_frame(b"hb", 0x9))  # the peer pings, alive
    network.incoming.put(_server_frame(b'{"type":"b"}'))
    assert [b'{"type":"b"}'] == _read_one(transport)  # the answer is left to the sender
    network.gate.set()
    sender.join(10)
    assert not sender.is_alive()
    assert not network.shut.is_set(), "the connection was cut"
    assert [(0x1, b'{"type":"a"}'), (0x1, b'{"type":"x"}'), (0xA, b"hb")] == network.frames()


def test_a_ping_answer_behind_the_close_frame_keeps_close_bounded():
    """A ping answered while the close frame holds the wire does not make the
    close wait for the dead-peer rule: after a control frame the answer has
    what is left of the control frame's 1 s, then closing goes on."""
    network = _SlowNetwork()
    transport = _transport_on(network)
    transport.send('{"type":"a"}', lambda: False)  # a rule that never gives up
    network.gate.clear()
    network.then_stuck = 1000  # after the close frame, 25 s of nothing
    closer = threading.Thread(target=transport.send_close, name="test-closer")
    closer.start()
    network.incoming.put(_server_frame(b"hb", 0x9))
    network.incoming.put(_server_frame(b'{"type":"b"}'))
    assert [b'{"type":"b"}'] == _read_one(transport)
    network.gate.set()
    closer.join(5)
    assert not closer.is_alive(), "closing waited on a ping answer"
    assert [0x1, 0x8] == [opcode for opcode, _ in network.frames()]


def test_a_stalled_send_leaves_the_socket_for_its_caller():
    """A send stuck half written while the peer is declared dead raises, and
    leaves the socket open: the connection records why before it aborts, so the
    reader cannot report a plain end of stream first. Nothing more is written."""
    network = _SlowNetwork()
    transport = _transport_on(network)
    network.limit, network.then_stuck = 5, 1000  # 5 bytes, then nothing
    with pytest.raises(TransportError, match="stalled"):
        transport.send('{"type":"b"}', lambda: True)
    assert not network.shut.is_set()
    with pytest.raises(TransportError, match="cut"):
        transport.send('{"type":"c"}', lambda: False)
    assert 5 == len(network.out)


class _InterruptedNetwork(_SlowNetwork):
    """Takes the first 10 bytes of a frame, then the caller gets Ctrl-C."""

    def __init__(self) -> None:
        super().__init__()
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
    transport = _transport_on(network)
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
