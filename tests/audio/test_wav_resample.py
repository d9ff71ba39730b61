"""WAV sources and sinks, and the streaming resampler."""

from __future__ import annotations

import time
import wave

import numpy as np
import pytest

from realtime_client.audio import (
    PlaybackFinished,
    PlaybackStarted,
    StreamResampler,
    WavSink,
    WavSource,
    encode_ulaw,
    read_wav,
)
from realtime_client.errors import AudioError

from ._fakes import ramp, tone


def write_wav(path, pcm: bytes, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


class TestWavSource:
    def test_chunks_and_padding(self, tmp_path):
        """The file comes out in 20 ms chunks, then the padding, then b''."""
        path = tmp_path / "in.wav"
        write_wav(path, ramp(960), 24000)
        source = WavSource(path, realtime=False, pad_ms=20)
        chunks = [source.read() for _ in range(4)]
        assert chunks == [ramp(480), ramp(480, start=481), bytes(960), b""]
        assert source.duration_s == pytest.approx(0.06)

    def test_realtime_pacing_and_timeout(self, tmp_path):
        """Real-time mode: a short timeout returns None; chunks come at recording pace."""
        path = tmp_path / "in.wav"
        write_wav(path, bytes(960 * 5), 24000)
        source = WavSource(path, chunk_ms=20)
        t0 = time.monotonic()
        assert source.read(timeout=0.001) is None
        while (chunk := source.read(timeout=1)) != b"":
            assert chunk is not None
        assert time.monotonic() - t0 >= 0.095

    def test_close_wakes_reader(self, tmp_path):
        """close() ends the stream for a paced reader."""
        path = tmp_path / "in.wav"
        write_wav(path, bytes(960 * 50), 24000)
        source = WavSource(path, chunk_ms=1000)
        source.close()
        assert source.read() == b""

    def test_stereo_44k_to_ulaw(self, tmp_path):
        """A stereo 44.1 kHz file is mixed, resampled to 8 kHz and u-law encoded."""
        path = tmp_path / "in.wav"
        mono = np.frombuffer(tone(100, rate=44100), dtype="<i2")
        write_wav(path, np.repeat(mono, 2).astype("<i2").tobytes(), 44100, channels=2)
        source = WavSource(path, wire_format="audio/pcmu", realtime=False)
        chunk = source.read()
        assert chunk is not None
        assert len(chunk) == 160

    def test_not_a_wav(self, tmp_path):
        """A file that is not a WAV gives an AudioError naming it."""
        path = tmp_path / "bad.wav"
        path.write_bytes(b"hello")
        with pytest.raises(AudioError, match=r"bad\.wav"):
            WavSource(path)

    @pytest.mark.parametrize(("channels", "cut"), [(1, 1), (2, 1), (2, 3)])
    def test_a_file_cut_inside_its_last_frame_reads_its_whole_frames(
        self, tmp_path, channels, cut
    ):
        """An interrupted recording ends inside a frame: it reads up to the last
        whole frame (and streams as G.711) instead of failing on half a sample."""
        path = tmp_path / "cut.wav"
        write_wav(path, ramp(100 * channels), 8000, channels=channels)
        path.write_bytes(path.read_bytes()[:-cut])
        pcm, rate = read_wav(path)
        assert 8000 == rate
        assert 99 * 2 == len(pcm)
        source = WavSource(path, wire_format="audio/pcmu", realtime=False, chunk_ms=20)
        assert 99 == len(source.read() or b"")  # one u-law byte per sample

    def test_8bit_rejected(self, tmp_path):
        """Only 16-bit PCM is accepted."""
        path = tmp_path / "8.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(1)
            w.setframerate(8000)
            w.writeframes(b"\x80" * 80)
        with pytest.raises(AudioError, match="8-bit"):
            read_wav(path)


class TestWavSink:
    def test_writes_decoded_audio_and_events(self, tmp_path):
        """u-law deltas are written as PCM16; start/finish events follow the item."""
        events = []
        path = tmp_path / "out.wav"
        with WavSink(path, wire_format="audio/pcmu", on_playback=events.append) as sink:
            sink.play("a", encode_ulaw(tone(100, rate=8000)))
            sink.end("a")
        pcm, rate = read_wav(path)
        assert (len(pcm), rate) == (1600, 8000)
        assert [type(e) for e in events] == [PlaybackStarted, PlaybackFinished]

    def test_interrupt_counts_all_as_played(self, tmp_path):
        """A file has no clock: interrupting reports everything received."""
        with WavSink(tmp_path / "o.wav") as sink:
            sink.play("a", tone(250))
            position = sink.interrupt()
            assert position is not None
            assert (position.played_ms, position.received_ms) == (250, 250)
            assert sink.interrupt() is None

    def test_late_deltas_of_an_interrupted_item_are_dropped(self, tmp_path):
        """After interrupt(), the item's late deltas and end() neither write nor restart it."""
        events = []
        path = tmp_path / "o.wav"
        with WavSink(path, on_playback=events.append) as sink:
            sink.play("a", tone(100))
            sink.interrupt()
            sink.play("a", tone(200))  # already on the wire when the barge-in happened
            sink.end("a")
            assert not sink.playing
            position = sink.position("a")
            sink.play("b", tone(50))  # the next item plays normally
            sink.end("b")
        assert position is not None
        assert (position.played_ms, position.received_ms) == (100, 100)
        pcm, _ = read_wav(path)
        assert len(pcm) == 2 * 24000 * 150 // 1000
        kinds = [(type(e).__name__, e.item_id) for e in events]
        assert kinds == [
            ("PlaybackStarted", "a"),
            ("PlaybackFinished", "a"),
            ("PlaybackStarted", "b"),
            ("PlaybackFinished", "b"),
        ]

    def test_unwritable(self, tmp_path):
        """A path in a missing directory is a clear AudioError."""
        with pytest.raises(AudioError, match="cannot create"):
            WavSink(tmp_path / "missing" / "o.wav")

    def test_closed(self, tmp_path):
        """Playing into a closed sink raises AudioError."""
        sink = WavSink(tmp_path / "o.wav")
        sink.close()
        with pytest.raises(AudioError, match="closed"):
            sink.play("a", tone(10))


class TestResampler:
    def test_chunked_equals_length_and_preserves_tone(self):
        """48 kHz -> 24 kHz in odd chunks: exact total length, tone level kept."""
        r = StreamResampler(in_rate=48000, out_rate=24000)
        x = tone(1000, rate=48000)
        out = b"".join(r.process(x[i : i + 1234]) for i in range(0, len(x), 1234)) + r.flush()
        y = np.frombuffer(out, dtype="<i2").astype(float) / 32767
        assert len(y) == 24000
        assert np.sqrt(np.mean(y[2000:-2000] ** 2)) == pytest.approx(0.3536, abs=0.005)

    @pytest.mark.parametrize(
        ("in_rate", "out_rate"), [(48000, 24000), (44100, 24000), (8000, 24000)]
    )
    def test_chunked_equals_one_shot(self, in_rate, out_rate):
        """Streaming in odd chunks gives the same samples as one call, within a few LSB."""
        rng = np.random.default_rng(1)
        n = in_rate  # 1 s
        x = (tone(1000, rate=in_rate, freq=440) + b"")[: 2 * n]
        noise = (rng.standard_normal(n) * 3000).astype("<i2")
        signal = (np.frombuffer(x, dtype="<i2").astype(np.int32) // 2 + noise).astype("<i2")
        data = signal.tobytes()
        one = StreamResampler(in_rate=in_rate, out_rate=out_rate)
        whole = np.frombuffer(one.process(data) + one.flush(), dtype="<i2").astype(int)
        chunked_r = StreamResampler(in_rate=in_rate, out_rate=out_rate)
        sizes = [2 * k for k in (1, 7, 160, 333, 480, 1001)]
        parts, offset, k = [], 0, 0
        while offset < len(data):
            size = sizes[k % len(sizes)]
            parts.append(chunked_r.process(data[offset : offset + size]))
            offset += size
            k += 1
        chunked = np.frombuffer(b"".join(parts) + chunked_r.flush(), dtype="<i2").astype(int)
        assert len(chunked) == len(whole)
        assert np.abs(chunked - whole).max() <= 3

    def test_anti_aliasing(self):
        """A 15 kHz tone is removed going to 24 kHz (Nyquist 12 kHz), unlike interpolation."""
        r = StreamResampler(in_rate=48000, out_rate=24000)
        out = r.process(tone(500, rate=48000, freq=15000)) + r.flush()
        y = np.frombuffer(out, dtype="<i2").astype(float) / 32767
        assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 0.01

    def test_passthrough(self):
        """Equal rates pass bytes through untouched."""
        r = StreamResampler(in_rate=24000, out_rate=24000)
        assert r.passthrough
        assert r.process(b"\x01\x02") == b"\x01\x02"
        assert r.flush() == b""

    def test_bad_input(self):
        """Odd byte counts and non-positive rates are rejected."""
        with pytest.raises(ValueError, match="even number"):
            StreamResampler(in_rate=8000, out_rate=24000).process(b"\x00")
        with pytest.raises(ValueError, match="positive"):
            StreamResampler(in_rate=0, out_rate=24000)

    def test_missing_soxr(self, monkeypatch):
        """Without soxr a resampling request names the extra to install."""
        import sys

        monkeypatch.setitem(sys.modules, "soxr", None)
        with pytest.raises(AudioError, match=r"realtime-client\[audio\]"):
            StreamResampler(in_rate=48000, out_rate=24000)
