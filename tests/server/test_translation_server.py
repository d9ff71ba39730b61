"""The offline server's translation endpoint and its REST calls, seen from plain clients.

The WebSocket peer is websocket-client with JSON dicts (the suite's ``Peer``),
and the REST calls go through :mod:`http.client`: nothing of realtime_client's
client side is involved, except where a test says so (record and replay,
``create_call``).
"""

from __future__ import annotations

import base64
import http.client
from pathlib import Path
from typing import Any

import pytest
import websocket

from realtime_client import APIError, ConversationClient
from realtime_client import events as ev
from realtime_client.events import translation as tev
from realtime_client.testing import FakeRealtimeServer
from realtime_client.testing._server._http import sdp_answer
from realtime_client.testing._server._speech import synthesize

from .conftest import Peer

RATE = 24000
CHUNK = RATE * 2 // 5
OFFER = (
    "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n"
)


@pytest.fixture
def server() -> Any:
    with FakeRealtimeServer(transcribe="see you soon", speech_engine="synthetic") as s:
        yield s


def _url(server: FakeRealtimeServer, model: str | None = "gpt-realtime-translate") -> str:
    query = f"?model={model}" if model else ""
    return server.base_url + "/realtime/translations" + query


def _speak(peer: Peer, text: str = "see you soon", tail_s: float = 2.0) -> None:
    audio = (
        b"\0" * CHUNK + synthesize(text, RATE, engine="synthetic") + b"\0" * int(RATE * 2 * tail_s)
    )
    for start in range(0, len(audio), CHUNK):
        chunk = base64.b64encode(audio[start : start + CHUNK]).decode()
        peer.send({"type": "session.input_audio_buffer.append", "audio": chunk})


class TestTranslationSession:
    def test_created_then_paced_output_then_closed(self, server: FakeRealtimeServer) -> None:
        """The output is released as input arrives (elapsed_ms grows), and session.close flushes
        it, answers session.closed and closes the socket with 1000."""
        peer = Peer(_url(server))
        created = peer.recv()
        assert ("session.created", "translation") == (created["type"], created["session"]["type"])
        peer.send({"type": "session.update", "session": {"audio": {"output": {"language": "fr"}}}})
        assert "fr" == peer.recv()["session"]["audio"]["output"]["language"]
        _speak(peer, tail_s=0.6)
        early = []
        peer.send({"type": "session.close"})
        events = peer.until("session.closed")
        early = [e for e in events if e["type"] == "session.output_audio.delta"]
        assert early
        text = "".join(
            e["delta"] for e in events if e["type"] == "session.output_transcript.delta"
        )
        assert "[fr] see you soon" == text
        assert [] == [e for e in events if e["type"] == "session.input_transcript.delta"]
        elapsed = [e["elapsed_ms"] for e in events if "elapsed_ms" in e]
        assert sorted(elapsed) == elapsed
        assert (1000, "") == peer.wait_close()
        peer.close()

    def test_output_is_paced_with_the_input(self, server: FakeRealtimeServer) -> None:
        """Before session.close, only as much translated audio is out as input came after the
        speech: no more than one 200 ms step per 200 ms appended."""
        peer = Peer(_url(server))
        peer.recv()
        _speak(peer, tail_s=1.0)
        conn = server.translations.wait_for_connection()
        conn.wait_for_received("session.input_audio_buffer.append", count=1)
        peer.send({"type": "session.update", "session": {"audio": {"output": {"language": "it"}}}})
        events = peer.until("session.updated")
        audio = b"".join(
            base64.b64decode(e["delta"])
            for e in events
            if e["type"] == "session.output_audio.delta"
        )
        assert 0 < len(audio) <= 1.0 * RATE * 2 + CHUNK
        peer.close()

    def test_input_transcript_when_configured(self, server: FakeRealtimeServer) -> None:
        """With audio.input.transcription set, the source transcript streams as deltas."""
        peer = Peer(_url(server))
        peer.recv()
        transcription = {"transcription": {"model": "gpt-4o-transcribe"}}
        peer.send({"type": "session.update", "session": {"audio": {"input": transcription}}})
        peer.until("session.updated")
        _speak(peer)
        peer.send({"type": "session.close"})
        events = peer.until("session.closed")
        source = "".join(
            e["delta"] for e in events if e["type"] == "session.input_transcript.delta"
        )
        assert "see you soon" == source
        peer.close()


