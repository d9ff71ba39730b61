"""Real sockets on 127.0.0.1: the WebSocket transport, handshakes, close codes,
and whole conversations against the offline FakeRealtimeServer."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve

from realtime_client import (
    AuthenticationError,
    ConnectError,
    ConnectionClosedError,
    RealtimeTimeoutError,
    SessionExpiredError,
    UsageError,
)
from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.client import ConversationClient
from realtime_client.session import SessionState
from realtime_client.testing import FakeRealtimeServer

WAIT = 5.0

Handler = Callable[[ServerConnection], None]


CREATED = json.dumps(
    {"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime", "id": "s1"}}
)


@pytest.fixture
def ws_server() -> Iterator[Callable[..., str]]:
    """Start a websockets server with a given handler; yields a starter returning its base URL."""
    servers: list[tuple[Server, threading.Thread]] = []

    def start(handler: Handler, process_request=None) -> str:
        def greeted(connection):  # a Realtime server's first event, then the test's handler
            connection.send(CREATED)
            return handler(connection)

        server = serve(
            greeted,
            "127.0.0.1",
            0,
            process_request=process_request,
            max_size=None,
            compression=None,
            ping_interval=None,
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v1"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(WAIT)


def refuse(status: int, body: bytes):
    def process_request(connection, request):
        headers = Headers({"Content-Type": "application/json", "Content-Length": str(len(body))})
        return Response(status, "Refused", headers, body)

    return process_request


class TestHandshake:
    @pytest.mark.parametrize("status", [401, 403])
    def test_auth_failure_is_typed_with_the_servers_message(self, ws_server, status):
        """401/403 become AuthenticationError carrying status, body and message."""
        body = b'{"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}}'
        url = ws_server(lambda c: None, refuse(status, body))
        client = ConversationClient(base_url=url, api_key="sk-secret-value")
        with pytest.raises(AuthenticationError) as raised:
            client.start_conversation()
        assert status == raised.value.status_code
        assert "Incorrect API key provided." in str(raised.value)
        assert "invalid_api_key" in raised.value.body
        assert "sk-secret-value" not in str(raised.value) + repr(raised.value)

    def test_other_status_is_a_connect_error(self, ws_server):
        """Other refusals are ConnectError (not AuthenticationError) with the status."""
        url = ws_server(lambda c: None, refuse(503, b"overloaded"))
        with pytest.raises(ConnectError) as raised:
            ConversationClient(base_url=url, api_key="k").start_conversation()
        assert type(raised.value) is ConnectError
        assert (503, "overloaded") == (raised.value.status_code, raised.value.body)

    def test_nothing_listening(self):
        """A refused TCP connection is a ConnectError."""
        import socket

        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        client = ConversationClient(base_url=f"ws://127.0.0.1:{port}/v1", api_key="k")
        with pytest.raises(ConnectError, match="cannot connect"):
            client.start_conversation()

    def test_slow_handshake_times_out(self):
        """A handshake slower than connect_timeout raises RealtimeTimeoutError."""
        with FakeRealtimeServer(handshake_delay=2.0) as server:
            client = ConversationClient(base_url=server.base_url, api_key="k", connect_timeout=0.2)
            with pytest.raises(RealtimeTimeoutError):
                client.start_conversation()

    def test_a_trickled_handshake_ends_at_connect_timeout(self):
        """A server (or proxy) that answers the upgrade one byte at a time, each
        within the socket's timeout, still cannot hold start_conversation() past
        connect_timeout as a whole: it raises RealtimeTimeoutError, and the
        handshake's watchdog thread is gone."""
        import socket
        import time

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        stop = threading.Event()

        def trickle() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 101 Switching Protocols\r\nX-Pad: " + b"a" * 200:
                    if stop.wait(0.05):  # a slow network: one byte every 50 ms
                        return
                    try:
                        connection.sendall(bytes((byte,)))
                    except OSError:
                        return

        server = threading.Thread(target=trickle, name="test-trickle")
        server.start()
        try:
            client = ConversationClient(
                base_url=f"ws://127.0.0.1:{listener.getsockname()[1]}/v1",
                api_key="k",
                connect_timeout=0.5,
                max_retries=0,
            )
            started = time.monotonic()
            with pytest.raises(RealtimeTimeoutError, match=r"longer than 0\.5 s"):
                client.start_conversation()
            assert time.monotonic() - started < 0.5 + 4.5  # not the 10 s of bytes
        finally:
            stop.set()
            server.join(WAIT)
            listener.close()
        names = [thread.name for thread in threading.enumerate()]
        assert "realtime-handshake-deadline" not in names

    def test_wrong_key_against_the_offline_server(self):
        """The offline server's 401 surfaces as AuthenticationError."""
        with FakeRealtimeServer(api_key="sk-right") as server:
            client = ConversationClient(base_url=server.base_url, api_key="sk-wrong")
            with pytest.raises(AuthenticationError) as raised:
                client.start_conversation()
            assert 401 == raised.value.status_code

    def test_headers_sent(self, ws_server):
        """Authorization, organization, project and callable headers are sent;
        OpenAI-Beta never is."""
        seen: dict[str, str] = {}
        got = threading.Event()

        def process_request(connection, request):
            seen.update({k.lower(): v for k, v in request.headers.raw_items()})
            seen["path"] = request.path
            got.set()

        calls = []

        def dynamic() -> dict[str, str]:
            calls.append(1)
            return {"X-Token-Gen": str(len(calls))}

        url = ws_server(lambda c: c.recv(), process_request)
        client = ConversationClient(
            base_url=url, api_key="sk-a", organization="org-1", project="proj-1", headers=dynamic
        )
        with client.start_conversation(model="gpt-realtime-mini"):
            assert got.wait(WAIT)
        assert "Bearer sk-a" == seen["authorization"]
        assert ("org-1", "proj-1", "1") == (
            seen["openai-organization"],
            seen["openai-project"],
            seen["x-token-gen"],
        )
        assert "openai-beta" not in seen
        assert "/v1/realtime?model=gpt-realtime-mini" == seen["path"]

    def test_tls_context_only_for_wss_and_loaded_once(self, monkeypatch):
        """A ``ws://`` connection (the offline server) spends nothing on TLS, and
        every ``wss://`` connection without a context of its own verifies with one
        shared default context, so each new session (or reconnection) does not
        reload the system's certificate store."""
        from realtime_client import _handshake

        seen = []

        def create_connection(url, **kwargs):
            seen.append(kwargs.get("sslopt"))
            raise ConnectionRefusedError("refused")

        monkeypatch.setattr(_handshake.websocket, "create_connection", create_connection)
        for url in ("ws://127.0.0.1:9/v1", "wss://a.test/v1", "wss://b.test/v1"):
            with pytest.raises(ConnectError, match="cannot connect"):
                _handshake.open_websocket(url, headers={}, timeout=1.0, ssl_context=None)
        assert seen[0] is None
        first, second = seen[1]["context"], seen[2]["context"]
        assert first is second
        assert first.verify_mode == ssl.CERT_REQUIRED
        assert first.check_hostname


