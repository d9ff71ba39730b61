"""VoiceBridge against a fake session: barge-in, truncation, push-to-talk, streaming."""

from __future__ import annotations

import logging
import threading

import pytest

from realtime_client import events as ev
from realtime_client.audio import Microphone, Speaker, VoiceBridge, WavSink
from realtime_client.errors import AudioError, SendQueueFullError, SessionClosedError

from ._fakes import FakeFactory, FakeSession, ramp, tone


class ListSource:
    """A source that hands out given chunks, then ends."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.started = False

    def start(self) -> None:
        self.started = True

    def read(self, timeout: float | None = None) -> bytes | None:
        return self.chunks.pop(0) if self.chunks else b""


def created(response_id: str) -> ev.ResponseCreatedEvent:
    return ev.ResponseCreatedEvent(event_id="e", response=ev.Response(id=response_id))


def done(response_id: str) -> ev.ResponseDoneEvent:
    return ev.ResponseDoneEvent(event_id="e", response=ev.Response(id=response_id))


def delta(item: str, audio: bytes, response_id: str = "r1") -> ev.ResponseOutputAudioDeltaEvent:
    return ev.ResponseOutputAudioDeltaEvent(
        event_id="e",
        response_id=response_id,
        item_id=item,
        output_index=0,
        content_index=0,
        delta=audio,
    )


def speech_started() -> ev.InputAudioBufferSpeechStartedEvent:
    return ev.InputAudioBufferSpeechStartedEvent(event_id="e", audio_start_ms=0, item_id="in1")


@pytest.fixture
def speaker_and_stream():
    factory = FakeFactory()
    speaker = Speaker(stream_factory=factory, blocksize_ms=40)
    yield speaker, factory
    speaker.close()


class TestBargeIn:
    def test_speech_while_playing_truncates_at_played_and_cancels(self, speaker_and_stream):
        """speech_started mid-reply: truncate at the played ms, cancel the running response."""
        speaker, factory = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker):
            session.emit(created("r1"))
            session.emit(delta("item1", tone(1000)))
            for _ in range(5):
                factory.stream.pump()  # 200 ms played
            session.emit(speech_started())
            assert session.sent == [("truncate", "item1", 0, 200), ("response.cancel", "r1")]
            assert factory.stream.pump() == bytes(1920)
            session.emit(delta("item1", tone(100)))  # still streaming: dropped
            assert factory.stream.pump() == bytes(1920)

    def test_response_is_cancelled_before_the_sink_is_emptied(self):
        """A delta arriving while the sink empties is already seen as cancelled: not played."""
        session = FakeSession()
        factory = FakeFactory()
        speaker = Speaker(stream_factory=factory)

        class RacingSink:
            """A speaker whose interrupt() lets the next item's first delta in at the worst time."""

            playing = property(lambda self: speaker.playing)
            start = speaker.start
            play = speaker.play
            end = speaker.end

            def interrupt(self):
                position = speaker.interrupt()
                session.emit(delta("item2", tone(100)))  # the reader thread, racing
                return position

        try:
            bridge = VoiceBridge(session, sink=RacingSink())
            with bridge:
                session.emit(created("r1"))
                session.emit(delta("item1", tone(500)))
                factory.stream.pump()
                session.emit(speech_started())
                assert speaker.position("item2") is None
                assert factory.stream.pump() == bytes(1920)  # a silent 40 ms block
        finally:
            speaker.close()
        assert ("response.cancel", "r1") in session.sent

    def test_truncate_capped_at_received(self, speaker_and_stream):
        """All received audio was played: truncation equals the received duration."""
        speaker, factory = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker) as bridge:
            session.emit(created("r1"))
            session.emit(delta("item1", tone(50)))
            factory.stream.pump()
            factory.stream.pump()  # 80 ms of callbacks, 50 ms of audio
            bridge.interrupt()
        assert session.sent[0] == ("truncate", "item1", 0, 50)

    def test_no_cancel_when_response_done(self, speaker_and_stream):
        """A finished response is not cancelled; the item is still truncated."""
        speaker, factory = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker):
            session.emit(created("r1"))
            session.emit(delta("item1", tone(500)))
            session.emit(done("r1"))
            factory.stream.pump()
            session.emit(speech_started())
        assert session.sent == [("truncate", "item1", 0, 40)]

    def test_speech_while_silent_sends_nothing(self, speaker_and_stream):
        """speech_started with nothing playing is not a barge-in."""
        speaker, _ = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker):
            session.emit(speech_started())
        assert session.sent == []

    def test_cancel_sent_once(self, speaker_and_stream):
        """Two barge-ins on one response cancel it once."""
        speaker, factory = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker) as bridge:
            session.emit(created("r1"))
            session.emit(delta("a", tone(500)))
            factory.stream.pump()
            bridge.interrupt()
            session.emit(delta("b", tone(500), response_id="r1"))
            assert bridge.interrupt() is None  # r1 audio is dropped now
        assert [s[0] for s in session.sent].count("response.cancel") == 1

    def test_audio_done_finishes_playback(self, tmp_path):
        """response.output_audio.done ends the item in the sink."""
        session = FakeSession()
        finished = []
        sink = WavSink(tmp_path / "o.wav", on_playback=finished.append)
        with VoiceBridge(session, sink=sink):
            session.emit(delta("a", tone(100)))
            session.emit(
                ev.ResponseOutputAudioDoneEvent(
                    event_id="e", response_id="r1", item_id="a", output_index=0, content_index=0
                )
            )
        sink.close()
        assert finished[-1].position.played_ms == 100


