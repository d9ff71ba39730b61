"""Faults for testing a client's reliability: failed handshakes with retry hints, resets."""

from __future__ import annotations

import json

import pytest
import websocket

from realtime_client.testing import FakeRealtimeServer

from .conftest import Peer


def _refused(url: str) -> websocket.WebSocketBadStatusException:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(url, header=["Authorization: Bearer sk-test"], timeout=5)
    return info.value


class TestFailedHandshakes:
    def test_two_failures_then_accepted(self, server: FakeRealtimeServer, make_peer) -> None:
        """fail_handshakes(2): the next two handshakes get 503, the third opens a session."""
        server.fail_handshakes(2)
        assert [503, 503] == [_refused(server.url).status_code for _ in range(2)]
        assert "session.created" == make_peer(server.url).recv()["type"]
        assert (3, 2) == (server.handshake_attempts, server.failed_handshakes)

    def test_429_carries_the_retry_hints(self, server: FakeRealtimeServer) -> None:
        """A 429 has the service's JSON body and Retry-After / retry-after-ms headers."""
        server.fail_handshakes(1, 429, retry_after=1.2, retry_after_ms=1200)
        error = _refused(server.url)
        headers = {k.lower(): v for k, v in error.resp_headers.items()}
        body = json.loads(error.resp_body)["error"]
        assert (429, "2", "1200", "rate_limit_exceeded") == (
            error.status_code,
            headers["retry-after"],
            headers["retry-after-ms"],
            body["code"],
        )

    def test_reset_cuts_the_connection_without_an_answer(
        self, server: FakeRealtimeServer, make_peer
    ) -> None:
        """status="reset": the TCP connection ends before any HTTP answer; the next opens."""
        server.fail_handshakes(1, "reset")
        with pytest.raises((websocket.WebSocketException, ConnectionError)) as info:
            websocket.create_connection(
                server.url, header=["Authorization: Bearer sk-test"], timeout=5
            )
        assert not isinstance(info.value, websocket.WebSocketBadStatusException)
        peer: Peer = make_peer(server.url)
        assert "session.created" == peer.recv()["type"]

    def test_failures_queue_in_order(self, server: FakeRealtimeServer) -> None:
        """Calls add up, in order: a 429 then a 500."""
        server.fail_handshakes(1, 429)
        server.fail_handshakes(1, 500)
        assert [429, 500] == [_refused(server.url).status_code for _ in range(2)]

    @pytest.mark.parametrize(
        ("count", "status", "hint"),
        [(-1, 503, None), (1, 200, None), (1, 99, None), (1, 429, -1.0), (1, True, None)],
    )
    def test_bad_arguments_are_refused(
        self, server: FakeRealtimeServer, count: int, status: int, hint: float | None
    ) -> None:
        """A negative count or hint, or a status that is not an HTTP error: ValueError at once."""
        with pytest.raises(ValueError):
            server.fail_handshakes(count, status, retry_after=hint)
        assert 0 == server.handshake_attempts


class TestSilence:
    def test_silenced_connection_answers_no_ping(
        self, server: FakeRealtimeServer, peer: Peer
    ) -> None:
        """silence(): pings go unanswered and nothing is sent, the socket stays open."""
        peer.ws.ping(b"before")
        opcode, data = peer.ws.recv_data(control_frame=True)
        assert (websocket.ABNF.OPCODE_PONG, b"before") == (opcode, data)
        connection = server.wait_for_connection()
        connection.silence()
        connection.resume()  # does not undo silence()
        peer.send({"type": "input_audio_buffer.clear"})
        peer.ws.ping(b"after")
        peer.ws.settimeout(0.5)  # a bounded wait for something that must not come
        with pytest.raises(websocket.WebSocketTimeoutException):
            peer.ws.recv_data(control_frame=True)
        assert not connection.closed

    def test_silence_after_an_event(self, server: FakeRealtimeServer, peer: Peer) -> None:
        """silence(after=...) goes quiet right after that event: the reply stops mid-way."""
        server.wait_for_connection().silence(after="response.created")
        peer.send({"type": "response.create"})
        assert "response.created" == peer.recv()["type"]
        peer.ws.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            peer.recv()