class TestTransport:
    def test_large_and_fragmented_messages(self, ws_server):
        """Messages over 1 MiB and fragmented messages arrive whole; pings are answered."""
        big = ev.ResponseOutputAudioDeltaEvent(
            event_id="e1",
            response_id="r",
            item_id="i",
            output_index=0,
            content_index=0,
            delta=bytes(range(256)) * 12_000,  # ~3 MB
        )
        frame = ev.encode_server_event(big)
        pong = threading.Event()

        def handler(conn: ServerConnection) -> None:
            conn.send(frame)
            conn.send([frame[:1000], frame[1000:5000], frame[5000:]])  # fragmented
            if conn.ping(b"hi").wait(WAIT):
                pong.set()
            conn.send(ev.encode_server_event(big))
            conn.recv()

        url = ws_server(handler)
        with ConversationClient(base_url=url, api_key="k").start_conversation() as session:
            events = session.events(timeout=WAIT)
            assert isinstance(next(events), ev.SessionCreatedEvent)
            got = [next(events) for _ in range(3)]
        assert [big, big, big] == got
        assert pong.is_set()

    def test_server_close_codes(self):
        """Close codes from the offline server: 1011 is ConnectionClosedError with
        code and reason; the maximum duration is SessionExpiredError."""
        with FakeRealtimeServer(max_session_duration=0.3) as server:
            client = ConversationClient(base_url=server.base_url, api_key="k")
            with client.start_conversation() as session:
                with pytest.raises(SessionExpiredError) as raised:
                    list(session.events(timeout=WAIT))
                assert 1001 == raised.value.code
                assert session.wait_closed(WAIT)
            with client.start_conversation() as session:
                server.wait_for_connection(1).close(1011, "server trouble")
                with pytest.raises(ConnectionClosedError) as raised2:
                    list(session.events(timeout=WAIT))
                assert (1011, "server trouble") == (raised2.value.code, raised2.value.reason)

    def test_dropped_connection(self):
        """A TCP drop without a close frame ends the session with ConnectionClosedError."""
        with FakeRealtimeServer() as server:
            client = ConversationClient(base_url=server.base_url, api_key="k")
            with client.start_conversation() as session:
                server.wait_for_connection(0).drop()
                with pytest.raises(ConnectionClosedError) as raised:
                    list(session.events(timeout=WAIT))
                assert raised.value.code is None

    def test_close_while_the_socket_is_full(self, ws_server):
        """A peer that stops reading blocks the writer in the socket; close() still
        returns within its bound and leaves no thread behind."""
        release = threading.Event()

        def handler(conn: ServerConnection) -> None:
            release.wait(WAIT * 2)  # never reads while the client floods

        url = ws_server(handler)
        client = ConversationClient(base_url=url, api_key="k", close_timeout=0.3)
        session = client.start_conversation(
            options=ConversationOptions(send_queue_size=4, send_queue_bytes=64 * 1024 * 1024)
        )
        chunk = bytes(1024 * 1024)
        outcome: list[BaseException] = []

        def flood() -> None:
            try:
                for _ in range(200):  # bounded; far more than the socket buffers hold
                    session.send_audio(chunk)
            except UsageError as exc:
                outcome.append(exc)

        sender = threading.Thread(target=flood)
        sender.start()
        # Wait until the outbox is full: the writer is stuck in the socket.
        for _ in range(500):
            if session._core.conn.queued >= 4:
                break
            threading.Event().wait(0.01)
        session.close()
        sender.join(WAIT)
        release.set()
        assert not sender.is_alive()
        assert SessionState.CLOSED == session.state
        assert [True] == [isinstance(e, UsageError) for e in outcome]


