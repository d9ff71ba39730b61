"""Real audio through PulseAudio null sinks (see .ci/audio-setup).

A virtual speaker (``virt_spk``) is recorded through its monitor, and a
virtual microphone (``virt_mic``) is fed by playing into ``mic_feed``. These
tests skip when those devices are absent.
"""

from __future__ import annotations

import threading
import time
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


def _align(recording: np.ndarray, reference: np.ndarray) -> int:
    """Index in ``recording`` where ``reference`` starts (FFT cross-correlation)."""
    n = len(recording) + len(reference)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(reference, size)), size)
    return int(np.argmax(corr[: len(recording)]))


class TestBargeInThroughSession:
    def test_speech_during_reply_truncates_at_heard_position_and_stops_fast(self):
        """Server VAD hears the user over the reply: playback stops within 100 ms, and the
        truncate's audio_end_ms is what came out of the virtual speaker, within one block."""
        from realtime_client import events as ev
        from realtime_client._config import ConversationOptions
        from realtime_client.audio import VoiceBridge
        from realtime_client.client import ConversationClient
        from realtime_client.testing import FakeRealtimeServer

        question = resources.files("realtime_client.audio") / "data/question.wav"
        with resources.as_file(question) as path:
            speech, _ = read_wav(path, sample_rate=24000)
        reply = bytearray()  # every reply delta the client received
        interrupted_at: list[float] = []
        speech_events = threading.Event()
        got_reply_audio = threading.Event()

        def on_delta(event: ev.ResponseOutputAudioDeltaEvent) -> None:
            reply.extend(event.delta)
            got_reply_audio.set()

        def on_speech_started(event: ev.InputAudioBufferSpeechStartedEvent) -> None:
            if got_reply_audio.is_set() and not interrupted_at:  # after the bridge's handler
                interrupted_at.append(time.perf_counter())
                speech_events.set()

        options = ConversationOptions(turn_detection=ev.ServerVad(), output_modalities=["audio"])
        block_ms = 25  # the speaker's default block
        chunks: list[tuple[float, bytes]] = []  # (read time, 10 ms of the monitor)
        with (
            FakeRealtimeServer() as server,
            ConversationClient(base_url=server.base_url, api_key="k").start_conversation(
                options=options
            ) as session,
            Microphone(
                device="virt_spk_monitor", chunk_ms=10, blocksize_ms=10, latency="low"
            ) as monitor,
            Microphone() as mic,
            Speaker(device="virt_spk") as speaker,
            Speaker(device="mic_feed", latency=0.1) as feed,
        ):
            connection = server.wait_for_connection(timeout=5)
            session.on(ev.ResponseOutputAudioDeltaEvent, on_delta)
            with VoiceBridge(session, source=mic, sink=speaker):
                session.on(ev.InputAudioBufferSpeechStartedEvent, on_speech_started)
                feed.play("question", speech)
                feed.end("question")
                heard_reply_ms = 0
                barged = False
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    chunk = monitor.read(timeout=2)
                    assert chunk, "the monitor stopped delivering audio"
                    chunks.append((time.perf_counter(), chunk))
                    if _loud(chunk).any():
                        heard_reply_ms += 10
                    if not barged and heard_reply_ms >= 800:  # the reply is well under way
                        feed.play("barge-in", speech)
                        feed.end("barge-in")
                        barged = True
                    if interrupted_at and chunks[-1][0] - interrupted_at[0] > 0.6:
                        break
                assert speech_events.is_set(), "server VAD never heard the barge-in"
                truncate = connection.wait_for_received("conversation.item.truncate", timeout=5)
        assert isinstance(truncate, ev.ConversationItemTruncateEvent)
        assert speaker.underruns == 0
        assert speaker.output_underflows == 0

        recording = np.frombuffer(b"".join(c for _, c in chunks), dtype="<i2").astype(float)
        sent = np.frombuffer(bytes(reply), dtype="<i2").astype(float)
        start = _align(recording, sent[: 24000 * 2])
        # Per 10 ms frame of the reply as received: loud in the reply, and did it come out?
        frames = min(len(sent), len(recording) - start) // 240
        ref = sent[: frames * 240].reshape(frames, 240)
        out = recording[start : start + frames * 240].reshape(frames, 240)
        ref_energy, out_energy = (ref**2).mean(axis=1), (out**2).mean(axis=1)
        loud = ref_energy > (0.02 * 32768) ** 2
        played = loud & (out_energy > 0.25 * ref_energy)
        unplayed = loud & (out_energy < 0.01 * ref_energy)
        last_played = int(np.flatnonzero(played)[-1])
        later_unplayed = np.flatnonzero(unplayed & (np.arange(frames) > last_played))
        assert later_unplayed.size, "the reply was not cut short"
        first_unplayed = int(later_unplayed[0])
        assert not played[first_unplayed:].any(), "reply audio came out after the cut"
        # The cut lies between the end of the last heard frame and the first unheard one.
        low, high = 10 * (last_played + 1), 10 * first_unplayed
        assert low - block_ms <= truncate.audio_end_ms <= high + block_ms, (low, high, truncate)

        # Playback stopped within 100 ms of the interruption: find when the last reply
        # sample came out of the monitor (by the read time of its chunk).
        last_sample = start + (last_played + 1) * 240
        ends = np.cumsum([len(c) // 2 for _, c in chunks])
        came_out = chunks[int(np.searchsorted(ends, last_sample))][0]
        assert came_out - interrupted_at[0] <= 0.100, came_out - interrupted_at[0]
