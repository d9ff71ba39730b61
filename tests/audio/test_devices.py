"""Microphone and Speaker with a fake stream: no device is ever opened."""

from __future__ import annotations

import os
import sys
import threading
import types

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

    def test_missing_numpy_names_the_extra(self, tmp_path):
        """Without NumPy, importing the package or a class raises AudioError naming the extra."""
        import subprocess

        stub = tmp_path / "numpy"
        stub.mkdir()
        (stub / "__init__.py").write_text("raise ImportError('No module named numpy (stub)')\n")
        code = (
            "import sys\n"
            "from realtime_client.errors import AudioError\n"
            "for stmt in ('import realtime_client.audio',\n"
            "             'from realtime_client.audio import Microphone',\n"
            "             'from realtime_client.audio import WavSink',\n"
            "             'from realtime_client.audio._resample import StreamResampler'):\n"
            "    try:\n"
            "        exec(stmt)\n"
            "    except AudioError as exc:\n"
            "        print(exc)\n"
            "    else:\n"
            "        sys.exit(stmt + ' did not raise')\n"
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 4
        assert all("pip install 'realtime-client[audio]'" in line for line in lines)

    @pytest.mark.parametrize(
        ("cls", "words", "alternative"),
        [
            (Microphone, "no input device", "--file"),
            (Speaker, "no output device", "--output"),
        ],
    )
    def test_no_device_at_all_suggests_a_wav_file(self, monkeypatch, cls, words, alternative):
        """A headless machine: the error says there is no device and offers a WAV file."""
        fake_sd = types.ModuleType("sounddevice")

        class PortAudioError(Exception):
            pass

        def no_stream(**options: object) -> None:
            raise PortAudioError("Error querying device -1")

        def query_devices(device: object = None, kind: object = None) -> object:
            if kind is not None:
                raise PortAudioError("Error querying device -1")
            return []

        fake_sd.PortAudioError = PortAudioError  # type: ignore[attr-defined]
        fake_sd.RawInputStream = no_stream  # type: ignore[attr-defined]
        fake_sd.RawOutputStream = no_stream  # type: ignore[attr-defined]
        fake_sd.query_devices = query_devices  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "sounddevice", fake_sd)
        with pytest.raises(AudioError) as caught:
            cls()
        message = str(caught.value)
        assert words in message
        assert alternative in message
        assert "Hz" not in message  # not blamed on the sample rate


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
            assert mic.chunk_ms == 40  # the default
            mic.mute()
            factory.stream.push(tone(40))
            chunk = mic.read(timeout=1)
            assert chunk == bytes(1920)
            assert mic.level_dbfs == pytest.approx(-9.03, abs=0.1)  # 0.5 FS sine

    def test_g711_and_resampling(self):
        """A 48 kHz device feeding a G.711 session: 8 kHz u-law, 1 byte per sample."""
        factory = FakeFactory(refuse=(8000,))
        with Microphone(
            stream_factory=factory, wire_format="audio/pcmu", sample_rate=48000, chunk_ms=20
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
        with Microphone(stream_factory=factory, chunk_ms=20) as mic:
            assert mic.device_rate == 48000
            factory.stream.push(tone(40, rate=48000))
            chunk = mic.read(timeout=1)
        assert chunk is not None
        assert len(chunk) == 960

    def test_full_queue_drops_oldest_blocks_counted(self):
        """Nobody reading: the oldest blocks beyond max_queued_s go; the newest two survive."""
        factory = FakeFactory()
        with Microphone(
            stream_factory=factory, blocksize_ms=20, chunk_ms=20, max_queued_s=0.04
        ) as mic:
            blocks = [ramp(480, start=1 + 480 * k) for k in range(5)]
            for block in blocks:
                factory.stream.push(block)
            assert mic.dropped_blocks == 3
            survivors = [mic.read(timeout=1), mic.read(timeout=1)]
            assert mic.read(timeout=0) is None
        assert survivors == blocks[3:]

    def test_bad_chunk(self):
        """chunk_ms out of range is rejected with the value."""
        with pytest.raises(ValueError, match="5"):
            Microphone(stream_factory=FakeFactory(), chunk_ms=5)


@pytest.mark.parametrize("cls", [Microphone, Speaker])
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-20, ValueError),
        (float("nan"), ValueError),
        (5000, ValueError),
        ("40", TypeError),
        (True, TypeError),
    ],
)
def test_a_bad_blocksize_is_refused_before_any_stream_opens(cls, value, error):
    """blocksize_ms out of range (or not a number) raises an error naming it, not a
    ZeroDivisionError or a stream PortAudio would refuse, and opens nothing."""
    factory = FakeFactory()
    with pytest.raises(error, match="blocksize_ms"):
        cls(stream_factory=factory, blocksize_ms=value)
    assert [] == factory.streams


