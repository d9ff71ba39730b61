"""The handshake, session.created / session.update, and errors for bad client events."""

from __future__ import annotations

import json
import threading
import time

import pytest
import websocket

from realtime_client.testing import FakeRealtimeServer

from .conftest import Peer


def _handshake_error(url: str, headers: list[str]) -> websocket.WebSocketBadStatusException:
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(url, header=headers, timeout=5)
    return info.value


class TestHandshake:
    def test_no_key_is_accepted_unless_one_is_expected(self, server: FakeRealtimeServer) -> None:
        """A server not given api_key opens a session for a client that sends no key."""
        ws = websocket.create_connection(server.url, timeout=5)
        try:
            assert "session.created" == json.loads(ws.recv())["type"]
        finally:
            ws.close()

    def test_missing_key_is_401_with_json_body(self, make_server) -> None:
        """No Authorization header when a key is expected: HTTP 401 and an OpenAI-style
        JSON error body."""
        server = make_server(api_key="sk-right")
        err = _handshake_error(server.url, [])
        assert 401 == err.status_code
        body = json.loads(err.resp_body)
        assert "invalid_request_error" == body["error"]["type"]
        assert "missing_api_key" == body["error"]["code"]

    def test_wrong_key_is_401_and_never_echoed(self, make_server) -> None:
        """A key other than the expected one is refused; the body does not repeat it."""
        server = make_server(api_key="sk-right")
        err = _handshake_error(server.url, ["Authorization: Bearer sk-wrong-secret"])
        assert 401 == err.status_code
        assert "invalid_api_key" == json.loads(err.resp_body)["error"]["code"]
        assert b"sk-wrong-secret" not in err.resp_body
        assert "sk-right" not in repr(server.__dict__.get("_settings"))

    def test_right_key_and_azure_header(self, make_server, make_peer) -> None:
        """The expected key opens a session, as a Bearer token or an Azure api-key header."""
        server = make_server(api_key="sk-right")
        assert "session.created" == make_peer(server.url, key="sk-right").recv()["type"]
        ws = websocket.create_connection(server.url, header=["api-key: sk-right"], timeout=5)
        try:
            assert "session.created" == json.loads(ws.recv())["type"]
        finally:
            ws.close()

    def test_unknown_path_is_404(self, server: FakeRealtimeServer) -> None:
        """Only the realtime endpoint exists."""
        err = _handshake_error(server.base_url + "/chat", ["Authorization: Bearer k"])
        assert 404 == err.status_code

    def test_bad_intent_is_400(self, server: FakeRealtimeServer) -> None:
        """intent accepts only 'transcription'."""
        err = _handshake_error(server.url + "?intent=chat", ["Authorization: Bearer k"])
        assert 400 == err.status_code
        assert "intent" == json.loads(err.resp_body)["error"]["param"]

    def test_query_parameters_reach_the_session(self, server, make_peer) -> None:
        """model names the session's model; call_id is accepted and kept on the handle."""
        created = make_peer(server.url + "?model=gpt-realtime-mini&call_id=rtc_123").recv()
        assert "gpt-realtime-mini" == created["session"]["model"]
        assert "rtc_123" == server.wait_for_connection().query["call_id"]

    def test_handshake_delay(self, make_server, make_peer) -> None:
        """handshake_delay holds the upgrade answer for that long."""
        server = make_server(handshake_delay=0.3)
        started = time.monotonic()
        make_peer(server.url).recv()
        assert time.monotonic() - started >= 0.3


class TestSessionCreated:
    def test_realistic_defaults(self, server: FakeRealtimeServer, make_peer) -> None:
        """session.created carries the service's full default session."""
        created = make_peer(server.url + "?model=gpt-realtime").recv()
        session = created["session"]
        assert created["event_id"].startswith("event_")
        assert session["id"].startswith("sess_")
        assert "realtime.session" == session["object"]
        assert session["expires_at"] > time.time() + 3500
        assert ["audio"] == session["output_modalities"]
        assert {"type": "audio/pcm", "rate": 24000} == session["audio"]["input"]["format"]
        assert {"type": "audio/pcm", "rate": 24000} == session["audio"]["output"]["format"]
        assert "marin" == session["audio"]["output"]["voice"]
        assert {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
            "create_response": True,
            "interrupt_response": True,
            "idle_timeout_ms": None,
        } == session["audio"]["input"]["turn_detection"]
        assert session["audio"]["input"]["transcription"] is None
        assert "auto" == session["tool_choice"]
        assert session["tracing"] is None
        assert "auto" == session["truncation"]
        assert "inf" == session["max_output_tokens"]

    def test_transcription_session(self, server: FakeRealtimeServer, make_peer) -> None:
        """intent=transcription opens a transcription session; it refuses response.create."""
        peer = make_peer(server.url + "?intent=transcription")
        session = peer.recv()["session"]
        assert "transcription" == session["type"]
        peer.send({"type": "response.create", "event_id": "ev1"})
        error = peer.recv()
        assert "error" == error["type"]
        assert "ev1" == error["error"]["event_id"]


