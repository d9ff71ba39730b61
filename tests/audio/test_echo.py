"""The echo canceller without devices: options, errors, reference alignment, frames.

The live measurements (the echo rig) are in test_echo_live.py and
benchmarks/echo_cancellation.py.
"""

from __future__ import annotations

import sys
import wave
from importlib import resources

import numpy as np
import pytest

from realtime_client.audio import (
    EchoCancellation,
    EchoCanceller,
    Microphone,
    Speaker,
    VoiceBridge,
    WavSource,
    echo_cancellation_available,
)
from realtime_client.errors import AudioError

from ._fakes import FakeFactory, FakeSession, FakeTime

RATE = 24000
FRAME = 240

needs_aec = pytest.mark.skipif(
    not echo_cancellation_available(), reason="the aec extra (pywebrtc-audio) is not installed"
)


def _speech() -> np.ndarray:
    question = resources.files("realtime_client.audio") / "data/question.wav"
    with resources.as_file(question) as path, wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    # to 24 kHz by linear interpolation: good enough for a test signal
    t = np.arange(int(len(x) * RATE / rate)) * rate / RATE
    return np.interp(t, np.arange(len(x)), x)


@pytest.fixture
def no_webrtc(monkeypatch):
    monkeypatch.setitem(sys.modules, "pywebrtc_audio", None)  # import fails


class TestOptions:
    def test_defaults_are_echo_cancellation_with_high_pass_only(self):
        """EchoCancellation() cancels echo with the high-pass filter, no noise suppression,
        and finds the echo's delay itself (no echo_delay_ms needed)."""
        options = EchoCancellation()
        assert options.high_pass
        assert not options.noise_suppression
        assert options.echo_delay_ms is None

    @pytest.mark.parametrize(
        ("kwargs", "word"),
        [
            ({"noise_suppression_level": 4}, "noise_suppression_level"),
            ({"reference_lead_ms": -1}, "reference_lead_ms"),
            ({"timing_tolerance_ms": 0}, "timing_tolerance_ms"),
            ({"echo_delay_ms": 900}, "echo_delay_ms"),
            ({"high_pass": False}, "high_pass"),  # the module always runs it with AEC3
        ],
    )
    def test_out_of_range_option_names_itself(self, kwargs, word):
        """A bad option raises ValueError naming the option, before anything opens."""
        with pytest.raises(ValueError, match=word):
            EchoCancellation(**kwargs)

    @pytest.mark.parametrize("rate", [0, 22050, -8000])
    def test_rates_must_be_whole_10ms_frames(self, rate):
        """A rate without whole 10 ms frames is refused with the rate in the message."""
        with pytest.raises(ValueError, match=str(rate)):
            EchoCanceller(EchoCancellation(), sample_rate=rate)

    @needs_aec
    def test_a_speaker_at_any_rate_can_be_the_reference(self):
        """The speaker's blocks are resampled to the microphone's rate, so a device
        at 22050 or 11025 Hz is accepted; only a rate that is not positive is not,
        and the message says it is the speaker's device rate."""
        for rate in (22050, 11025, 48000):
            EchoCanceller(EchoCancellation(), sample_rate=RATE, far_rate=rate)
        with pytest.raises(ValueError, match="speaker's device rate"):
            EchoCanceller(EchoCancellation(), sample_rate=RATE, far_rate=0)


class TestMissingExtra:
    def test_canceller_names_the_extra(self, no_webrtc):
        """Without pywebrtc-audio, creating the canceller says to install the aec extra."""
        assert not echo_cancellation_available()
        with pytest.raises(AudioError, match=r"realtime-client\[aec\]"):
            EchoCanceller(EchoCancellation(), sample_rate=RATE)

    def test_bridge_with_echo_cancellation_names_the_extra(self, no_webrtc):
        """VoiceBridge(echo_cancellation=True) without the extra fails with the extra's name."""
        factory = FakeFactory()
        mic = Microphone(stream_factory=factory)
        speaker = Speaker(stream_factory=factory)
        with pytest.raises(AudioError, match=r"pip install 'realtime-client\[aec\]'"):
            VoiceBridge(FakeSession(), source=mic, sink=speaker, echo_cancellation=True)

    def test_bridge_without_echo_cancellation_needs_no_extra(self, no_webrtc):
        """The default bridge works without the extra."""
        factory = FakeFactory()
        bridge = VoiceBridge(FakeSession(), source=Microphone(stream_factory=factory), sink=None)
        assert bridge.echo_canceller is None


