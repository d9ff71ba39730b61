"""The official openai SDK's reconnection against the offline server's reliability faults.

The SDK reconnects (when given ``on_reconnecting``) after a recoverable close:
a dropped TCP connection (1006) or the session limit (1001). Its new handshakes
meet the server's transient failures, which it retries with backoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai

from .conftest import KEY

MAX_EVENTS = 100


def _client(server: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=KEY,
        base_url=server.base_url.replace("ws://", "http://"),
        websocket_base_url=server.base_url,
        max_retries=0,
    )


def _connect(server: Any, attempts: list[int]) -> Any:
    def reconnecting(event: Any) -> None:
        attempts.append(event.attempt)

    return _client(server).realtime.connect(
        model="gpt-realtime",
        on_reconnecting=reconnecting,
        initial_delay=0.01,
        max_delay=0.05,
        max_retries=5,
    )


def _events(connection: Any) -> Iterator[Any]:
    for count, event in enumerate(connection):
        if count >= MAX_EVENTS:
            raise AssertionError(f"more than {MAX_EVENTS} events")
        yield event


class TestReconnect:
    def test_drop_then_two_failed_handshakes(self, make_server: Any) -> None:
        """A drop, then two 503 handshakes: the SDK's third attempt opens a new session."""
        server = make_server()
        attempts: list[int] = []
        with _connect(server, attempts) as connection:
            events = _events(connection)
            assert "session.created" == next(events).type
            server.fail_handshakes(2, 503, retry_after_ms=10)
            server.wait_for_connection(0).drop()
            new = next(e for e in events if e.type == "session.created")
            assert new.session.id != server.connections[0].session.id  # type: ignore[union-attr]
        assert ([1, 2, 3], 2) == (attempts, server.failed_handshakes)
        assert 2 == len(server.connections)

    def test_session_limit_closes_with_1001_and_the_sdk_reconnects(self, make_server: Any) -> None:
        """max_session_duration ends the session with 1001; the SDK starts a new one."""
        server = make_server(max_session_duration=0.5)
        attempts: list[int] = []
        with _connect(server, attempts) as connection:
            events = _events(connection)
            assert "session.created" == next(events).type
            assert "session.created" == next(e for e in events if e.type == "session.created").type
        first = server.connections[0]
        assert first.wait_closed()
        assert (1001, [1]) == (first.close_code, attempts)
