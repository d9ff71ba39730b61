"""ConversationClient configuration and its REST calls (against a local http.server)."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from realtime_client import APIError, ConnectionClosedError, RealtimeTimeoutError, UsageError
from realtime_client import events as ev
from realtime_client._config import ConversationOptions, azure_endpoint, openai_endpoint
from realtime_client.client import ConversationClient
from realtime_client.testing import FakeTransport


def openai(**kw: Any):
    args = {
        "api_key": None,
        "base_url": None,
        "organization": None,
        "project": None,
        "safety_identifier": None,
        "headers": None,
        "token_provider": None,
        "environ": {},
    }
    args.update(kw)
    return openai_endpoint(**args)


class TestEndpoint:
    def test_defaults_and_environment(self):
        """Default base URL, key from OPENAI_API_KEY, base URL from OPENAI_BASE_URL
        (https becomes wss)."""
        e = openai(environ={"OPENAI_API_KEY": "sk-env"})
        assert "wss://api.openai.com/v1/realtime?model=m" == e.url("/realtime", {"model": "m"})
        assert {"Authorization": "Bearer sk-env"} == e.auth_headers()
        e2 = openai(environ={"OPENAI_BASE_URL": "https://proxy.example/v1"})
        assert ("wss://proxy.example/v1", "https://proxy.example/v1") == (
            e2.ws_base,
            e2.rest_base,
        )

    def test_refuses_keys_over_plain_ws_to_remote_hosts(self):
        """A key over ws:// is refused unless the host is loopback."""
        with pytest.raises(UsageError, match="unencrypted"):
            openai(api_key="sk-x", base_url="ws://example.com/v1")
        for host in ("127.0.0.1", "localhost", "[::1]", "127.8.9.1"):
            assert openai(api_key="sk-x", base_url=f"ws://{host}:9/v1").api_key == "sk-x"
        assert openai(base_url="ws://example.com/v1").api_key is None  # no key: allowed

    def test_secrets_stay_out_of_reprs(self):
        """Neither the endpoint's nor the client's repr shows the key."""
        e = openai(api_key="sk-very-secret")
        client = ConversationClient(api_key="sk-very-secret")
        assert "sk-very-secret" not in repr(e) + repr(client)

    def test_beta_header_refused(self):
        """An OpenAI-Beta header is refused: it selects the retired beta protocol."""
        e = openai(api_key="k", headers={"OpenAI-Beta": "realtime=v1"})
        with pytest.raises(UsageError, match="beta"):
            e.auth_headers()

    def test_header_injection_refused(self):
        """Header values with line breaks are refused."""
        with pytest.raises(UsageError, match="line break"):
            openai(api_key="k\r\nX-Evil: 1").auth_headers()

    def test_token_provider_called_each_time(self):
        """A token provider is called at each connect, and wins over the key."""
        tokens = iter(["t1", "t2"])
        e = openai(api_key="k", token_provider=lambda: next(tokens))
        assert ["Bearer t1", "Bearer t2"] == [e.auth_headers()["Authorization"] for _ in "ab"]

    def test_azure_forms(self):
        """Azure: the classic route with api-version and deployment, or the v1 route."""
        classic = azure_endpoint(
            endpoint="https://res.openai.azure.com",
            deployment="dep",
            api_version="2025-08-28",
            api_key="azk",
            token_provider=None,
            headers=None,
            environ={},
        )
        assert (
            "wss://res.openai.azure.com/openai/realtime?api-version=2025-08-28&deployment=dep"
            == classic.url("/realtime", {})
        )
        assert {"api-key": "azk"} == classic.auth_headers()
        v1 = azure_endpoint(
            endpoint="https://res.openai.azure.com/openai/v1",
            deployment="dep",
            api_version=None,
            api_key=None,
            token_provider=lambda: "entra",
            headers=None,
            environ={},
        )
        assert "wss://res.openai.azure.com/openai/v1/realtime?model=dep" == v1.url("/realtime", {})
        assert {"Authorization": "Bearer entra"} == v1.auth_headers()
        with pytest.raises(UsageError, match="api_key"):
            azure_endpoint(
                endpoint="https://r.openai.azure.com",
                deployment="d",
                api_version=None,
                api_key=None,
                token_provider=None,
                headers=None,
                environ={},
            )