@needs_aec
class TestBridgeArguments:
    def test_needs_a_microphone_and_a_speaker(self, tmp_path):
        """Echo cancellation with a WAV source or without a speaker is a TypeError naming both."""
        path = tmp_path / "a.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(bytes(4800))
        speaker = Speaker(stream_factory=FakeFactory())
        with pytest.raises(TypeError, match="Microphone source and a Speaker sink"):
            VoiceBridge(
                FakeSession(), source=WavSource(path), sink=speaker, echo_cancellation=True
            )
        mic = Microphone(stream_factory=FakeFactory())
        with pytest.raises(TypeError, match="sink=NoneType"):
            VoiceBridge(FakeSession(), source=mic, echo_cancellation=True)

    def test_options_object_of_the_wrong_type(self):
        """echo_cancellation must be a bool or EchoCancellation."""
        factory = FakeFactory()
        mic, speaker = Microphone(stream_factory=factory), Speaker(stream_factory=factory)
        with pytest.raises(TypeError, match="got dict"):
            VoiceBridge(FakeSession(), source=mic, sink=speaker, echo_cancellation={})  # type: ignore[arg-type]

    def test_options_reach_the_canceller_at_the_microphone_rate(self):
        """The canceller runs at the microphone's wire rate with the options given."""
        factory = FakeFactory()
        mic = Microphone(stream_factory=factory, wire_format="audio/pcmu")
        speaker = Speaker(stream_factory=factory)
        options = EchoCancellation(noise_suppression=True, noise_suppression_level=2)
        bridge = VoiceBridge(FakeSession(), source=mic, sink=speaker, echo_cancellation=options)
        assert bridge.echo_canceller is not None
        assert bridge.echo_canceller.sample_rate == 8000
        assert bridge.echo_canceller.options is options


@needs_aec
class TestReferenceBookkeeping:
    """The reference ring, read through the canceller's private _reference()."""

    def _canceller(self, **kwargs) -> EchoCanceller:
        return EchoCanceller(EchoCancellation(**kwargs), sample_rate=RATE)

    def test_block_is_found_at_its_dac_time(self):
        """A speaker block is returned for exactly the sample times it plays at."""
        c = self._canceller()
        block = np.arange(1, 961, dtype=np.int16)
        c.far(block.tobytes(), 10.0)
        got = c._reference(10 * RATE - 100, 1200)
        assert (got[:100] == 0).all()  # before it: silence
        assert (got[100:1060] == block).all()
        assert (got[1060:] == 0).all()  # after the head: silence
        assert c.stats.far_blocks == 1

    def test_jitter_within_tolerance_keeps_the_reference_continuous(self):
        """Timestamps a few ms off the count do not slip or repeat samples."""
        c = self._canceller()
        a = np.arange(1, 961, dtype=np.int16)
        b = np.arange(961, 1921, dtype=np.int16)
        c.far(a.tobytes(), 10.0)
        c.far(b.tobytes(), 10.04 + 0.005)  # 5 ms late: jitter
        got = c._reference(10 * RATE, 1920)
        assert (got == np.arange(1, 1921, dtype=np.int16)).all()
        assert c.stats.resyncs == 0

    def test_a_flush_replaces_what_the_device_dropped(self):
        """After a discontinuity (the speaker aborted), a block lands at its own DAC time and
        what was queued beyond it no longer counts."""
        c = self._canceller()
        c.far(np.full(960, 7, np.int16).tobytes(), 10.0)
        c.far(np.full(960, 7, np.int16).tobytes(), 10.04)  # handed, then dropped unplayed
        c.far(np.full(960, 9, np.int16).tobytes(), 10.02, discontinuity=True)
        got = c._reference(10 * RATE, 1920)
        assert (got[:480] == 7).all()
        assert (got[480:1440] == 9).all()
        assert (got[1440:] == 0).all()
        assert c.stats.resyncs == 1

    def test_a_gap_is_silence_and_a_lasting_deviation_is_followed(self):
        """A block far from the count, three times in a row, moves the alignment; the gap
        before it reads as silence."""
        c = self._canceller()
        c.far(np.full(960, 5, np.int16).tobytes(), 10.0)
        for i in range(3):  # 100 ms later than the count says, every time
            c.far(np.full(960, 6, np.int16).tobytes(), 10.04 + 0.1 + 0.04 * i)
        assert c.stats.resyncs == 1
        got = c._reference(10 * RATE, 960 + 2400)
        assert (got[:960] == 5).all()
        # the first two late blocks were taken at the count, the third at its time
        assert (got[960:2880] == 6).all()
        tail = c._reference(round(10.22 * RATE), 960)
        assert (tail == 6).all()

    def test_timestamps_wandering_within_tolerance_never_move_the_alignment(self):
        """Timestamps that drift 35 ms away from the count over two seconds (as
        PulseAudio's do while a stream's buffers settle) leave every block on the count:
        a move would change the delay AEC3 has found."""
        c = self._canceller()
        for i in range(50):
            c.far(np.full(960, i + 1, np.int16).tobytes(), 10.0 + 0.04 * i + 0.0007 * i)
        assert c.stats.resyncs == 0
        for i in range(50):
            got = c._reference(10 * RATE + 960 * i, 960)
            assert (got == i + 1).all(), i

    def test_a_partly_covered_read_is_silence_outside_the_reference(self):
        """What the speaker played is returned where it played and silence around it,
        also when the previous read returned audio there (the buffer is reused)."""
        c = self._canceller()
        block = np.arange(1, 961, dtype=np.int16)
        c.far(block.tobytes(), 10.0)
        full = c._reference(10 * RATE, 960)
        assert (full == block).all()
        early = c._reference(10 * RATE - 300, 960)  # starts before the reference
        assert (early[:300] == 0).all()
        assert (early[300:] == block[:660]).all()
        late = c._reference(10 * RATE + 500, 960)  # runs past its head
        assert (late[:460] == block[500:]).all()
        assert (late[460:] == 0).all()

    def test_no_reference_is_counted_as_missing(self):
        """Frames processed before the speaker gave anything are counted."""
        c = self._canceller()
        out = c.near(np.zeros(960, np.int16).tobytes(), 5.0)
        assert len(out) == 960 * 2
        assert c.stats.missing_reference_frames == 4