class TestMicrophoneThread:
    def test_streams_every_chunk_then_reports_end(self):
        """Every chunk reaches send_audio in order; on_source_end fires once."""
        session = FakeSession()
        ended = threading.Event()
        source = ListSource([b"\x01\x00" * 10, b"\x02\x00" * 10])
        with VoiceBridge(session, source=source, on_source_end=ended.set) as bridge:
            assert ended.wait(5)
            assert bridge.wait_source_done(5)
        assert bytes(session.audio) == b"\x01\x00" * 10 + b"\x02\x00" * 10
        assert source.started

    def test_closed_session_stops_thread_with_error(self):
        """A send failure ends the thread and is kept in bridge.error, not lost."""
        session = FakeSession()
        session.fail_send = SessionClosedError("closed")
        with VoiceBridge(session, source=ListSource([b"\x00\x00"] * 3)) as bridge:
            assert bridge.wait_source_done(5)
        assert isinstance(bridge.error, SessionClosedError)

    def test_a_failing_source_ends_streaming_with_an_error_naming_it(self):
        """A source that raises something other than a RealtimeError does not kill
        the bridge's thread silently: streaming ends, wait_source_done() returns,
        and bridge.error is an AudioError naming the source and the failure."""

        class BrokenSource(ListSource):
            def read(self, timeout: float | None = None) -> bytes | None:
                raise ValueError("half a sample")

        with VoiceBridge(FakeSession(), source=BrokenSource([])) as bridge:
            assert bridge.wait_source_done(5)
        assert isinstance(bridge.error, AudioError)
        assert "BrokenSource" in str(bridge.error)
        assert "half a sample" in str(bridge.error)
        assert isinstance(bridge.error.__cause__, ValueError)


class TestPushToTalk:
    def test_only_sends_during_turn_then_commits(self):
        """Push-to-talk: nothing sent before begin_turn; the source end commits and responds."""
        session = FakeSession()
        source = ListSource([])
        bridge = VoiceBridge(session, source=source, push_to_talk=True)
        bridge.begin_turn()
        source.chunks = [b"\x05\x00" * 4]
        bridge.start()
        assert bridge.wait_source_done(5)
        bridge.close()
        assert session.sent == [("clear",), ("commit",), ("response.create",)]
        assert bytes(session.audio) == b"\x05\x00" * 4
        assert not bridge.talking

    def test_not_talking_drops_audio(self):
        """Audio outside a turn is not sent."""
        session = FakeSession()
        with VoiceBridge(session, source=ListSource([b"\x05\x00"] * 3), push_to_talk=True) as b:
            assert b.wait_source_done(5)
        assert session.audio == bytearray()
        assert session.sent == []

    def test_begin_turn_interrupts_playback(self, speaker_and_stream):
        """Pressing talk while the assistant speaks is a barge-in."""
        speaker, factory = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker, push_to_talk=True) as bridge:
            session.emit(created("r1"))
            session.emit(delta("a", tone(300)))
            factory.stream.pump()
            bridge.begin_turn()
            bridge.end_turn()
        assert session.sent == [
            ("truncate", "a", 0, 40),
            ("response.cancel", "r1"),
            ("clear",),
            ("commit",),
            ("response.create",),
        ]

    def test_begin_turn_cancels_a_reply_whose_audio_has_not_come_yet(self, speaker_and_stream):
        """Pressing talk while the model is still preparing its reply (created, no
        audio yet) cancels it, and audio of it arriving late is not played over
        the user's turn."""
        speaker, factory = speaker_and_stream
        session = FakeSession()
        with VoiceBridge(session, sink=speaker, push_to_talk=True) as bridge:
            session.emit(created("r1"))
            bridge.begin_turn()
            session.emit(delta("a", tone(300), "r1"))
            factory.stream.pump()
            assert not speaker.playing
            bridge.end_turn()
        assert session.sent == [
            ("response.cancel", "r1"),
            ("clear",),
            ("commit",),
            ("response.create",),
        ]