class TestStartConversation:
    def test_options_become_the_first_session_update(self):
        """Options and an explicit session config merge into one session.update;
        the model goes in the URL."""
        made: list[tuple[str, dict[str, str]]] = []
        fake = created_fake()

        def factory(url, headers, timeout):
            made.append((url, dict(headers)))
            return fake

        client = ConversationClient(
            api_key="sk-k", base_url="wss://example.test/v1", transport_factory=factory
        )
        options = ConversationOptions(
            instructions="from options",
            voice="marin",
            turn_detection=None,
            output_modalities=["audio"],
        )
        session_cfg = ev.RealtimeSessionConfig(model="gpt-x", instructions="explicit wins")
        with client.start_conversation(session=session_cfg, options=options):
            update = fake.wait_for_type("session.update")
        assert "wss://example.test/v1/realtime?model=gpt-x" == made[0][0]
        assert "Bearer sk-k" == made[0][1]["Authorization"]
        assert {
            "type": "realtime",
            "instructions": "explicit wins",
            "output_modalities": ["audio"],
            "audio": {"input": {"turn_detection": None}, "output": {"voice": "marin"}},
        } == update["session"]

    def test_returns_once_the_server_created_the_session_then_configures_it(self):
        """start_conversation waits for session.created (the server's first event),
        and only then sends the configuration."""
        fake = FakeTransport()
        client = ConversationClient(api_key="k", transport_factory=lambda u, h, t: fake)
        started: queue.SimpleQueue[object] = queue.SimpleQueue()
        starter = threading.Thread(
            target=lambda: started.put(
                client.start_conversation(options=ConversationOptions(instructions="be brief"))
            ),
            name="test-starter",
        )
        starter.start()
        try:
            with pytest.raises(queue.Empty):
                started.get(timeout=0.2)  # nothing yet: no session.created
            assert [] == fake.sent
            fake.push(_CREATED)
            session = started.get(timeout=5)
            with session:  # type: ignore[attr-defined]
                assert "sess_1" == session.session_id  # type: ignore[attr-defined]
                assert "session.update" == fake.wait_for_type("session.update")["type"]
        finally:
            starter.join(5)

    def test_no_session_created_in_time_is_a_timeout_and_nothing_leaks(self):
        fake = FakeTransport()
        client = ConversationClient(
            api_key="k", connect_timeout=0.2, transport_factory=lambda u, h, t: fake
        )
        with pytest.raises(RealtimeTimeoutError, match=r"no session\.created within 0\.2 s"):
            client.start_conversation()
        assert fake.is_shut_down

    def test_server_closing_instead_of_creating_raises_its_reason(self):
        fake = FakeTransport()
        fake.push(
            ev.ErrorEvent(
                event_id="e1",
                error=ev.ErrorDetails(type="invalid_request_error", message="Model not found"),
            )
        )
        fake.close_from_server(4000, "invalid model")
        client = ConversationClient(api_key="k", transport_factory=lambda u, h, t: fake)
        with pytest.raises(ConnectionClosedError, match="Model not found") as info:
            client.start_conversation(model="gpt-nope")
        assert info.value.code == 4000
        assert fake.is_shut_down

    def test_attach_call_joins_the_call_without_waiting_for_session_created(self):
        """A sideband socket joins a session that exists: the call id goes in the URL
        and the settings are sent at once."""
        made: list[str] = []
        fake = FakeTransport()

        def factory(url, headers, timeout):
            made.append(url)
            return fake

        client = ConversationClient(
            api_key="k", base_url="wss://example.test/v1", transport_factory=factory
        )
        with client.attach_call("rtc_123", options=ConversationOptions(instructions="hi")):
            update = fake.wait_for_type("session.update")
        assert "wss://example.test/v1/realtime?call_id=rtc_123" == made[0]
        assert "hi" == update["session"]["instructions"]
        with pytest.raises(ValueError, match="call_id"):
            client.attach_call("")

    def test_no_settings_no_update(self):
        """Without settings nothing is sent at start."""
        fake = created_fake()
        client = ConversationClient(api_key="k", transport_factory=lambda u, h, t: fake)
        with client.start_conversation():
            pass
        assert [] == fake.sent


_CREATED = ev.SessionCreatedEvent(
    event_id="ev_created", session=ev.RealtimeSessionConfig(id="sess_1")
)


def created_fake() -> FakeTransport:
    """A fake server whose first event, as the real one's, is session.created."""
    fake = FakeTransport()
    fake.push(_CREATED)
    return fake