class TestConversation:
    def test_text_turn(self):
        """A text turn end to end: send_text, messages until turn_finished, the
        initial session.update from ConversationOptions applied by the server."""
        with FakeRealtimeServer(speed=float("inf")) as server:
            client = ConversationClient(base_url=server.base_url, api_key="k")
            options = ConversationOptions(output_modalities=["text"], instructions="Be brief.")
            with client.start_conversation(options=options) as session:
                connection = server.wait_for_connection()
                update = connection.wait_for_received("session.update")
                assert "Be brief." == update.session.instructions  # type: ignore[union-attr]
                session.send_text("Hello there")
                text = []
                for message in session.receive_messages(timeout=WAIT):
                    text.append(message.text or "")
                    if message.turn_finished:
                        break
                assert "".join(text)
                assert session.session_id

    def test_transcription_session_url(self):
        """start_transcription connects with intent=transcription and no model."""
        with FakeRealtimeServer() as server:
            client = ConversationClient(base_url=server.base_url, api_key="k")
            with client.start_transcription(
                session=ev.TranscriptionSessionConfig(
                    audio=ev.TranscriptionAudioConfig(
                        input=ev.AudioInputConfig(
                            transcription=ev.InputTranscription(model="gpt-4o-transcribe")
                        )
                    )
                )
            ):
                connection = server.wait_for_connection()
                connection.wait_for_received("session.update")
                assert {"intent": "transcription"} == connection.query