class TestSessionUpdate:
    def test_merges_and_reports_everything(self, peer: Peer) -> None:
        """Fields set change; others stay; turn detection of the same type merges."""
        peer.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "instructions": "Be brief.",
                    "output_modalities": ["text"],
                    "audio": {
                        "input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}
                    },
                },
            }
        )
        session = peer.recv()["session"]
        assert "Be brief." == session["instructions"]
        assert ["text"] == session["output_modalities"]
        td = session["audio"]["input"]["turn_detection"]
        assert (0.7, 500) == (td["threshold"], td["silence_duration_ms"])
        assert "marin" == session["audio"]["output"]["voice"]

    def test_null_turn_detection_means_manual(self, peer: Peer) -> None:
        """turn_detection: null is kept as null."""
        peer.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        assert peer.recv()["session"]["audio"]["input"]["turn_detection"] is None

    @pytest.mark.parametrize(
        ("session", "code", "param"),
        [
            ({"type": "transcription"}, "invalid_value", "session.type"),
            (
                {"type": "realtime", "audio": {"output": {"voice": "robot"}}},
                "invalid_value",
                "session.audio.output.voice",
            ),
            (
                {
                    "type": "realtime",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
                },
                "invalid_value",
                "session.audio.input.turn_detection.threshold",
            ),
            ({"type": "realtime", "colour": "blue"}, "unknown_parameter", "session.colour"),
            ({"type": "realtime", "instructions": 5}, "invalid_type", "session.instructions"),
        ],
    )
    def test_invalid_updates(self, peer: Peer, session, code, param) -> None:
        """A bad session.update gets the real error and changes nothing."""
        peer.send({"type": "session.update", "event_id": "evt_9", "session": session})
        error = peer.recv()
        assert ("error", code, param, "evt_9") == (
            error["type"],
            error["error"]["code"],
            error["error"]["param"],
            error["error"]["event_id"],
        )
        assert "invalid_request_error" == error["error"]["type"]
        peer.send({"type": "input_audio_buffer.clear"})
        assert "input_audio_buffer.cleared" == peer.recv()["type"]  # the session goes on


class TestBadFrames:
    @pytest.mark.parametrize(
        ("frame", "code"),
        [
            ("not json", "invalid_json"),
            ("[1, 2]", "invalid_event"),
            ('{"event_id": "x"}', "invalid_event"),
            ('{"type": "response.explode", "event_id": "e5"}', "invalid_value"),
            (
                '{"type": "conversation.item.create", "item": {"type": "message", "role": "user"}}',
                "missing_required_parameter",
            ),
        ],
    )
    def test_error_and_the_session_continues(self, peer: Peer, frame: str, code: str) -> None:
        """Malformed or invalid frames get an error event; the connection stays usable."""
        peer.ws.send(frame)
        error = peer.recv()
        assert ("error", code) == (error["type"], error["error"]["code"])
        assert error["error"]["message"]
        peer.send({"type": "input_audio_buffer.clear"})
        assert "input_audio_buffer.cleared" == peer.recv()["type"]

    def test_absent_param_and_event_id_are_null(self, peer: Peer) -> None:
        """Like the service, an error frame always has param and event_id, null when absent."""
        peer.send({"type": "response.cancel"})
        error = peer.recv()
        assert {
            "type": "invalid_request_error",
            "code": "response_cancel_not_active",
            "message": "Cancellation failed: no active response found",
            "param": None,
            "event_id": None,
        } == error["error"]

    def test_binary_garbage(self, peer: Peer) -> None:
        """A binary frame that is not UTF-8 is an error too, not a crash."""
        peer.ws.send_binary(b"\xff\xfe\x00")
        assert "error" == peer.recv()["type"]

    def test_received_keeps_decoded_events(self, server: FakeRealtimeServer, peer: Peer) -> None:
        """The handle records what the server received, decoded."""
        peer.send({"type": "input_audio_buffer.clear", "event_id": "c1"})
        conn = server.wait_for_connection()
        event = conn.wait_for_received("input_audio_buffer.clear")
        assert "c1" == event.event_id  # type: ignore[union-attr]


def test_serve_forever_reports_url_and_stops() -> None:
    """serve_forever() reports its base URL and returns once stop_event is set."""
    from realtime_client.testing._server import serve_forever

    urls: list[str] = []
    ready = threading.Event()
    stop = threading.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    thread = threading.Thread(
        target=serve_forever, kwargs={"ready": on_ready, "stop_event": stop}, name="test-serve"
    )
    thread.start()
    try:
        assert ready.wait(5)
        assert urls[0].startswith("ws://127.0.0.1:")
        assert urls[0].endswith("/v1")
        peer = Peer(urls[0] + "/realtime")
        assert "session.created" == peer.recv()["type"]
        peer.close()
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