@needs_aec
class TestFrames:
    def test_output_is_whole_frames_and_nothing_is_lost(self):
        """Blocks that are not whole 10 ms frames come out as whole frames; the remainder
        waits for the next block."""
        c = EchoCanceller(EchoCancellation(), sample_rate=RATE)
        sizes = [500, 700, 240, 1000, 960]
        out = [c.near(np.ones(n, np.int16).tobytes(), 1.0 + i * 0.05) for i, n in enumerate(sizes)]
        assert all(len(o) % (FRAME * 2) == 0 for o in out)
        assert sum(len(o) for o in out) // 2 == sum(sizes) // FRAME * FRAME
        assert c.stats.frames == sum(sizes) // FRAME

    def test_levels_record_each_frame_before_and_after(self):
        """levels() has one row per frame: time, power in, power out."""
        c = EchoCanceller(EchoCancellation(), sample_rate=RATE)
        c.near((np.ones(960, np.int16) * 3000).tobytes(), 2.0)
        levels = c.levels()
        assert levels.shape == (4, 3)
        assert levels[-1, 0] == pytest.approx(2.04)
        assert levels[0, 1] == pytest.approx((3000 / 32768) ** 2, rel=1e-6)

    def test_levels_of_many_blocks_are_in_order_and_match_the_output(self):
        """Across blocks that fill the staging several times (and blocks that leave a
        remainder), levels() has one row per frame processed, ending at each frame's
        end, oldest first, with the powers of what went in and what came out."""
        c = EchoCanceller(EchoCancellation(), sample_rate=RATE)
        tone = (np.sin(np.arange(RATE * 3) * 2 * np.pi * 440 / RATE) * 8000).astype(np.int16)
        sizes = [960] * 20 + [500] * 30
        given, out, at = [], [], 0
        for n in sizes:
            got = c.near(tone[at : at + n].tobytes(), 50.0 + at / RATE)
            given.append(tone[at : at + n])
            out.append(np.frombuffer(got, np.int16))
            at += n
        levels = c.levels()
        frames = at // FRAME
        assert levels.shape == (frames, 3)
        # each row ends a frame: the k-th frame ends (k + 1) frames after the start
        expected_end = 50.0 + (np.arange(frames) + 1) * FRAME / RATE
        assert levels[:, 0] == pytest.approx(expected_end, abs=1e-9)
        scale = 32768.0**2
        before = np.concatenate(given)[: frames * FRAME].astype(np.float64).reshape(frames, FRAME)
        after = np.concatenate(out).astype(np.float64).reshape(frames, FRAME)
        assert levels[:, 1] == pytest.approx(np.mean(before**2, axis=1) / scale, rel=1e-9)
        assert levels[:, 2] == pytest.approx(np.mean(after**2, axis=1) / scale, rel=1e-9)