class TestErrors:
    @pytest.mark.parametrize(
        ("session", "param", "code"),
        [
            ({"model": "other"}, "session.model", "invalid_value"),
            (
                {"audio": {"output": {"language": 5}}},
                "session.audio.output.language",
                "invalid_type",
            ),
            (
                {"audio": {"output": {"language": " "}}},
                "session.audio.output.language",
                "invalid_value",
            ),
            (
                {"audio": {"input": {"noise_reduction": {"strength": 1}}}},
                None,
                "missing_required_parameter",
            ),
            ({"audio": {"voice": "x"}}, "session.audio.voice", "unknown_parameter"),
        ],
    )
    def test_bad_updates_get_an_error_and_the_session_goes_on(
        self, server: FakeRealtimeServer, session: dict[str, Any], param: str | None, code: str
    ) -> None:
        """A bad session.update gets an error event naming the parameter; the config stays."""
        peer = Peer(_url(server))
        peer.recv()
        peer.send({"type": "session.update", "event_id": "evt_1", "session": session})
        error = peer.recv()
        assert ("error", code, "evt_1") == (
            error["type"],
            error["error"]["code"],
            error["error"]["event_id"],
        )
        if param is not None:
            assert param == error["error"]["param"]
        peer.send({"type": "session.update", "session": {"audio": {"output": {"language": "es"}}}})
        assert "session.updated" == peer.recv()["type"]
        peer.close()

    def test_conversation_events_are_refused(self, server: FakeRealtimeServer) -> None:
        """A conversation event on a translation socket is an invalid type, listed with the valid ones."""
        peer = Peer(_url(server))
        peer.recv()
        peer.send({"type": "response.create"})
        error = peer.recv()["error"]
        assert "invalid_value" == error["code"]
        assert "session.input_audio_buffer.append" in error["message"]
        peer.close()

    def test_handshake_needs_model_and_key(self, server: FakeRealtimeServer) -> None:
        """No model is HTTP 400; no key is HTTP 401; both before any WebSocket."""
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            Peer(_url(server, model=None))
        assert 400 == info.value.status_code
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            Peer(_url(server), key=None)
        assert 401 == info.value.status_code


class TestRecordReplay:
    def test_a_recorded_translation_replays(self, tmp_path: Path) -> None:
        """A translation connection is recorded as JSONL and a replaying server plays its
        server side back to the library's session, which gets the same transcript."""
        with FakeRealtimeServer(
            transcribe="thanks a lot", speech_engine="synthetic", record_dir=tmp_path
        ) as live:
            client = ConversationClient(base_url=live.base_url, api_key="sk-test")
            with client.start_translation(language="nl") as session:
                audio = synthesize("thanks a lot", RATE, engine="synthetic") + b"\0" * RATE * 4
                for start in range(0, len(audio), CHUNK):
                    session.send_audio(audio[start : start + CHUNK])
                session.close()
                expected = session.target_transcript
            live.translations.wait_for_connection().wait_closed()
        (recording,) = tmp_path.glob("server-*-translation-0.jsonl")
        assert "[nl] thanks a lot" == expected
        with FakeRealtimeServer(replay=recording, speed=50) as replaying:
            client = ConversationClient(base_url=replaying.base_url, api_key="sk-test")
            with client.start_translation(language="nl") as session:
                for start in range(0, len(audio), CHUNK):
                    session.send_audio(audio[start : start + CHUNK])
                session.close()
                assert expected == session.target_transcript
            assert [] == replaying.translations.wait_for_connection().replay_mismatches