@pytest.mark.parametrize("cls", [Microphone, Speaker])
def test_a_numpy_blocksize_is_a_number(cls):
    """Any real number will do, a NumPy one included."""
    cls(stream_factory=FakeFactory(), blocksize_ms=np.int64(40)).close()


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
            assert stream.options["latency"] == 0.08  # two blocks
            data = ramp(1500)
            speaker.play("item", data[:1000])
            speaker.play("item", data[1000:])
            speaker.end("item")
            out = stream.pump()
            assert speaker.playing
            out += stream.pump() + stream.pump()
            assert out[:3000] == data
            assert finished.wait(5)
            assert speaker.wait_idle(5)
        assert [type(e) for e in events] == [PlaybackStarted, PlaybackFinished]
        assert events[1].position.played_ms == 62
        assert stream.closed

    def test_interrupt_silences_next_block(self):
        """interrupt() returns the played position and the very next block is silence."""
        factory = FakeFactory()
        with Speaker(stream_factory=factory, blocksize_ms=40) as speaker:
            speaker.play("item", tone(500))
            factory.stream.pump()
            factory.stream.pump()
            position = speaker.interrupt()
            assert position is not None
            assert (position.played_ms, position.received_ms) == (80, 500)
            assert factory.stream.pump() == bytes(1920)
            speaker.play("item", tone(100))  # late delta of the same item: ignored
            assert factory.stream.pump() == bytes(1920)

    def test_interrupt_does_not_flush_the_resampler_while_play_uses_it(self):
        """interrupt() on another thread waits for play() to finish with the soxr stream."""
        factory = FakeFactory()
        speaker = Speaker(stream_factory=factory, sample_rate=48000)
        real = speaker._resampler
        in_process = threading.Event()
        flushed = threading.Event()
        overlaps: list[str] = []

        class WatchedResampler:
            def process(self, pcm: bytes) -> bytes:
                in_process.set()
                # Give a racing interrupt() every chance to flush now (it must not).
                flushed.wait(0.3)
                out = real.process(pcm)
                in_process.clear()
                return out

            def flush(self) -> bytes:
                if in_process.is_set():
                    overlaps.append("flush during process")
                flushed.set()
                return real.flush()

        speaker._resampler = WatchedResampler()  # type: ignore[assignment]
        interrupter = threading.Thread(
            target=lambda: (in_process.wait(5), speaker.interrupt()), name="test-interrupter"
        )
        interrupter.start()
        try:
            speaker.play("item", tone(100))
            interrupter.join(5)
            assert flushed.is_set()
            assert overlaps == []
        finally:
            speaker.close()

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
        with Speaker(stream_factory=factory, sample_rate=48000, blocksize_ms=40) as speaker:
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