@needs_aec
class TestCancellation:
    @pytest.mark.parametrize(("delay_ms", "hint"), [(60, 60), (60, None), (150, None)])
    def test_removes_a_delayed_quieter_copy_and_keeps_the_talker(self, delay_ms, hint):
        """Offline: speech 60 or 150 ms later at -10 dB is removed by 25 dB or more after a
        second, and a near-end talker over it still comes through (correlation >= 0.8);
        without a hint, the canceller finds the delay in the first reply."""
        far = np.tile(_speech(), 4) * 0.8
        n = len(far) // FRAME * FRAME
        far = far[:n]
        delay = int(delay_ms / 1000 * RATE)
        echo = np.concatenate([np.zeros(delay), far[:-delay]]) * 10 ** (-10 / 20)
        user = np.zeros(n)
        talk = _speech() * 0.5
        start = n - len(talk) - RATE // 2
        user[start : start + len(talk)] = talk
        c = EchoCanceller(EchoCancellation(echo_delay_ms=hint), sample_rate=RATE)
        out = np.zeros(n)
        far16, mic16 = far.astype(np.int16), (echo + user).astype(np.int16)
        c.far(far16[:960].tobytes(), 100.0)
        for i in range(0, n, 960):
            t = 100.0 + i / RATE
            # a speaker hands its blocks over ahead of the DAC: the next one is there
            if i + 960 < n:
                c.far(far16[i + 960 : i + 1920].tobytes(), t + 0.04)
            got = c.near(mic16[i : i + 960].tobytes(), t)
            out[i : i + len(got) // 2] = np.frombuffer(got, np.int16)
        if hint is None:  # the reference is taken 20 ms ahead: found 20 ms beyond the echo's
            assert c.stats.echo_delay_ms == pytest.approx(delay_ms + 20, abs=1.5)
        else:
            assert c.stats.echo_delay_ms is None
        echo_only = slice(RATE * 1, start - RATE // 10)
        erle = 10 * np.log10(np.sum(echo[echo_only] ** 2) / np.sum(out[echo_only] ** 2))
        assert erle >= 25, erle
        lag = round(0.0093 * RATE)  # AEC3's own delay (measured in docs/audio.md)
        best = max(
            (np.corrcoef(out[start + k : start + k + len(talk)], talk)[0, 1], k)
            for k in range(lag - 48, lag + 48)
        )
        assert best[0] >= 0.8, best


@needs_aec
class TestDeviceHooks:
    def test_speaker_blocks_and_microphone_blocks_reach_the_canceller(self):
        """With the bridge started, every speaker block is the reference (at its DAC time
        on the monotonic clock) and microphone chunks are the canceller's output."""
        factory = FakeFactory()
        session = FakeSession()
        mic = Microphone(stream_factory=factory, chunk_ms=40, blocksize_ms=40)
        speaker = Speaker(stream_factory=factory, blocksize_ms=40)
        bridge = VoiceBridge(session, source=mic, sink=speaker, echo_cancellation=True)
        canceller = bridge.echo_canceller
        assert canceller is not None
        mic_stream, speaker_stream = factory.streams
        with bridge:
            speaker_stream.pump(now=50.0, latency=0.08)
            mic_stream.options["callback"](memoryview(bytes(1920)), 960, FakeTime(0, 0), None)
        assert canceller.stats.far_blocks == 1
        assert canceller.stats.frames == 4
        assert len(session.audio) == 1920
        # closed: the devices no longer feed it
        speaker_stream.pump(now=50.1, latency=0.08)
        assert canceller.stats.far_blocks == 1
        speaker.close()
        mic.close()


class _Flags:
    """A canceller stand-in recording the ``discontinuity`` of every block."""

    def __init__(self) -> None:
        self.far_flags: list[bool] = []
        self.near_flags: list[bool] = []

    def far(self, block: object, dac_time: float, *, discontinuity: bool = False) -> None:
        self.far_flags.append(discontinuity)

    def near(self, pcm: bytes, adc_time: float, *, discontinuity: bool = False) -> bytes:
        self.near_flags.append(discontinuity)
        return pcm


class TestRestartedStreams:
    def test_a_restarted_speaker_places_its_next_block_by_its_time(self):
        """Speaker.stop() then start(): the stream's sample count no longer runs on,
        so the first block after the restart reaches the canceller as a
        discontinuity (placed by its DAC time, not after the blocks before the stop)."""
        factory = FakeFactory()
        speaker = Speaker(stream_factory=factory, blocksize_ms=40)
        flags = _Flags()
        speaker._set_echo_canceller(flags)  # type: ignore[arg-type]
        speaker.start()
        stream = factory.stream
        stream.pump(now=1.0, latency=0.08)
        stream.pump(now=1.04, latency=0.08)
        speaker.stop()
        speaker.start()
        stream.pump(now=3.0, latency=0.08)
        stream.pump(now=3.04, latency=0.08)
        speaker.close()
        assert [True, False, True, False] == flags.far_flags

    def test_a_block_called_back_before_start_returns_is_placed_by_its_time(self):
        """PortAudio may call back before the stream's start() returns: that first
        block is already the one placed by its time, not the one after it."""
        factory = FakeFactory()
        speaker = Speaker(stream_factory=factory, blocksize_ms=40)
        flags = _Flags()
        speaker._set_echo_canceller(flags)  # type: ignore[arg-type]
        stream = factory.stream
        started = stream.start

        def start_and_call_back() -> None:
            started()
            stream.pump(now=1.0, latency=0.08)

        stream.start = start_and_call_back  # type: ignore[method-assign]
        speaker.start()
        stream.pump(now=1.04, latency=0.08)
        speaker.close()
        assert [True, False] == flags.far_flags

    def test_a_restarted_microphone_places_its_next_block_by_its_time(self):
        """The same for Microphone.stop() then start()."""
        factory = FakeFactory()
        mic = Microphone(stream_factory=factory, chunk_ms=40, blocksize_ms=40)
        flags = _Flags()
        mic._set_echo_canceller(flags)  # type: ignore[arg-type]
        mic.connect(lambda chunk: None)
        mic.start()
        stream = factory.stream
        stream.push(bytes(1920))
        stream.push(bytes(1920))
        mic.stop()
        mic.start()
        stream.push(bytes(1920))
        stream.push(bytes(1920))
        mic.close()
        assert [True, False, True, False] == flags.near_flags


@needs_aec
class TestBargeInWithCancellation:
    def test_interrupt_keeps_the_speaker_stream_so_the_reference_stays_continuous(self):
        """With echo cancellation on, barge-in drops the queue but does not abort the
        device stream (a restarted stream would be placed by a timestamp a few ms off,
        which AEC3 would have to find again): what the device holds plays out and counts
        as played, and the reference has no jump."""
        from ._fakes import tone

        factory = FakeFactory()
        session = FakeSession()
        mic = Microphone(stream_factory=factory, chunk_ms=40, blocksize_ms=40)
        speaker = Speaker(stream_factory=factory, blocksize_ms=50)
        bridge = VoiceBridge(session, source=mic, sink=speaker, echo_cancellation=True)
        canceller = bridge.echo_canceller
        assert canceller is not None
        _, stream = factory.streams
        with bridge:
            speaker.play("item", tone(1000))
            for k in range(4):
                stream.pump(now=0.05 * k, latency=0.1)
            stream.time = 0.2
            position = bridge.interrupt()
            assert position is not None
            assert position.played_ms == 200  # handed over, and it still plays
            assert stream.aborts == 0
            assert stream.pump(now=0.25, latency=0.1) == bytes(2400)
        assert canceller.stats.resyncs == 0
        speaker.close()
        mic.close()


@needs_aec
class TestDelayFinding:
    def test_without_an_echo_the_search_gives_up_and_nothing_is_found(self):
        """A reply the microphone never hears (headphones): after its first 1.2 s the
        canceller stops looking, reports no delay, and keeps cancelling with AEC3's own."""
        c = EchoCanceller(EchoCancellation(), sample_rate=RATE)
        far = (np.tile(_speech(), 2) * 0.8).astype(np.int16)
        noise = (np.random.default_rng(1).standard_normal(len(far)) * 30).astype(np.int16)
        for i in range(0, len(far) // 960 * 960, 960):
            c.far(far[i : i + 960].tobytes(), 100.0 + i / RATE)
            c.near(noise[i : i + 960].tobytes(), 100.0 + i / RATE)
        assert c._finder is None  # done looking
        assert c.stats.echo_delay_ms is None


class TestTalkCommand:
    def test_echo_cancellation_is_on_unless_the_flag_says_no(self):
        """realtime-client talk asks for echo cancellation by default;
        --no-echo-cancellation turns it off."""
        from realtime_client.cli import build_parser

        parser = build_parser()
        assert parser.parse_args(["talk"]).echo_cancellation is True
        assert parser.parse_args(["talk", "--no-echo-cancellation"]).echo_cancellation is False