# --- REST ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, dict[str, Any]]] = {}
    seen: list[tuple[str, dict[str, str], Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.seen.append((self.path, dict(self.headers), json.loads(raw) if raw else None))
        status, body = self.answers.get(self.path.split("?")[0], (200, {}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def rest() -> Iterator[tuple[ConversationClient, type[_Handler]]]:
    handler = type("H", (_Handler,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = ConversationClient(
        api_key="sk-rest", base_url=f"http://127.0.0.1:{server.server_address[1]}/v1"
    )
    yield client, handler
    server.shutdown()
    server.server_close()
    thread.join(5)


class TestRest:
    def test_create_client_secret(self, rest):
        """A client secret request is typed both ways and its value never shows in a repr."""
        client, handler = rest
        handler.answers["/v1/realtime/client_secrets"] = (
            200,
            {
                "value": "ek_abc",
                "expires_at": 1234,
                "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "hi"},
            },
        )
        secret = client.create_client_secret(
            session=ev.RealtimeSessionConfig(model="gpt-realtime"), expires_after_seconds=60
        )
        assert ("ek_abc", 1234) == (secret.value, secret.expires_at)
        assert isinstance(secret.session, ev.RealtimeSessionConfig)
        assert "ek_abc" not in repr(secret)
        _path, headers, body = handler.seen[0]
        assert "Bearer sk-rest" == headers["Authorization"]
        assert {
            "expires_after": {"anchor": "created_at", "seconds": 60},
            "session": {"type": "realtime", "model": "gpt-realtime"},
        } == body
        with pytest.raises(ValueError, match="10 to 7200"):
            client.create_client_secret(expires_after_seconds=5)

    def test_call_control(self, rest):
        """accept/reject/refer/hangup post to the call's paths with typed bodies."""
        client, handler = rest
        client.accept_call("rtc_1", session=ev.RealtimeSessionConfig(instructions="x"))
        client.reject_call("rtc_1", status_code=486)
        client.refer_call("rtc_1", target_uri="tel:+15550100")
        client.hangup_call("rtc/2")
        assert [
            ("/v1/realtime/calls/rtc_1/accept", {"type": "realtime", "instructions": "x"}),
            ("/v1/realtime/calls/rtc_1/reject", {"status_code": 486}),
            ("/v1/realtime/calls/rtc_1/refer", {"target_uri": "tel:+15550100"}),
            ("/v1/realtime/calls/rtc%2F2/hangup", None),
        ] == [(p, b) for p, _, b in handler.seen]

    def test_errors_are_typed(self, rest):
        """A non-2xx answer is an APIError with status, code, type and message."""
        client, handler = rest
        handler.answers["/v1/realtime/calls/rtc_9/hangup"] = (
            404,
            {
                "error": {
                    "message": "Call not found",
                    "type": "invalid_request_error",
                    "code": "nf",
                }
            },
        )
        with pytest.raises(APIError) as raised:
            client.hangup_call("rtc_9")
        err = raised.value
        assert (404, "nf", "invalid_request_error") == (err.status_code, err.code, err.error_type)
        assert "Call not found" in str(err)

    def test_unreachable(self):
        """No server: APIError without a status."""
        import socket

        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        client = ConversationClient(api_key="k", base_url=f"http://127.0.0.1:{port}/v1")
        with pytest.raises(APIError) as raised:
            client.hangup_call("rtc_1")
        assert raised.value.status_code is None


class TestCredentialHeaders:
    def test_credential_headers_over_plain_ws_are_refused(self):
        """Authorization or api-key given as a header obeys the loopback rule too;
        the error names the header, never its value."""
        for name in ("Authorization", "api-key", "API-KEY"):
            with pytest.raises(UsageError, match=f"the {name} header") as info:
                openai(base_url="ws://10.0.0.5/v1", headers={name: "Bearer sk-leak"})
            assert "sk-leak" not in str(info.value)
        allowed = openai(base_url="ws://127.0.0.1:9/v1", headers={"Authorization": "Bearer x"})
        assert {"Authorization": "Bearer x"} == allowed.auth_headers()
        assert openai(base_url="ws://10.0.0.5/v1", headers={"X-Trace": "1"}).auth_headers()

    def test_header_callable_is_checked_at_connect(self):
        """A header callable returning credentials for a remote ws:// address is
        refused when the connection opens, before any transport is made."""
        made: list[object] = []
        client = ConversationClient(
            api_key=None,
            base_url="ws://10.0.0.5/v1",
            headers=lambda: {"Authorization": "Bearer sk-leak"},
            transport_factory=lambda *args: made.append(args) or FakeTransport(),
        )
        with pytest.raises(UsageError, match="the Authorization header") as info:
            client.start_conversation()
        assert "sk-leak" not in str(info.value)
        assert [] == made
