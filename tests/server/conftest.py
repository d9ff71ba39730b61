"""Fixtures for the offline server's tests: a server, and a plain websocket-client peer."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import websocket

from realtime_client.testing import FakeRealtimeServer

from .protocol_order import assert_order, wire_events

RECV_TIMEOUT = 5.0
MAX_EVENTS = 5000  # bound on any loop reading events


class Peer:
    """A raw WebSocket client: JSON dicts in and out, nothing from realtime_client."""

    def __init__(self, url: str, *, key: str | None = "sk-test") -> None:
        headers = [f"Authorization: Bearer {key}"] if key is not None else []
        self.ws = websocket.create_connection(
            url, header=headers, timeout=RECV_TIMEOUT, skip_utf8_validation=True
        )

    def send(self, event: dict[str, Any]) -> None:
        self.ws.send(json.dumps(event))

    def append(self, pcm: bytes, chunk_ms: int = 100, bytes_per_ms: int = 48) -> None:
        step = chunk_ms * bytes_per_ms
        for start in range(0, len(pcm), step):
            audio = base64.b64encode(pcm[start : start + step]).decode()
            self.send({"type": "input_audio_buffer.append", "audio": audio})

    def recv(self) -> dict[str, Any]:
        return json.loads(self.ws.recv())  # type: ignore[no-any-return]

    def until(self, event_type: str) -> list[dict[str, Any]]:
        """Every event up to and including the first of ``event_type``."""
        out = []
        for _ in range(MAX_EVENTS):
            event = self.recv()
            out.append(event)
            if event["type"] == event_type:
                return out
        raise AssertionError(f"no {event_type} in {MAX_EVENTS} events")

    def wait_close(self) -> tuple[int, str]:
        """Read until the server's close frame; return its code and reason."""
        for _ in range(MAX_EVENTS):
            opcode, data = self.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big"), data[2:].decode()
        raise AssertionError("no close frame")

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            self.ws.shutdown()  # closes the socket even when the close handshake failed


def types(events: list[dict[str, Any]]) -> list[str]:
    """The event types, with runs of the same delta type collapsed to one."""
    out: list[str] = []
    for event in events:
        if out and out[-1] == event["type"] and event["type"].endswith(".delta"):
            continue
        out.append(event["type"])
    return out


def speech_fixture(
    *, lead_ms: int, speech_ms: int, tail_ms: int, rate: int = 24000, level: float = 0.3
) -> bytes:
    """Silence, a voiced stretch (a 150 Hz tone with harmonics, syllable-shaped), silence."""

    def silence(ms: int) -> np.ndarray:
        return np.zeros(rate * ms // 1000)

    n = rate * speech_ms // 1000
    t = np.arange(n) / rate
    voice = sum(w * np.sin(2 * np.pi * 150 * h * t) for h, w in ((1, 1.0), (2, 0.5), (3, 0.3)))
    # syllables of 200 ms whose envelope never drops below 40 %: one utterance
    envelope = 0.7 + 0.3 * np.cos(2 * np.pi * t / 0.2)
    signal = np.concatenate([silence(lead_ms), level * voice / 1.8 * envelope, silence(tail_ms)])
    return (signal * 32767).astype("<i2").tobytes()


@pytest.fixture
def make_server() -> Iterator[Callable[..., FakeRealtimeServer]]:
    servers: list[FakeRealtimeServer] = []

    def make(**options: Any) -> FakeRealtimeServer:
        options.setdefault("speed", math.inf)
        options.setdefault("speech_engine", "synthetic")
        server = FakeRealtimeServer(**options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    # Every scenario a test scripted keeps the protocol's order (protocol_order.py).
    for server in servers:
        for connection in server.connections:
            if connection.logic is not None:  # replays send what they recorded
                assert_order(wire_events(connection.sent))


@pytest.fixture
def server(make_server: Callable[..., FakeRealtimeServer]) -> FakeRealtimeServer:
    return make_server()


@pytest.fixture
def make_peer() -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def make(url: str, **options: Any) -> Peer:
        peer = Peer(url, **options)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


@pytest.fixture
def peer(server: FakeRealtimeServer, make_peer: Callable[..., Peer]) -> Peer:
    """A connected peer that has read session.created and conversation.created."""
    connected = make_peer(server.url + "?model=gpt-realtime")
    assert ["session.created", "conversation.created"] == [
        connected.recv()["type"],
        connected.recv()["type"],
    ]
    return connected
