"""Real audio through PulseAudio null sinks (see .ci/audio-setup).

A virtual speaker (``virt_spk``) is recorded through its monitor, and a
virtual microphone (``virt_mic``) is fed by playing into ``mic_feed``. These
tests skip when those devices are absent.
"""

from __future__ import annotations

import threading
from importlib import resources

import numpy as np
import pytest

from realtime_client.audio import Microphone, PlaybackStarted, Speaker, read_wav

from ._fakes import tone

pytestmark = pytest.mark.audio

DEVICES = ("virt_spk", "virt_mic", "mic_feed", "virt_spk_monitor")


def _virtual_devices_present() -> str | None:
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        return f"sounddevice/PortAudio unavailable: {exc}"
    names = {d["name"] for d in sd.query_devices()}
    missing = [d for d in DEVICES if d not in names]
    if missing:
        return f"virtual audio devices missing ({', '.join(missing)}): run eval $(.ci/audio-setup)"
    return None


_SKIP = _virtual_devices_present()
if _SKIP:
    pytestmark = [pytest.mark.audio, pytest.mark.skip(reason=_SKIP)]


def _record_until(mic: Microphone, predicate, max_chunks: int) -> bytes:
    """Read 20 ms chunks until predicate(all audio so far) or max_chunks."""
    out = bytearray()
    for _ in range(max_chunks):
        chunk = mic.read(timeout=2)
        assert chunk, "the monitor stopped delivering audio"
        out += chunk
        if predicate(out):
            break
    return bytes(out)


def _loud(pcm: bytes, threshold: float = 0.05) -> np.ndarray:
    """Per-10 ms-frame booleans: is the frame above the threshold RMS?"""
    x = np.frombuffer(pcm, dtype="<i2").astype(float) / 32768
    frames = x[: len(x) // 240 * 240].reshape(-1, 240)
    return np.sqrt((frames**2).mean(axis=1)) > threshold


class TestSpeakerOnVirtualSink:
    def test_reply_comes_out_intact(self):
        """One second of tone, sent as 100 ms deltas, comes back whole at the right level."""
        with (
            Microphone(device="virt_spk_monitor") as monitor,
            Speaker(device="virt_spk", latency=0.1) as speaker,
        ):
            data = tone(1000, amp=0.5)
            for i in range(0, len(data), 4800):
                speaker.play("item", data[i : i + 4800])
            speaker.end("item")
            assert speaker.wait_idle(10)
            recorded = _record_until(monitor, lambda a: len(a) > 24000 * 2 * 2.5, 200)
        loud = _loud(recorded)
        assert 95 <= loud.sum() <= 105  # ~100 frames of 10 ms
        x = np.frombuffer(recorded, dtype="<i2").astype(float) / 32768
        voiced = x[: len(x) // 240 * 240].reshape(-1, 240)[loud]
        assert np.sqrt((voiced[5:-5] ** 2).mean()) == pytest.approx(0.3535, abs=0.01)
        assert speaker.underruns == 0

    def test_barge_in_stops_fast_and_reports_played_position(self):
        """interrupt() mid-reply: silence within 100 ms; position matches the recording."""
        started = threading.Event()

        def on_playback(event: object) -> None:
            if isinstance(event, PlaybackStarted):
                started.set()

        with (
            Microphone(device="virt_spk_monitor") as monitor,
            Speaker(device="virt_spk", latency=0.05, on_playback=on_playback) as speaker,
        ):
            speaker.play("item", tone(3000, amp=0.5))
            assert started.wait(5)
            # Record until 600 ms of tone came out, then barge in.
            recorded = _record_until(monitor, lambda a: _loud(bytes(a)).sum() >= 60, 300)
            position = speaker.interrupt()
            after = _record_until(monitor, lambda a: len(a) >= 24000 * 2 * 0.4, 100)
        assert position is not None
        loud_after = _loud(after)
        # Sound stops within the device's latency (what was already handed over)...
        assert speaker.output_latency_s is not None
        assert speaker.output_latency_s <= 0.1
        assert 10 * int(loud_after.sum()) <= 1000 * speaker.output_latency_s + 60
        assert not loud_after[-20:].any()
        # ...and the truncation point equals what came out, within one 40 ms block.
        heard_ms = 10 * (int(_loud(recorded).sum()) + int(loud_after.sum()))
        assert abs(position.played_ms - heard_ms) <= 40


class TestMicrophoneIntoOfflineServer:
    def test_spoken_question_is_one_turn(self):
        """espeak speech played into the virtual mic is detected as one turn of its length."""
        from realtime_client import events as ev
        from realtime_client._config import ConversationOptions
        from realtime_client.audio import VoiceBridge
        from realtime_client.client import ConversationClient
        from realtime_client.testing import FakeRealtimeServer

        question = resources.files("realtime_client.audio") / "data/question.wav"
        with resources.as_file(question) as path:
            speech, _ = read_wav(path, sample_rate=24000)
        speech_ms = len(speech) // 48
        stamps: dict[str, int] = {}
        stopped = threading.Event()

        def on_started(event: ev.InputAudioBufferSpeechStartedEvent) -> None:
            stamps["start"] = event.audio_start_ms

        def on_stopped(event: ev.InputAudioBufferSpeechStoppedEvent) -> None:
            stamps["end"] = event.audio_end_ms
            stopped.set()

        options = ConversationOptions(turn_detection=ev.ServerVad(), output_modalities=["text"])
        with (
            FakeRealtimeServer() as server,
            ConversationClient(base_url=server.base_url, api_key="k").start_conversation(
                options=options
            ) as session,
            Microphone() as mic,
            Speaker(device="mic_feed", latency=0.1) as feed,
        ):
            session.on(ev.InputAudioBufferSpeechStartedEvent, on_started)
            session.on(ev.InputAudioBufferSpeechStoppedEvent, on_stopped)
            with VoiceBridge(session, source=mic):
                feed.play("question", speech)
                feed.end("question")
                assert stopped.wait(15)
        # Stop = start + speech length (server VAD pads the start, waits out silence at the end).
        assert abs((stamps["end"] - stamps["start"]) - speech_ms) <= 700