class TestSpeakerWithDeviceTiming:
    """With PortAudio's timing the speaker knows what came out, not just what it handed over."""

    def test_interrupt_flushes_the_device_and_counts_only_what_came_out(self):
        """100 ms device latency: after handing over 200 ms, only 100 ms has been heard.
        interrupt() aborts and restarts the stream and truncates at 100 ms."""
        factory = FakeFactory()
        with Speaker(stream_factory=factory, blocksize_ms=50) as speaker:
            stream = factory.stream
            speaker.play("item", tone(1000))
            for k in range(4):  # four 50 ms blocks handed over, each heard 100 ms later
                stream.pump(now=0.05 * k, latency=0.1)
            stream.time = 0.2  # the first block came out at 0.1 s: 100 ms heard by now
            position = speaker.interrupt()
            assert position is not None
            assert (position.played_ms, position.received_ms) == (100, 1000)
            assert (stream.aborts, stream.starts) == (1, 2)  # the device's buffer was dropped
            assert stream.pump(now=0.25, latency=0.1) == bytes(2400)
            assert not speaker.playing

    def test_finished_when_the_last_sample_comes_out_not_when_handed_over(self):
        finished = threading.Event()
        positions: list[object] = []

        def on_playback(event: object) -> None:
            if isinstance(event, PlaybackFinished):
                positions.append(event.position)
                finished.set()

        factory = FakeFactory()
        with Speaker(stream_factory=factory, blocksize_ms=50, on_playback=on_playback) as speaker:
            stream = factory.stream
            speaker.play("item", tone(100))
            speaker.end("item")
            stream.pump(now=0.0, latency=0.1)
            stream.pump(now=0.05, latency=0.1)  # all 100 ms handed over...
            stream.pump(now=0.1, latency=0.1)
            stream.pump(now=0.15, latency=0.1)
            assert speaker.playing  # ...but the last sample comes out at 0.2 s
            assert not finished.is_set()
            stream.pump(now=0.2, latency=0.1)
            assert finished.wait(5)
            assert speaker.wait_idle(5)
            # Barge-in after the end has nothing to flush or truncate.
            assert speaker.interrupt() is None
            assert stream.aborts == 0
        assert [p.played_ms for p in positions] == [100]  # type: ignore[attr-defined]

    def test_without_timing_interrupt_counts_what_was_handed_over_and_keeps_the_stream(self):
        factory = FakeFactory()
        with Speaker(stream_factory=factory, blocksize_ms=50) as speaker:
            speaker.play("item", tone(1000))
            factory.stream.pump()
            factory.stream.pump()
            position = speaker.interrupt()
            assert position is not None
            assert position.played_ms == 100
            assert factory.stream.aborts == 0

    def test_a_failed_restart_is_an_audio_error(self):
        factory = FakeFactory()
        with Speaker(stream_factory=factory, blocksize_ms=50) as speaker:
            stream = factory.stream
            speaker.play("item", tone(1000))
            stream.pump(now=1.0, latency=0.1)  # PortAudio reports 0 for "no timing"

            def refuse() -> None:
                raise RuntimeError("device unplugged")

            stream.start = refuse  # type: ignore[method-assign]
            stream.time = 1.05
            with pytest.raises(AudioError, match="failed to restart: device unplugged"):
                speaker.interrupt()


class TestMicrophoneConsumer:
    def test_chunks_go_to_the_consumer_from_the_callback_then_b_empty_on_close(self):
        factory = FakeFactory()
        got: list[bytes] = []
        mic = Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20)
        mic.start()
        data = ramp(480 * 3)
        factory.stream.push(data[:400])  # queued before connect(): delivered first
        mic.connect(got.append)
        factory.stream.push(data[400:])
        assert got == [data[:960], data[960:1920], data[1920:]]
        with pytest.raises(AudioError, match="consumer"):
            mic.read(timeout=0)
        mic.close()
        assert got[-1] == b""
        with pytest.raises(AudioError, match="closed"):
            mic.connect(got.append)

    def test_a_failing_consumer_is_counted_and_recording_goes_on(self, caplog):
        factory = FakeFactory()
        calls: list[bytes] = []

        def flaky(chunk: bytes) -> None:
            calls.append(chunk)
            if len(calls) == 1:
                raise RuntimeError("boom")

        with Microphone(stream_factory=factory, chunk_ms=20, blocksize_ms=20) as mic:
            mic.connect(flaky)
            factory.stream.push(tone(40))
            assert mic.consumer_errors == 1
        assert len(calls) == 3  # both chunks, then b"" on close
        assert "consumer failed" in caplog.text

    def test_level_is_measured_from_the_last_chunk_when_asked(self):
        factory = FakeFactory()
        with Microphone(stream_factory=factory, chunk_ms=20) as mic:
            assert mic.level_dbfs == -120.0
            mic.connect(lambda chunk: None)
            factory.stream.push(tone(20, amp=0.5))
            assert mic.level_dbfs == pytest.approx(-9.03, abs=0.1)
