"""Reconnection with context replay, against the offline server (#12 item 2)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_client import (
    ConnectionClosedError,
    ConversationClient,
    ConversationOptions,
    ReconnectPolicy,
    SessionReconnected,
    UsageError,
)
from realtime_client.messages import MessageKind
from realtime_client.testing import FakeRealtimeServer

KEY = "sk-test"
WAIT = 10.0


@pytest.fixture
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer(api_key=KEY, speed=50) as srv:
        yield srv


def _options(**policy: Any) -> ConversationOptions:
    reconnect: bool | ReconnectPolicy = ReconnectPolicy(**policy) if policy else True
    return ConversationOptions(reconnect=reconnect, output_modalities=["text"])


def _client(server: FakeRealtimeServer, **kw: Any) -> ConversationClient:
    client = ConversationClient(base_url=server.base_url, api_key=KEY, **kw)
    client._connector.sleep = lambda _: None
    return client


def _notices(session: Any) -> queue.Queue[SessionReconnected]:
    seen: queue.Queue[SessionReconnected] = queue.Queue()
    session.on("session.reconnected", seen.put)
    return seen


def _server_items(server: FakeRealtimeServer, index: int) -> list[tuple[str, str]]:
    conn = server.wait_for_connection(index)
    assert conn.logic is not None
    texts = []
    for item in conn.logic.conversation.items:
        parts = getattr(item, "content", None) or []
        text = " ".join(
            getattr(p, "text", None) or getattr(p, "transcript", None) or "" for p in parts
        )
        texts.append((getattr(item, "role", item.type), text))
    return texts


class TestReconnection:
    def test_a_drop_between_turns_replays_the_conversation(
        self, server: FakeRealtimeServer
    ) -> None:
        """After a TCP drop the session reconnects, replays its items in order, reports
        SessionReconnected, and the next question is answered on the new connection."""
        with _client(server).start_conversation(options=_options()) as session:
            seen = _notices(session)
            assert "hello" in session.ask("hello", timeout=WAIT).text
            server.wait_for_connection(0).drop()
            notice = seen.get(timeout=WAIT)
            assert (1, 2, False) == (notice.attempt, notice.items_replayed, notice.rollover)
            assert 0 <= notice.seconds_away < WAIT
            assert "again" in session.ask("again", timeout=WAIT).text
            items = _server_items(server, 1)
        assert [r for r, _ in items] == ["user", "assistant", "user", "assistant"]
        assert items[0] == ("user", "hello")
        assert items[2] == ("user", "again")

    def test_the_configuration_is_applied_again(self, server: FakeRealtimeServer) -> None:
        """Instructions and tools reach the new connection before any item."""

        def lookup(city: str) -> str:
            """Look a city up."""
            return city

        options = ConversationOptions(reconnect=True, instructions="be brief", tools=[lookup])
        with _client(server).start_conversation(options=options) as session:
            seen = _notices(session)
            server.wait_for_connection(0).drop()
            seen.get(timeout=WAIT)
            conn = server.wait_for_connection(1)
            conn.wait_for_sent("session.updated")
            config = conn.session
            assert config is not None
            assert "be brief" == config.instructions
            assert ["lookup"] == [t.name for t in config.tools or ()]

    def test_a_response_cut_by_the_drop_ends_incomplete(self, server: FakeRealtimeServer) -> None:
        """A drop mid-response: its handle resolves with status incomplete and reason
        connection_lost; the iterator sees the turn finish and the reconnection, then
        the next answer, and never raises."""
        with _client(server).start_conversation(options=_options()) as session:
            server.wait_for_connection(0).drop(after="response.output_text.delta")
            turn = session.ask("tell me a long story", timeout=WAIT)
            assert ("incomplete", "connection_lost") == (
                turn.status,
                turn.status_details.reason if turn.status_details else None,
            )
            kinds: list[MessageKind] = []
            for message in session.receive_messages(timeout=WAIT):
                kinds.append(message.kind)
                if message.kind is MessageKind.RECONNECTED:
                    break
            assert MessageKind.TURN_FINISHED in kinds
            assert "second" in session.ask("second", timeout=WAIT).text

    def test_a_queued_request_goes_out_once_reconnected(self, server: FakeRealtimeServer) -> None:
        """A request waiting behind the cut response is sent on the new connection."""
        with _client(server).start_conversation(options=_options()) as session:
            server.wait_for_connection(0).drop(after="response.output_text.delta")
            first = session.create_response()
            second = session.create_response()
            assert "incomplete" == first.result(WAIT).status
            assert "completed" == second.result(WAIT).status
            sent = server.wait_for_connection(1).received
            assert 1 == sum(e.type == "response.create" for e in sent)

    def test_a_silent_peer_is_left_for_a_new_connection(self, server: FakeRealtimeServer) -> None:
        """A peer that stops answering pings is detected and replaced."""
        client = _client(server, ping_interval=0.2, pong_timeout=0.3)
        with client.start_conversation(options=_options()) as session:
            seen = _notices(session)
            server.wait_for_connection(0).silence()
            assert "unanswered" not in seen.get(timeout=WAIT).reason
            assert "ok" in session.ask("ok", timeout=WAIT).text

    @pytest.mark.parametrize("code", [1011, 1001])
    def test_server_errors_reconnect(self, server: FakeRealtimeServer, code: int) -> None:
        """1011 and a 1001 other than expiry are reconnected."""
        with _client(server).start_conversation(options=_options()) as session:
            seen = _notices(session)
            server.wait_for_connection(0).close(code, "going away")
            notice = seen.get(timeout=WAIT)
            assert (1, False, 2) == (notice.attempt, notice.rollover, server.handshake_attempts)
            assert "going away" in notice.reason

    def test_a_clean_close_by_the_server_ends_the_session(
        self, server: FakeRealtimeServer
    ) -> None:
        """Code 1000 is the server's decision: no reconnection."""
        session = _client(server).start_conversation(options=_options())
        server.wait_for_connection(0).close(1000, "bye")
        for _ in session.events(timeout=WAIT):
            pass
        assert 1 == server.handshake_attempts
        session.close()

    def test_giving_up_ends_with_the_original_error(self, server: FakeRealtimeServer) -> None:
        """When every attempt fails (here a refused key), the session ends with the
        drop's ConnectionClosedError, as without reconnection."""
        session = _client(server).start_conversation(options=_options(max_attempts=2))
        server.fail_handshakes(5, 401)
        server.wait_for_connection(0).drop()
        with pytest.raises(ConnectionClosedError):
            for _ in session.events(timeout=WAIT):
                pass
        assert 2 == server.handshake_attempts  # the 401 was not retried
        session.close()

    def test_retries_transient_failures_with_backoff(self, server: FakeRealtimeServer) -> None:
        """Two 503s, then the third attempt reconnects (attempt 3 reported)."""
        with _client(server).start_conversation(options=_options(backoff_initial=0.01)) as session:
            seen = _notices(session)
            server.fail_handshakes(2, 503)
            server.wait_for_connection(0).drop()
            assert 3 == seen.get(timeout=WAIT).attempt

    def test_close_while_reconnecting_is_bounded(self, server: FakeRealtimeServer) -> None:
        """Closing during the backoff stops the reconnection; no thread is left."""
        session = _client(server).start_conversation(
            options=_options(backoff_initial=30.0, max_attempts=3)
        )
        failed = threading.Event()

        class Seen(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "reconnection attempt 1 of 3 failed" in record.getMessage():
                    failed.set()

        handler = Seen(logging.INFO)
        log = logging.getLogger("realtime_client")
        log.addHandler(handler)
        old_level = log.level
        log.setLevel(logging.INFO)
        try:
            server.fail_handshakes(5, 503)
            server.wait_for_connection(0).drop()
            assert failed.wait(WAIT)  # now in a 30 s backoff
            started = time.monotonic()
            session.close(timeout=1.0)
            assert time.monotonic() - started < 3.0
        finally:
            log.removeHandler(handler)
            log.setLevel(old_level)
        assert isinstance(
            session.close_info.error if session.close_info else None, ConnectionClosedError
        )
        assert 2 == server.handshake_attempts

    def test_a_callback_on_the_new_reader_may_not_block_on_a_handle(
        self, server: FakeRealtimeServer
    ) -> None:
        """After a reconnection the new reader thread is the one handles refuse to
        block (UsageError at once, not a wait for itself)."""
        errors: queue.Queue[BaseException] = queue.Queue()
        with _client(server).start_conversation(options=_options()) as session:
            seen = _notices(session)
            server.wait_for_connection(0).drop()
            seen.get(timeout=WAIT)
            handles: list[Any] = []

            def on_created(event: Any) -> None:
                try:
                    handles[0].result(timeout=WAIT)
                except Exception as exc:
                    errors.put(exc)

            session.on("response.created", on_created)
            handles.append(session.create_response())  # before its response.created
            handles[0].result(timeout=WAIT)
            assert isinstance(errors.get(timeout=WAIT), UsageError)

    def test_a_new_connection_that_fails_at_once_is_replaced_too(self) -> None:
        """The second connection ends with 1011 right after session.updated (while the
        reconnection that opened it is finishing): the session reconnects again."""

        def on_connect(conn: Any) -> None:
            if conn.index == 1:
                conn.close(1011, "internal error", after="session.updated")

        with (
            FakeRealtimeServer(api_key=KEY, speed=50, on_connect=on_connect) as server,
            _client(server).start_conversation(options=_options()) as session,
        ):
            seen = _notices(session)
            server.wait_for_connection(0).drop()
            assert "answered" in session.ask("answered", timeout=WAIT).text
            assert 3 == len(server.connections)
            seen.get(timeout=WAIT)

    def test_off_by_default(self, server: FakeRealtimeServer) -> None:
        """Without reconnect=True a drop ends the session with ConnectionClosedError."""
        session = _client(server).start_conversation()
        server.wait_for_connection(0).drop()
        with pytest.raises(ConnectionClosedError):
            for _ in session.events(timeout=WAIT):
                pass
        session.close()