class TestMicrophonePushesChunks:
    """A Microphone hands chunks to the session from its callback: no bridge thread."""

    def test_chunks_reach_the_session_without_a_thread_and_never_wait(self):
        session = FakeSession()
        factory = FakeFactory()
        ended = threading.Event()
        mic = Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20)
        with VoiceBridge(session, source=mic, on_source_end=ended.set) as bridge:
            assert not [t for t in threading.enumerate() if t.name.startswith("realtime-mic")]
            data = ramp(480 * 2)
            factory.stream.push(data)
            assert bytes(session.audio) == data
            assert session.send_timeouts == [0, 0]  # an audio callback must not block
            assert bridge.chunks_sent == 2
            assert not bridge.wait_source_done(0)
            mic.close()
            assert ended.is_set()
            assert bridge.wait_source_done(0)

    def test_a_full_send_queue_drops_the_chunk_and_streaming_goes_on(self):
        session = FakeSession()
        factory = FakeFactory()
        with (
            Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20) as mic,
            VoiceBridge(session, source=mic) as bridge,
        ):
            session.fail_send = SendQueueFullError("the send queue stayed full for 0 s")
            factory.stream.push(ramp(480))
            session.fail_send = None
            factory.stream.push(ramp(480, start=7))
            assert (bridge.chunks_dropped, bridge.chunks_sent) == (1, 1)
            assert bridge.error is None
            assert bytes(session.audio) == ramp(480, start=7)

    def test_a_closed_session_stops_streaming_quietly_with_the_error_kept(self, caplog):
        caplog.set_level(logging.DEBUG, logger="realtime_client")
        session = FakeSession()
        factory = FakeFactory()
        with (
            Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20) as mic,
            VoiceBridge(session, source=mic) as bridge,
        ):
            session.fail_send = SessionClosedError("the session is closed")
            factory.stream.push(ramp(480 * 2))
            assert isinstance(bridge.error, SessionClosedError)
            assert bridge.wait_source_done(0)
            assert len(session.send_timeouts) == 1  # stopped after the first failure
        stopped = [r for r in caplog.records if "microphone streaming stopped" in r.message]
        assert [r.levelno for r in stopped] == [logging.DEBUG]  # the session's close says why

    def test_push_to_talk_sends_only_during_the_turn(self):
        session = FakeSession()
        factory = FakeFactory()
        with (
            Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20) as mic,
            VoiceBridge(session, source=mic, push_to_talk=True) as bridge,
        ):
            factory.stream.push(ramp(480))
            bridge.begin_turn()
            factory.stream.push(ramp(480, start=3))
            bridge.end_turn()
            factory.stream.push(ramp(480, start=5))
        assert bytes(session.audio) == ramp(480, start=3)
        assert session.sent == [("clear",), ("commit",), ("response.create",)]

    def test_closing_the_microphone_mid_turn_into_a_closed_session_is_quiet(self, caplog):
        """Push-to-talk ends the turn when the microphone closes; if the session is
        already gone, that is kept in bridge.error, not logged as a failure."""
        session = FakeSession()
        factory = FakeFactory()

        def closed() -> None:
            raise SessionClosedError("the session is closed")

        session.commit_audio = closed  # type: ignore[method-assign]
        mic = Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20)
        with VoiceBridge(session, source=mic, push_to_talk=True) as bridge:
            bridge.begin_turn()
            factory.stream.push(ramp(480))
            mic.close()
            assert isinstance(bridge.error, SessionClosedError)
            assert mic.consumer_errors == 0
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
