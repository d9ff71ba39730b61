"""create_call() against a minimal HTTP server that answers only what the service does."""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from realtime_client import APIError, ConversationClient
from realtime_client import events as ev

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
ANSWER = "v=0\r\no=- 9 2 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


class _Minimal(BaseHTTPRequestHandler):
    reply: tuple[int, dict[str, str], bytes] = (201, {}, b"")
    seen: list[dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        parts = {
            part.get_param("name", header="content-disposition"): (
                part.get_content_type(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        }
        self.seen.append(
            {"path": self.path, "auth": self.headers["Authorization"], "parts": parts}
        )
        status, headers, data = self.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def http() -> Iterator[tuple[str, type[_Minimal]]]:
    handler = type("Handler", (_Minimal,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()
    thread.join(5)


class TestCreateCall:
    def test_multipart_request_and_answer(self, http: Any) -> None:
        """The offer and session go as multipart parts with their content types; the answer
        and the call id (last segment of Location) come back."""
        url, handler = http
        handler.reply = (
            201,
            {"Location": "/v1/realtime/calls/rtc_abc123", "Content-Type": "application/sdp"},
            ANSWER.encode(),
        )
        client = ConversationClient(base_url=url, api_key="sk-test")
        session = ev.RealtimeSessionConfig(model="gpt-realtime", instructions="hi")
        answer = client.create_call(sdp=OFFER, session=session)
        assert (ANSWER, "rtc_abc123") == (answer.sdp, answer.call_id)
        (seen,) = handler.seen
        assert ("/v1/realtime/calls", "Bearer sk-test") == (seen["path"], seen["auth"])
        assert ("application/sdp", OFFER.encode()) == seen["parts"]["sdp"]
        kind, data = seen["parts"]["session"]
        assert "application/json" == kind
        assert {"type": "realtime", "model": "gpt-realtime", "instructions": "hi"} == json.loads(
            data
        )

    def test_without_session_only_the_sdp_part(self, http: Any) -> None:
        """With no session, the form has the sdp part alone."""
        url, handler = http
        handler.reply = (
            201,
            {"Location": "https://api.example/v1/realtime/calls/rtc_1"},
            b"v=0\r\n",
        )
        answer = ConversationClient(base_url=url, api_key="sk-test").create_call(sdp=OFFER)
        assert "rtc_1" == answer.call_id
        assert ["sdp"] == list(handler.seen[0]["parts"])

    @pytest.mark.parametrize(
        ("reply", "match"),
        [
            ((201, {}, b"v=0\r\n"), "Location"),
            ((201, {"Location": "/v1/realtime/calls/rtc_1"}, b"<html>"), "not SDP"),
            (
                (400, {}, json.dumps({"error": {"message": "bad offer", "code": "bad"}}).encode()),
                "bad offer",
            ),
        ],
    )
    def test_bad_answers_are_api_errors(self, http: Any, reply: Any, match: str) -> None:
        """A refusal, an answer without SDP or without a Location is an APIError saying so."""
        url, handler = http
        handler.reply = reply
        with pytest.raises(APIError, match=match):
            ConversationClient(base_url=url, api_key="sk-test").create_call(sdp=OFFER)

    def test_arguments_are_checked_before_sending(self, http: Any) -> None:
        """Not an SDP offer, or a session that is not a realtime config: ValueError, no request."""
        url, handler = http
        client = ConversationClient(base_url=url, api_key="sk-test")
        with pytest.raises(ValueError, match="SDP"):
            client.create_call(sdp="")
        with pytest.raises(ValueError, match="RealtimeSessionConfig"):
            client.create_call(sdp=OFFER, session={"type": "realtime"})  # type: ignore[arg-type]
        assert [] == handler.seen
