"""Audio and events sent while the session is away (#12 item 2)."""

from __future__ import annotations

import base64
import logging
import queue
import threading
from collections.abc import Iterator

import pytest

from realtime_client import (
    ConversationClient,
    ConversationOptions,
    ReconnectPolicy,
    SendQueueFullError,
    SessionReconnected,
)
from realtime_client._reconnect import AwayBuffer
from realtime_client.testing import FakeRealtimeServer

KEY = "sk-test"
WAIT = 10.0
SECOND = 48_000  # bytes of 24 kHz 16-bit mono PCM


def _append(raw: bytes) -> str:
    return '{"type":"input_audio_buffer.append","audio":"' + base64.b64encode(raw).decode() + '"}'


class TestAwayBuffer:
    def test_audio_beyond_the_bound_is_dropped_and_counted(self) -> None:
        """Audio is kept up to the bound, whole frames; the rest is counted, not kept."""
        away = AwayBuffer(audio_limit=SECOND, max_frames=4)
        away.put([_append(bytes(SECOND // 2))] * 3)
        assert (2, SECOND // 2) == (len(away.frames), away.dropped_bytes)

    def test_events_beyond_the_bound_fail_keeping_nothing(self) -> None:
        """Past max_frames other events raise SendQueueFullError; nothing of the call is kept."""
        away = AwayBuffer(audio_limit=SECOND, max_frames=2)
        away.put(['{"type":"response.cancel"}'])
        with pytest.raises(SendQueueFullError):
            away.put(['{"type":"a"}', '{"type":"b"}'])
        assert 1 == len(away.frames)


@pytest.fixture
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer(api_key=KEY, speed=50) as srv:
        yield srv


class _Waiting(logging.Handler):
    """Sets an event when the first reconnection attempt has failed (the session is away)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.away = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "reconnection attempt 1 of" in record.getMessage():
            self.away.set()


class TestAudioWhileAway:
    def test_five_seconds_kept_and_sent_the_rest_counted(self, server: FakeRealtimeServer) -> None:
        """8 s of audio sent while away: 5 s reach the new connection after the replay,
        3 s are dropped and reported in SessionReconnected.audio_dropped_ms."""
        client = ConversationClient(base_url=server.base_url, api_key=KEY)
        policy = ReconnectPolicy(backoff_initial=0.2, backoff_max=0.2)
        options = ConversationOptions(reconnect=policy, turn_detection=None)
        handler = _Waiting()
        log = logging.getLogger("realtime_client")
        log.addHandler(handler)
        level = log.level
        log.setLevel(logging.INFO)
        try:
            with client.start_conversation(options=options) as session:
                seen: queue.Queue[SessionReconnected] = queue.Queue()
                session.on("session.reconnected", seen.put)
                server.fail_handshakes(1, 503, retry_after_ms=300)
                server.wait_for_connection(0).drop()
                assert handler.away.wait(WAIT)
                for _ in range(8):
                    session.send_audio(bytes(SECOND), timeout=0)  # never blocks while away
                notice = seen.get(timeout=WAIT)
                assert 3000 == notice.audio_dropped_ms
                conn = server.wait_for_connection(1)
                conn.wait_for_received("input_audio_buffer.append", count=5)
                session.commit_audio()  # after the appends: when it arrives, all of them did
                conn.wait_for_received("input_audio_buffer.commit")
                appends = [e for e in conn.received if e.type == "input_audio_buffer.append"]
                total = sum(len(e.audio) for e in appends)  # type: ignore[union-attr]
                assert 5 * SECOND == total
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
