"""VoiceBridge across a reconnection (#12 item 4)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_client import ConversationClient, ConversationOptions
from realtime_client import events as ev
from realtime_client.audio import Speaker, VoiceBridge
from realtime_client.testing import FakeRealtimeServer
from tests.audio._fakes import FakeFactory, FakeSession, tone


def _delta(audio: bytes) -> ev.ResponseOutputAudioDeltaEvent:
    return ev.ResponseOutputAudioDeltaEvent(
        event_id="e", response_id="r1", item_id="i1", output_index=0, content_index=0, delta=audio
    )


def _done(reason: str | None) -> ev.ResponseDoneEvent:
    details = ev.ResponseStatusDetails(type="incomplete", reason=reason)
    response = ev.Response(id="r1", status="incomplete", status_details=details)
    return ev.ResponseDoneEvent(event_id="", response=response)


@pytest.fixture
def speaker() -> Iterator[tuple[Speaker, FakeFactory]]:
    factory = FakeFactory()
    speaker = Speaker(stream_factory=factory, blocksize_ms=40)
    yield speaker, factory
    speaker.close()


class TestBridgeAcrossReconnects:
    def test_a_cut_response_stops_playing_without_cancel_or_truncate(
        self, speaker: tuple[Speaker, FakeFactory]
    ) -> None:
        """The session ends a cut response with reason connection_lost: the queued
        audio stops within a block, and nothing is sent (the new connection never
        had that response)."""
        sink, factory = speaker
        session = FakeSession()
        with VoiceBridge(session, sink=sink):
            session.emit(ev.ResponseCreatedEvent(event_id="e", response=ev.Response(id="r1")))
            session.emit(_delta(tone(1000)))
            factory.stream.pump()
            session.emit(_done("connection_lost"))
            assert bytes(1920) == factory.stream.pump()
            assert [] == session.sent

    def test_other_incomplete_responses_play_out(
        self, speaker: tuple[Speaker, FakeFactory]
    ) -> None:
        """A response incomplete for another reason (max_output_tokens) plays what came."""
        sink, factory = speaker
        session = FakeSession()
        with VoiceBridge(session, sink=sink):
            session.emit(ev.ResponseCreatedEvent(event_id="e", response=ev.Response(id="r1")))
            session.emit(_delta(tone(1000)))
            factory.stream.pump()
            session.emit(_done("max_output_tokens"))
            assert bytes(1920) != factory.stream.pump()


class _QueueSource:
    """A microphone stand-in: hands out the chunks put in its queue; b"" ends it."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes] = queue.Queue()

    def start(self) -> None:
        return

    def read(self, timeout: float | None = None) -> bytes | None:
        try:
            return self.chunks.get(timeout=timeout)
        except queue.Empty:
            return None


class _Away(logging.Handler):
    """Sets an event once the first reconnection attempt failed: the session is away."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.away = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "reconnection attempt 1 of" in record.getMessage():
            self.away.set()


class TestMicrophoneAcrossReconnects:
    def test_the_microphone_keeps_streaming_while_away(self) -> None:
        """Chunks read while the session is away are kept and sent once reconnected: the
        bridge never stops streaming, and the new connection receives every chunk."""
        handler = _Away()
        log = logging.getLogger("realtime_client")
        level = log.level
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            with FakeRealtimeServer(api_key="sk-test", speed=50) as server:
                client = ConversationClient(base_url=server.base_url, api_key="sk-test")
                options = ConversationOptions(reconnect=True, turn_detection=None)
                source = _QueueSource()
                with client.start_conversation(options=options) as session:
                    seen: queue.Queue[Any] = queue.Queue()
                    session.on("session.reconnected", seen.put)
                    with VoiceBridge(session, source=source) as bridge:
                        server.fail_handshakes(1, 503, retry_after_ms=300)
                        server.wait_for_connection(0).drop()
                        assert handler.away.wait(10)
                        for _ in range(10):
                            source.chunks.put(bytes(4800))  # 100 ms each
                        source.chunks.put(b"")
                        assert bridge.wait_source_done(10)
                        seen.get(timeout=10)
                        assert (None, 10) == (bridge.error, bridge.chunks_sent)
                    session.commit_audio()
                    conn = server.wait_for_connection(1)
                    conn.wait_for_received("input_audio_buffer.commit")
                    total = sum(
                        len(e.audio)  # type: ignore[union-attr]
                        for e in conn.received
                        if e.type == "input_audio_buffer.append"
                    )
                    assert 10 * 4800 == total
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