class TestCalls:
    def test_create_call_then_attach(self, server: FakeRealtimeServer) -> None:
        """create_call() sends the multipart offer, gets an SDP answer and a call id that
        attach_call() then joins; the server kept the offer and the session."""
        client = ConversationClient(base_url=server.base_url, api_key="sk-test")
        answer = client.create_call(
            sdp=OFFER, session=ev.RealtimeSessionConfig(instructions="Be brief.")
        )
        assert answer.sdp.startswith("v=0\r\n")
        assert "m=audio 9 UDP/TLS/RTP/SAVPF 111" in answer.sdp
        assert "a=mid:1" in answer.sdp
        record = server.calls[answer.call_id]
        assert OFFER == record.offer
        assert record.session is not None
        assert ("realtime", "Be brief.") == (
            record.session["type"],
            record.session["instructions"],
        )
        with client.attach_call(answer.call_id):
            assert answer.call_id == server.wait_for_connection().query["call_id"]
        assert "sdp" not in repr(answer)

    def test_plain_http_request_shape(self, server: FakeRealtimeServer) -> None:
        """The raw exchange: 201, application/sdp body, Location /v1/realtime/calls/rtc_..."""
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        boundary = "b0undary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="sdp"\r\n'
            f"Content-Type: application/sdp\r\n\r\n{OFFER}\r\n--{boundary}--\r\n"
        ).encode()
        conn.request(
            "POST",
            "/v1/realtime/calls",
            body=body,
            headers={
                "Authorization": "Bearer sk-test",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        response = conn.getresponse()
        data = response.read()
        conn.close()
        assert (201, "application/sdp") == (response.status, response.getheader("Content-Type"))
        assert response.getheader("Location", "").startswith("/v1/realtime/calls/rtc_")
        assert data.startswith(b"v=0")

    def test_errors_are_typed(self, server: FakeRealtimeServer) -> None:
        """A refused offer is an APIError with status and code; a bad key is 401; a non-SDP
        argument is a ValueError before anything is sent."""
        client = ConversationClient(base_url=server.base_url, api_key="sk-test")
        with pytest.raises(APIError) as info:
            client.create_call(sdp="v=0\r\ns=-\r\n")
        assert (400, "invalid_offer") == (info.value.status_code, info.value.code)
        with pytest.raises(ValueError, match="SDP"):
            client.create_call(sdp="hello")
        with FakeRealtimeServer(api_key="sk-right") as strict:
            wrong = ConversationClient(base_url=strict.base_url, api_key="sk-wrong")
            with pytest.raises(APIError) as info:
                wrong.create_call(sdp=OFFER)
            assert 401 == info.value.status_code
            assert "sk-wrong" not in str(info.value)

    def test_answer_mirrors_the_offer(self) -> None:
        """The answer has one media section per offered one, with the offer's mids and Opus type."""
        answer = sdp_answer(OFFER.replace("111", "109"))
        assert [
            "m=audio 9 UDP/TLS/RTP/SAVPF 109",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        ] == [line for line in answer.split("\r\n") if line.startswith("m=")]
        with pytest.raises(ValueError, match="media"):
            sdp_answer("v=0\r\ns=-\r\n")


class TestTranslationSecrets:
    def test_translation_client_secret(self, server: FakeRealtimeServer) -> None:
        """create_translation_client_secret() posts the session and returns the typed answer."""
        client = ConversationClient(base_url=server.base_url, api_key="sk-test")
        secret = client.create_translation_client_secret(language="ja", expires_after_seconds=60)
        assert secret.session is not None
        assert isinstance(secret.session, tev.TranslationSession)
        assert secret.session.audio.output == tev.TranslationAudioOutput(language="ja")
        assert secret.value not in repr(secret)
        with pytest.raises(ValueError, match="expires_after_seconds"):
            client.create_translation_client_secret(expires_after_seconds=5)

    def test_a_secret_the_server_issued_opens_a_translation_session(self, make_server) -> None:
        """With api_key set, the client secret the server handed out (the way a
        browser or phone gets its credential) opens the translation socket, as
        the service accepts an ephemeral key; a made-up ek_ value does not."""
        server = make_server(api_key="sk-right")
        client = ConversationClient(base_url=server.base_url, api_key="sk-right")
        secret = client.create_translation_client_secret(language="fr")
        peer = Peer(_url(server), key=secret.value)
        try:
            assert "session.created" == peer.recv()["type"]
        finally:
            peer.close()
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            Peer(_url(server), key="ek_" + "0" * 32)
        assert 401 == info.value.status_code

    def test_a_wrongly_typed_field_is_a_400_not_a_dropped_connection(
        self, server: FakeRealtimeServer
    ) -> None:
        """``audio.output`` given as a string is answered with HTTP 400 naming the
        field, not a connection closed without an answer."""
        import json

        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            body = {"session": {"model": "m", "audio": {"output": "es"}}}
            connection.request(
                "POST",
                "/v1/realtime/translations/client_secrets",
                body=json.dumps(body),
                headers={"Authorization": "Bearer k", "Content-Type": "application/json"},
            )
            answer = connection.getresponse()
            assert 400 == answer.status
            assert "session.audio.output" in json.loads(answer.read())["error"]["message"]
        finally:
            connection.close()

    def test_a_request_that_stops_midway_frees_its_connection(
        self, server: FakeRealtimeServer, monkeypatch
    ) -> None:
        """A client that sends part of a POST and goes quiet has its connection
        closed after the request timeout, instead of holding a server thread."""
        import socket

        from realtime_client.testing._server import _http

        assert _http._Handler.timeout is not None
        assert _http._Handler.timeout <= 30
        monkeypatch.setattr(_http._Handler, "timeout", 0.3)  # the same, quicker
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"POST /v1/realtime/calls HTTP/1.1\r\nContent-Length: 10\r\n")
            assert b"" == sock.recv(1024)  # closed by the server, well within 5 s


def test_a_translation_session_ends_at_the_maximum_duration(make_server) -> None:
    """As a conversation does, a translation session that reaches
    max_session_duration is closed with 1001 and the service's reason, so a
    client's handling of the 60-minute limit can be tested offline."""
    from realtime_client.testing import MAX_DURATION_REASON

    server = make_server(max_session_duration=0.3)
    peer = Peer(_url(server))
    try:
        assert "session.created" == peer.recv()["type"]
        assert (1001, MAX_DURATION_REASON) == peer.wait_close()
    finally:
        peer.close()
    connection = server.translations.wait_for_connection()
    assert connection.wait_closed()
    assert 1001 == connection.close_code
