"""Connect retries of ConversationClient against the offline server (#12 item 1)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from realtime_client import AuthenticationError, ConnectError, ConversationClient
from realtime_client.testing import FakeRealtimeServer

KEY = "sk-test-secret-key"


@pytest.fixture
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer(api_key=KEY, speed=50) as srv:
        yield srv


def _client(server: FakeRealtimeServer, waits: list[float], **kw: object) -> ConversationClient:
    client = ConversationClient(base_url=server.base_url, api_key=KEY, **kw)  # type: ignore[arg-type]
    client._connector.sleep = waits.append  # record the backoff instead of sleeping
    return client


class TestConnectRetries:
    def test_two_transient_failures_then_success_with_the_defaults(
        self, server: FakeRealtimeServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A 503 then a reset handshake are retried (the default two retries) and the
        session opens; each retry is logged at INFO without the key."""
        server.fail_handshakes(1, 503)
        server.fail_handshakes(1, "reset")
        waits: list[float] = []
        caplog.set_level(logging.INFO, logger="realtime_client")
        with _client(server, waits).start_conversation() as session:
            assert session.session_id
        assert (3, 2, 2) == (server.handshake_attempts, server.failed_handshakes, len(waits))
        assert 0.375 <= waits[0] <= 0.5
        assert 0.75 <= waits[1] <= 1.0
        retries = [r for r in caplog.records if "retrying" in r.getMessage()]
        assert [logging.INFO, logging.INFO] == [r.levelno for r in retries]
        assert all(KEY not in r.getMessage() for r in caplog.records)

    def test_401_fails_at_once(self) -> None:
        """A refused key is not retried: one handshake, AuthenticationError, attempts 1."""
        with FakeRealtimeServer(api_key="sk-other") as srv:
            waits: list[float] = []
            with pytest.raises(AuthenticationError) as info:
                _client(srv, waits).start_conversation()
            assert (1, [], 1) == (srv.handshake_attempts, waits, info.value.attempts)
            assert KEY not in str(info.value)

    def test_429_waits_as_the_server_asks(self, server: FakeRealtimeServer) -> None:
        """retry-after-ms is honoured over the backoff: the recorded wait is 1.25 s."""
        server.fail_handshakes(1, 429, retry_after_ms=1250)
        waits: list[float] = []
        with _client(server, waits).start_conversation():
            pass
        assert [1.25] == waits

    def test_retry_after_seconds(self, server: FakeRealtimeServer) -> None:
        """Retry-After in seconds is honoured when retry-after-ms is absent."""
        server.fail_handshakes(1, 503, retry_after=3)
        waits: list[float] = []
        with _client(server, waits).start_conversation():
            pass
        assert [3.0] == waits

    def test_gives_up_saying_how_many_attempts(self, server: FakeRealtimeServer) -> None:
        """Three 503s with two retries: the error is the last one and says 3 attempts."""
        server.fail_handshakes(3, 503)
        waits: list[float] = []
        with pytest.raises(ConnectError) as info:
            _client(server, waits).start_conversation()
        assert (3, 3, 503) == (
            server.handshake_attempts,
            info.value.attempts,
            info.value.status_code,
        )
        assert "after 3 attempts" in str(info.value)

    def test_zero_turns_retrying_off(self, server: FakeRealtimeServer) -> None:
        """max_retries=0: the first transient failure is final."""
        server.fail_handshakes(1, 503)
        waits: list[float] = []
        with pytest.raises(ConnectError):
            _client(server, waits, max_retries=0).start_conversation()
        assert (1, []) == (server.handshake_attempts, waits)

    @pytest.mark.parametrize(
        ("value", "error"), [(-1, ValueError), ("2", TypeError), (True, TypeError)]
    )
    def test_checked_before_connecting(
        self, server: FakeRealtimeServer, value: object, error: type[Exception]
    ) -> None:
        """A bad max_retries is refused by the constructor, naming the argument."""
        with pytest.raises(error, match="max_retries"):
            ConversationClient(base_url=server.base_url, api_key=KEY, max_retries=value)  # type: ignore[arg-type]
        assert 0 == server.handshake_attempts
