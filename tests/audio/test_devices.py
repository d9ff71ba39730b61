"""Microphone and Speaker with a fake stream: no device is ever opened."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from realtime_client import audio
from realtime_client.audio import Microphone, PlaybackFinished, PlaybackStarted, Speaker
from realtime_client.errors import AudioError

from ._fakes import FakeFactory, ramp, tone


class TestImport:
    def test_import_realtime_client_does_not_load_sounddevice(self):
        """`import realtime_client` (even with the audio package) leaves PortAudio alone."""
        import subprocess

        code = (
            "import sys, realtime_client, realtime_client.audio; "
            "sys.exit('sounddevice' in sys.modules)"
        )
        assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

    def test_missing_portaudio_names_the_fix(self, monkeypatch):
        """An OSError from loading PortAudio becomes an AudioError naming the packages."""
        import builtins

        real_import = builtins.__import__

        def fake_import(name, *args, **kwargs):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return real_import(name, *args, **kwargs)

        monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
        monkeypatch.setattr(builtins, "__import__", fake_import)
        with pytest.raises(AudioError, match=r"libportaudio2.*|.*realtime-client\[audio\]"):
            Speaker()


class TestMicrophone:
    def test_chunks_are_steady_whatever_the_blocks(self):
        """Irregular device blocks come out as exact 20 ms chunks, in order."""
        factory = FakeFactory()
        with Microphone(stream_factory=factory, chunk_ms=20) as mic:
            stream = factory.stream
            assert stream.started.is_set()
            data = ramp(480 * 3)
            for start, end in ((0, 100), (100, 1000), (1000, 2880)):
                stream.push(data[start:end])
            chunks = [mic.read(timeout=1) for _ in range(3)]
        assert [len(c or b"") for c in chunks] == [960, 960, 960]
        assert b"".join(c or b"" for c in chunks) == data

    def test_read_times_out_then_ends_on_close(self):
        """No audio: read returns None after the timeout; after close it returns b''."""
        factory = FakeFactory()
        mic = Microphone(stream_factory=factory)
        mic.start()
        assert mic.read(timeout=0.01) is None
        mic.close()
        assert mic.read(timeout=1) == b""
        assert factory.stream.closed

    def test_close_wakes_a_blocked_reader(self):
        """A thread blocked in read() returns b'' when another thread closes."""
        mic = Microphone(stream_factory=FakeFactory())
        mic.start()
        result: list[bytes | None] = []
        reader = threading.Thread(target=lambda: result.append(mic.read()))
        reader.start()
        mic.close()
        reader.join(5)
        assert result == [b""]

    def test_mute_sends_silence_and_level(self):
        """Muted chunks are zeros of the same length; the level still measures the input."""
        factory = FakeFactory()
        with Microphone(stream_factory=factory) as mic:
            mic.mute()
            factory.stream.push(tone(20))
            chunk = mic.read(timeout=1)
            assert chunk == bytes(960)
            assert mic.level_dbfs == pytest.approx(-9.03, abs=0.1)  # 0.5 FS sine

    def test_g711_and_resampling(self):
        """A 48 kHz device feeding a G.711 session: 8 kHz u-law, 1 byte per sample."""
        factory = FakeFactory(refuse=(8000,))
        with Microphone(
            stream_factory=factory, wire_format="audio/pcmu", sample_rate=48000
        ) as mic:
            assert mic.device_rate == 48000
            factory.stream.push(tone(200, rate=48000))
            chunk = mic.read(timeout=1)
        assert chunk is not None
        assert len(chunk) == 160
        pcm = np.frombuffer(audio.decode_ulaw(chunk), dtype="<i2")
        assert np.abs(pcm).max() > 8000  # the tone survived

    def test_falls_back_to_another_rate(self):
        """When the wire rate is refused the fallback rate is used with resampling."""
        factory = FakeFactory(refuse=(24000,))
        with Microphone(stream_factory=factory) as mic:
            assert mic.device_rate == 48000
            factory.stream.push(tone(40, rate=48000))
            chunk = mic.read(timeout=1)
        assert chunk is not None
        assert len(chunk) == 960

    def test_full_queue_drops_oldest_blocks_counted(self):
        """Nobody reading: blocks beyond max_queued_s are dropped and counted."""
        factory = FakeFactory()
        with Microphone(stream_factory=factory, blocksize_ms=20, max_queued_s=0.04) as mic:
            for _ in range(5):
                factory.stream.push(ramp(480))
            assert mic.dropped_blocks == 3

    def test_bad_chunk(self):
        """chunk_ms out of range is rejected with the value."""
        with pytest.raises(ValueError, match="5"):
            Microphone(stream_factory=FakeFactory(), chunk_ms=5)


class TestSpeaker:
    def test_plays_deltas_and_reports_start_and_finish(self):
        """Deltas come out of the callback unchanged; events arrive on the speaker thread."""
        events: list[object] = []
        finished = threading.Event()

        def on_playback(event: object) -> None:
            events.append(event)
            if isinstance(event, PlaybackFinished):
                finished.set()

        factory = FakeFactory()
        with Speaker(stream_factory=factory, on_playback=on_playback) as speaker:
            stream = factory.stream
            assert stream.options["blocksize"] == 960  # 40 ms at 24 kHz
            data = ramp(1500)
            speaker.play("item", data[:1000])
            speaker.play("item", data[1000:])
            speaker.end("item")
            out = stream.pump()
            assert speaker.playing
            out += stream.pump()
            assert out[:3000] == data
            assert finished.wait(5)
            assert speaker.wait_idle(5)
        assert [type(e) for e in events] == [PlaybackStarted, PlaybackFinished]
        assert events[1].position.played_ms == 62
        assert stream.closed

    def test_interrupt_silences_next_block(self):
        """interrupt() returns the played position and the very next block is silence."""
        factory = FakeFactory()
        with Speaker(stream_factory=factory) as speaker:
            speaker.play("item", tone(500))
            factory.stream.pump()
            factory.stream.pump()
            position = speaker.interrupt()
            assert position is not None
            assert (position.played_ms, position.received_ms) == (80, 500)
            assert factory.stream.pump() == bytes(1920)
            speaker.play("item", tone(100))  # late delta of the same item: ignored
            assert factory.stream.pump() == bytes(1920)

    def test_g711_deltas(self):
        """a-law deltas are decoded; received ms count 8 kHz samples."""
        factory = FakeFactory()
        with Speaker(stream_factory=factory, wire_format="audio/pcma") as speaker:
            assert speaker.device_rate == 8000
            speaker.play("x", audio.encode_alaw(tone(100, rate=8000)))
            position = speaker.position("x")
        assert position is not None
        assert position.received_ms == 100

    def test_resampled_device(self):
        """At 48 kHz the played ms still count wire time."""
        factory = FakeFactory()
        with Speaker(stream_factory=factory, sample_rate=48000) as speaker:
            speaker.play("x", tone(200))
            for _ in range(3):
                factory.stream.pump()  # 3 x 40 ms
            position = speaker.interrupt()
        assert position is not None
        assert 110 <= position.played_ms <= 120

    def test_callback_failure_is_logged_not_fatal(self, caplog):
        """A failing on_playback callback is logged and the speaker keeps going."""
        done = threading.Event()

        def on_playback(event: object) -> None:
            if isinstance(event, PlaybackFinished):
                done.set()
            raise RuntimeError("boom")

        factory = FakeFactory()
        with Speaker(stream_factory=factory, on_playback=on_playback) as speaker:
            speaker.play("a", ramp(10))
            speaker.end("a")
            factory.stream.pump()
            assert done.wait(5)
        assert "on_playback callback failed" in caplog.text

    def test_closed_speaker_cannot_start(self):
        """start() after close() is a clear AudioError."""
        speaker = Speaker(stream_factory=FakeFactory())
        speaker.close()
        with pytest.raises(AudioError, match="closed"):
            speaker.start()

    def test_no_rate_accepted(self):
        """When the device refuses every rate the last failure is raised."""
        with pytest.raises(AudioError, match="refused"):
            Speaker(stream_factory=FakeFactory(refuse=(24000,)), sample_rate=24000)
