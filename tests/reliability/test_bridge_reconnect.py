"""VoiceBridge across a reconnection (#12 item 4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realtime_client import events as ev
from realtime_client.audio import Speaker, VoiceBridge
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
