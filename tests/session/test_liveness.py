"""Liveness on real sockets: a peer that stops reading and answering is found
within ping_interval + pong_timeout, idle or streaming, and every consumer hears
of it as ConnectionClosedError; no send blocks past that bound. Conversation and
translation sessions alike (they share the core)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from realtime_client import ConnectionClosedError, SendQueueFullError
from realtime_client.client import ConversationClient
from realtime_client.session import CloseInfo, SessionState
from tests.session._peers import PeerConnection, RawPeer, stop_reading

WAIT = 5.0
PING = 0.3
PONG = 0.3
BOUND = PING + PONG
SLACK = 1.5  # the socket's tick, thread wake-ups and a loaded machine


def _client(peer: RawPeer) -> ConversationClient:
    return ConversationClient(
        base_url=peer.base_url,
        api_key="sk-test",
        ping_interval=PING,
        pong_timeout=PONG,
        close_timeout=0.5,
    )


class TestHalfOpenPeer:
    def test_detected_while_streaming_and_reported_everywhere(self):
        """A peer that stops reading while the app streams audio with timeout=None:
        the stuck send gives up, the session closes within ping_interval + pong_timeout
        (plus slack), and the sender, the iterator, on_error and on_close all get
        ConnectionClosedError."""
        closes: list[CloseInfo] = []
        errors: list[BaseException] = []
        with RawPeer(lambda c: None, rcvbuf=4096) as peer:
            peer._handler = stop_reading(peer)
            session = _client(peer).start_conversation(
                on_close=closes.append, on_error=errors.append
            )
            started = time.monotonic()
            outcome: list[BaseException] = []

            def stream() -> None:
                chunk = bytes(256 * 1024)
                try:
                    for _ in range(2000):  # bounded: far more than every buffer holds
                        session.send_audio(chunk)  # timeout=None: must still come back
                except BaseException as exc:
                    outcome.append(exc)

            sender = threading.Thread(target=stream, name="test-streamer")
            sender.start()
            assert session.wait_closed(BOUND + SLACK + WAIT)
            elapsed = time.monotonic() - started
            sender.join(WAIT)
            assert not sender.is_alive()
            assert elapsed < BOUND + SLACK, elapsed
            error = session.close_info.error  # type: ignore[union-attr]
            assert isinstance(error, ConnectionClosedError)
            assert "connection is dead" in str(error)
            assert [True] == [isinstance(e, ConnectionClosedError) for e in outcome]
            assert error in errors
            assert [error] == [c.error for c in closes]
            with pytest.raises(ConnectionClosedError):
                list(session.events(timeout=WAIT))
            assert SessionState.CLOSED == session.state

    def test_detected_while_idle(self):
        """Idle, the same peer is found by the unanswered ping within the same bound."""
        with RawPeer(lambda c: None) as peer:
            peer._handler = stop_reading(peer)
            session = _client(peer).start_conversation()
            started = time.monotonic()
            assert session.wait_closed(BOUND + SLACK + WAIT)
            assert time.monotonic() - started < BOUND + SLACK
            error = session.close_info.error  # type: ignore[union-attr]
            assert isinstance(error, ConnectionClosedError)
            with pytest.raises(ConnectionClosedError):
                list(session.events(timeout=WAIT))

    def test_a_send_with_a_timeout_returns_by_its_timeout(self):
        """send_audio(timeout=...) on a stuck connection raises SendQueueFullError by its
        own timeout, having queued nothing; the session is still found dead later."""
        with RawPeer(lambda c: None, rcvbuf=4096) as peer:
            peer._handler = stop_reading(peer)
            session = _client(peer).start_conversation()
            refused: list[BaseException] = []
            try:
                for _ in range(2000):  # bounded
                    session.send_audio(bytes(256 * 1024), timeout=0.05)
            except (SendQueueFullError, ConnectionClosedError) as exc:
                refused.append(exc)
            finally:
                assert session.wait_closed(BOUND + SLACK + WAIT)
                session.close()
            assert len(refused) == 1


class TestLivePeer:
    def test_a_peer_that_answers_pings_stays_open(self):
        """A silent peer that answers every ping keeps the session open: three pings
        answered (each after ping_interval of silence, so well past the bound)."""
        answered = threading.Event()

        def handler(connection: PeerConnection) -> None:
            connection.on_ping = lambda n: answered.set() if n >= 3 else None
            try:
                for _ in range(50):  # bounded: answers pings until the client closes
                    connection.read_event()
            except (ConnectionError, OSError):
                pass

        with RawPeer(handler) as peer:
            session = _client(peer).start_conversation()
            assert answered.wait(BOUND * 3 + WAIT)
            assert SessionState.OPEN == session.state
            session.close()
            assert session.close_info.error is None  # type: ignore[union-attr]


TRANSLATION_CREATED = {
    "type": "session.created",
    "event_id": "ev_0",
    "session": {"type": "translation", "id": "sess_t", "model": "m", "expires_at": 1, "audio": {}},
}


def _half_open_translator(peer: RawPeer) -> Callable[[PeerConnection], None]:
    """A translation server that creates the session, then never reads or answers again."""

    def handler(connection: PeerConnection) -> None:
        connection.send_event(TRANSLATION_CREATED)
        peer.release.wait(WAIT * 4)

    return handler


class TestTranslationSessionLiveness:
    def test_detected_while_streaming_and_reported_everywhere(self):
        """A translation peer that stops reading while the app streams audio with
        timeout=None is found within ping_interval + pong_timeout (plus slack): the
        stuck sender, the iterator and on_close get ConnectionClosedError, and close
        does not wait for a session.closed the dead peer will never send."""
        closes: list[CloseInfo] = []
        with RawPeer(lambda c: None, rcvbuf=4096, greet=False) as peer:
            peer._handler = _half_open_translator(peer)
            session = _client(peer).start_translation(
                language="es", model="m", on_close=closes.append
            )
            started = time.monotonic()
            outcome: list[BaseException] = []

            def stream() -> None:
                chunk = bytes(256 * 1024)
                try:
                    for _ in range(2000):  # bounded: far more than every buffer holds
                        session.send_audio(chunk)  # timeout=None: must still come back
                except BaseException as exc:
                    outcome.append(exc)

            sender = threading.Thread(target=stream, name="test-streamer")
            sender.start()
            assert session.wait_closed(BOUND + SLACK + WAIT)
            elapsed = time.monotonic() - started
            sender.join(WAIT)
            assert not sender.is_alive()
            assert elapsed < BOUND + SLACK, elapsed
            error = session.close_info.error  # type: ignore[union-attr]
            assert isinstance(error, ConnectionClosedError)
            assert "connection is dead" in str(error)
            assert [True] == [isinstance(e, ConnectionClosedError) for e in outcome]
            assert [error] == [c.error for c in closes]
            with pytest.raises(ConnectionClosedError):
                list(session.events(timeout=WAIT))
            assert SessionState.CLOSED == session.state

    def test_detected_while_idle(self):
        """Idle, a translation session finds the same peer by its unanswered ping."""
        with RawPeer(lambda c: None, greet=False) as peer:
            peer._handler = _half_open_translator(peer)
            session = _client(peer).start_translation(language="es", model="m")
            started = time.monotonic()
            assert session.wait_closed(BOUND + SLACK + WAIT)
            assert time.monotonic() - started < BOUND + SLACK
            error = session.close_info.error  # type: ignore[union-attr]
            assert isinstance(error, ConnectionClosedError)
            with pytest.raises(ConnectionClosedError):
                list(session.events(timeout=WAIT))


class TestProtocolViolation:
    def test_the_close_code_the_client_sent_is_not_reported_as_the_servers(self):
        """A frame that breaks the protocol (a reserved bit set) ends the session with
        ConnectionClosedError naming the violation and carrying the code the client
        closed with (1002), while close_info.code, the code the server sent, stays
        None: the server sent no close frame."""
        closed = threading.Event()

        def handler(connection: PeerConnection) -> None:
            connection.send(bytes((0x80 | 0x40 | 0x1, 2)) + b"{}")  # RSV1, no extension
            closed.wait(WAIT)

        with RawPeer(handler) as peer:
            session = _client(peer).start_conversation()
            try:
                assert session.wait_closed(WAIT)
                info = session.close_info
                assert info is not None
                assert info.code is None
                assert isinstance(info.error, ConnectionClosedError)
                assert "protocol violation from the server" in str(info.error)
                assert "reserved bits" in str(info.error)
                assert 1002 == info.error.code
            finally:
                closed.set()
                session.close()
