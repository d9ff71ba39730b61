"""The live echo scenario on the echo rig (.ci/echo-rig): shared by tests and the benchmark.

Microphone -> VoiceBridge -> session -> Speaker, against the offline server
with server VAD, while the rig sends the speaker's output back into the
microphone. The assistant speaks replies (espeak audio given to the server);
in double-talk trials the user's speech is played into the microphone's feed
while a reply plays. Everything is measured on this process's clocks:

- self-interruptions: replies cut short (PlaybackFinished.interrupted) with
  nobody speaking;
- ERLE: from the canceller's per-10 ms power before and after processing,
  over the stretches where a reply plays;
- double talk: speech onset (the first loud frame of the canceller's output
  after the user's speech started playing, on the ADC clock) to the bridge's
  interruption; and the correlation of the audio the server received with
  the clean user speech.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.audio import (
    EchoCancellation,
    EchoCanceller,
    Microphone,
    PlaybackFinished,
    PlaybackStarted,
    Speaker,
    VoiceBridge,
    read_wav,
)
from realtime_client.client import ConversationClient
from realtime_client.testing import AudioReply, FakeRealtimeServer

RATE = 24000
FRAME = RATE // 100
REPO = Path(__file__).resolve().parents[2]
RIG = REPO / ".ci" / "echo-rig"
REPLY_TEXTS = (
    "The weather in Paris today is mild, with a light breeze and some sunshine.",
    "Tomorrow will bring rain in the morning, clearing by the evening.",
    "Over the weekend the temperatures climb to twenty five degrees.",
    "Take a light jacket, because the wind can be cool near the water.",
)


def rig_available() -> str | None:
    """Why the rig cannot run here, or None."""
    if not os.environ.get("PULSE_SERVER"):
        return 'no PULSE_SERVER: eval "$(.ci/audio-setup)" first'
    for tool in ("pactl", "espeak-ng", "sox", "pacat", "parec"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (.ci/install-system-packages)"
    return None


@contextlib.contextmanager
def echo_rig(
    delay_ms: int, *, hard: bool = False, level_db: float = -10, drift: bool = False
) -> Iterator[None]:
    """The speaker's output comes back into the microphone while inside."""
    args = [str(RIG), "on", "--delay", str(delay_ms), "--level", str(level_db)]
    if hard:
        args.append("--hard")
    if drift:
        args.append("--drift")
    done = subprocess.run(args, check=False, timeout=30, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run([str(RIG), "off"], check=False, timeout=30, capture_output=True)


def speak(text: str, voice: str = "en+f3") -> bytes:
    """24 kHz PCM16 of espeak-ng saying ``text``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, timeout=30)
        pcm, _ = read_wav(path, sample_rate=RATE)
    return pcm


def user_speech() -> bytes:
    """The user's question, leading and trailing silence trimmed (onset = first sample)."""
    question = resources.files("realtime_client.audio") / "data/question.wav"
    with resources.as_file(question) as path:
        pcm, _ = read_wav(path, sample_rate=RATE)
    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(x) > 300)
    return x[loud[0] : loud[-1] + 1].tobytes()


@attrs.define
class Trial:
    started: float = 0.0  # monotonic, PlaybackStarted of the reply
    finished: float = 0.0
    interrupted: bool = False
    user_at: float | None = None  # when the user's speech was queued
    onset: float | None = None  # the user's speech onset (ADC clock)
    barge_in: float | None = None  # the bridge's interruption
    correlation: float | None = None


@attrs.define
class Result:
    trials: list[Trial]
    self_interruptions: int
    erle_db: float | None = None
    converged_s: float | None = None
    cpu_s: float = 0.0  # process CPU over the echo-only replies
    wall_s: float = 0.0
    aec_cpu_s: float = 0.0  # inside the canceller's near() and far()
    aec_lag_ms: float | None = None  # AEC3's own delay, output against input (aec_lag_ms())
    near_call_p99_ms: float | None = None
    near_call_p50_ms: float | None = None
    resyncs: int = 0
    echo_delay_ms: float | None = None  # the delay the canceller found in the first reply
    output_underflows: int = 0  # the speaker's device ran dry (a loaded machine)

    @property
    def double_talk(self) -> list[Trial]:
        return [t for t in self.trials if t.user_at is not None]


class _Probe:
    """Wraps a canceller's near()/far() to time them and keep what went in and out."""

    def __init__(self, canceller: Any) -> None:
        self.cpu = 0.0
        self.calls: list[float] = []
        near, far = canceller.near, canceller.far

        def timed_near(pcm: bytes, adc_time: float, **kw: Any) -> bytes:
            t0, w0 = time.thread_time(), time.perf_counter()
            result: bytes = near(pcm, adc_time, **kw)
            self.cpu += time.thread_time() - t0
            self.calls.append(time.perf_counter() - w0)
            return result

        def timed_far(block: Any, dac_time: float, **kw: Any) -> None:
            t0 = time.thread_time()
            far(block, dac_time, **kw)
            self.cpu += time.thread_time() - t0

        canceller.near = timed_near
        canceller.far = timed_far


def _responder() -> Any:
    """The offline server's responder: the four espeak replies in turn."""
    reply_audio = [speak(text) for text in REPLY_TEXTS]
    counter = iter(range(10**6))

    def responder(request: Any) -> AudioReply:
        n = next(counter)
        return AudioReply(transcript=REPLY_TEXTS[n % 4], audio=reply_audio[n % 4])

    return responder


def serve_replies() -> None:
    """Run the offline server with the scenario's replies until stdin closes (its URL on
    stdout): ``server_process=True`` of :func:`run` starts this in its own process."""
    with FakeRealtimeServer(responder=_responder()) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def _server_process() -> Iterator[str]:
    """:func:`serve_replies` in another Python process; yields its URL."""
    code = "from tests.audio._echo_scenario import serve_replies; serve_replies()"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("ws"):
            raise RuntimeError(f"the offline server printed {url!r}, not its URL")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run(
    *,
    replies: int,
    double_talk: int = 0,
    echo_cancellation: bool | EchoCancellation = True,
    barge_after_s: float = 0.8,
    probe: bool = False,
    until_cut_short: bool = False,
    server_process: bool = False,
    stall_s: float = 0.0,
) -> Result:
    """Speak ``replies`` replies with nobody talking, then ``double_talk`` with the user
    speaking over them; the echo rig must be on. ``until_cut_short``: stop after the
    first reply cut short. ``server_process``: the offline server runs in its own
    process, as a real client's server is elsewhere (its threads then do not compete
    with the audio callbacks for this process's GIL and CPU); without double talk only,
    since the correlation needs the audio the server received. ``stall_s``: 0.5 s into
    each reply nobody talks over, this thread holds the GIL for that long, as an
    overloaded machine would: the audio callbacks wait, the speaker underruns and the
    canceller's alignment jumps."""
    if server_process and double_talk:
        raise ValueError("double talk needs the in-process server (the audio it received)")
    user = user_speech()

    playback: queue.Queue[Any] = queue.Queue()
    speech_started: list[float] = []
    speech_stopped = threading.Event()
    options = ConversationOptions(
        turn_detection=ev.ServerVad(create_response=False), output_modalities=["audio"]
    )
    trials: list[Trial] = []
    result = Result(trials=trials, self_interruptions=0)
    with contextlib.ExitStack() as stack:
        server: FakeRealtimeServer | None = None
        if server_process:
            base_url = stack.enter_context(_server_process())
        else:
            server = stack.enter_context(FakeRealtimeServer(responder=_responder()))
            base_url = server.base_url
        client = ConversationClient(base_url=base_url, api_key="k")
        session = stack.enter_context(client.start_conversation(options=options))
        mic = stack.enter_context(Microphone())
        speaker = stack.enter_context(Speaker(device="virt_spk", on_playback=playback.put))
        feed = stack.enter_context(Speaker(device="mic_feed", latency=0.1))
        connection = server.wait_for_connection(timeout=5) if server is not None else None
        bridge = VoiceBridge(
            session, source=mic, sink=speaker, echo_cancellation=echo_cancellation
        )
        probe_ = _Probe(bridge.echo_canceller) if probe and bridge.echo_canceller else None
        session.on(
            ev.InputAudioBufferSpeechStartedEvent,
            lambda e: speech_started.append(time.monotonic()),
        )
        session.on(ev.InputAudioBufferSpeechStoppedEvent, lambda e: speech_stopped.set())
        with bridge:
            cpu0, wall0 = time.process_time(), time.monotonic()
            for n in range(replies + double_talk):
                if n == replies:
                    result.cpu_s = time.process_time() - cpu0
                    result.wall_s = time.monotonic() - wall0
                trial = Trial()
                trials.append(trial)
                session.create_response()
                event = _next(playback, PlaybackStarted)
                trial.started = time.monotonic()
                if stall_s and n < replies:
                    threading.Event().wait(0.5)  # stimulus timing, not a sync
                    _hold_the_gil(stall_s)
                if n >= replies:  # the user talks over this reply
                    threading.Event().wait(barge_after_s)  # stimulus timing, not a sync
                    speech_stopped.clear()
                    trial.user_at = time.monotonic()
                    feed.play(f"user-{n}", user)
                    feed.end(f"user-{n}")
                finished = _next(playback, PlaybackFinished)
                assert finished.item_id == event.item_id
                trial.finished = time.monotonic()
                trial.interrupted = finished.interrupted
                if until_cut_short and trial.interrupted:
                    break
                if n >= replies:
                    assert feed.wait_idle(15), "the user's speech did not finish playing"
                    speech_stopped.wait(5)  # the user's turn ended before the next trial
                    user_at = trial.user_at or 0.0
                    later = [t for t in speech_started if t >= user_at]
                    trial.barge_in = later[0] if later else None
            if not double_talk:
                result.cpu_s = time.process_time() - cpu0
                result.wall_s = time.monotonic() - wall0
        canceller = bridge.echo_canceller
        result.output_underflows = speaker.output_underflows
        received = [
            e
            for e in (connection.received if connection is not None else [])
            if isinstance(e, ev.InputAudioBufferAppendEvent)
        ]
    result.self_interruptions = sum(t.interrupted for t in trials[:replies])
    if canceller is not None:
        result.resyncs = canceller.stats.resyncs
        result.echo_delay_ms = canceller.stats.echo_delay_ms
        levels = canceller.levels()
        _erle(result, levels, trials[:replies])
        _onsets(levels, result.double_talk)
    sent = np.frombuffer(b"".join(e.audio for e in received), dtype="<i2")
    for trial in result.double_talk:
        trial.correlation = _correlation(
            sent,
            np.frombuffer(user, dtype="<i2"),
            trial,
            levels if canceller is not None else None,
        )
    if probe_ is not None:
        result.aec_cpu_s = probe_.cpu
        result.near_call_p99_ms = float(np.percentile(probe_.calls, 99) * 1000)
        result.near_call_p50_ms = float(np.percentile(probe_.calls, 50) * 1000)
        assert canceller is not None  # a probe needs one
        result.aec_lag_ms = aec_lag_ms(canceller.options)
    return result


def _hold_the_gil(seconds: float) -> None:
    """Keep every other Python thread of this process waiting for ``seconds``."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(seconds)  # no forced hand-over before the loop ends
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pass
    finally:
        sys.setswitchinterval(interval)


def _next(events: queue.Queue[Any], kind: type) -> Any:
    deadline = time.monotonic() + 20
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind.__name__} within 20 s"
        event = events.get(timeout=remaining)
        if isinstance(event, kind):
            return event


def _erle(result: Result, levels: np.ndarray, trials: list[Trial]) -> None:
    """ERLE over the replies, from 1.5 s after the first one started; and when it got there."""
    if not trials:
        return
    times, before, after = levels[:, 0], levels[:, 1], levels[:, 2]
    active = np.zeros(len(levels), dtype=bool)
    for trial in trials:  # while a reply plays, and its echo's tail
        active |= (times >= trial.started) & (times <= trial.finished + 0.3)
    active &= before > 10 ** (-50 / 10)  # the echo is sounding
    first = trials[0].started
    late = active & (times >= first + 1.5)
    if late.any():
        result.erle_db = float(10 * np.log10(before[late].sum() / max(after[late].sum(), 1e-15)))
    # Converged: the first 250 ms bin from which three echo bins in a row reach 25 dB.
    bins: list[tuple[float, float]] = []
    for start in np.arange(first, trials[-1].finished, 0.25):
        sel = active & (times >= start) & (times < start + 0.25)
        if sel.sum() >= 5:
            bins.append((start, 10 * np.log10(before[sel].sum() / max(after[sel].sum(), 1e-15))))
    for i in range(len(bins) - 2):
        if all(erle >= 25 for _, erle in bins[i : i + 3]):
            result.converged_s = float(bins[i][0] - first)
            break


def _onsets(levels: np.ndarray, trials: list[Trial]) -> None:
    """The user's speech onset: the first loud output frame after their speech was queued."""
    times, after = levels[:, 0], levels[:, 2]
    for trial in trials:
        assert trial.user_at is not None
        loud = np.flatnonzero((times > trial.user_at) & (after > 10 ** (-40 / 10)))
        if loud.size:
            trial.onset = float(times[loud[0]] - 0.01)  # the frame's start


def _correlation(
    sent: np.ndarray, clean: np.ndarray, trial: Trial, levels: np.ndarray | None
) -> float | None:
    """Correlation of what the server received with the clean speech, at the best alignment."""
    if levels is None or trial.onset is None:
        return None
    # The sent audio is the canceller's output, frame for frame: find the onset frame.
    index = int(np.searchsorted(levels[:, 0], trial.onset)) * FRAME
    lo = max(0, index - RATE // 2)
    window = sent[lo : index + len(clean) + RATE // 2].astype(np.float64)
    ref = clean.astype(np.float64)
    if len(window) < len(ref):
        return None
    size = 1 << (len(window) + len(ref)).bit_length()
    cc = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(ref, size)), size)
    lag = int(np.argmax(cc[: len(window) - len(ref) + 1]))
    seg = window[lag : lag + len(ref)]
    return float(np.corrcoef(seg, ref)[0, 1])


def aec_lag_ms(options: EchoCancellation, rate: int = RATE) -> float:
    """How far a canceller's output lags its input: AEC3's own delay with these options.

    Measured on a fresh canceller fed two seconds of white noise in 40 ms blocks with
    no reference (nothing to cancel), by cross-correlating what came out with what
    went in. It is a property of the processing, not of the run: measured live, the
    output of a converged canceller holds too little of its input to correlate with.
    """
    canceller = EchoCanceller(options, sample_rate=rate)
    noise = np.random.default_rng(0).normal(0, 3000, 2 * rate).astype(np.int16)
    block = rate // 25
    out = b"".join(
        canceller.near(noise[i : i + block].tobytes(), 1.0 + i / rate)
        for i in range(0, len(noise), block)
    )
    a = noise[: len(out) // 2].astype(np.float64)[rate // 2 :]
    b = np.frombuffer(out, dtype="<i2").astype(np.float64)[rate // 2 :]
    lags = range(rate // 20)  # 0-50 ms
    best = max(lags, key=lambda lag: float(np.dot(b[lag:], a[: len(a) - lag])))
    return 1000 * best / rate


def measure_path() -> tuple[float, float, float]:
    """The rig's echo as the microphone hears it: its level (dB against what the speaker
    played), how much of it is a copy of it (correlation at the best alignment), and
    how far the room's noise alone (1 s with nothing playing) is under it, in dB."""
    far = np.frombuffer(speak(REPLY_TEXTS[0]), dtype="<i2")
    recorded = bytearray()
    quiet = bytearray()
    with Microphone(chunk_ms=40) as mic, Speaker(device="virt_spk") as speaker:
        while mic.read(timeout=0) is not None:  # drop what was recorded before
            pass
        while len(quiet) < 2 * RATE:
            chunk = mic.read(timeout=2)
            assert chunk, "the microphone stopped"
            quiet += chunk
        speaker.play("probe", far.tobytes())
        speaker.end("probe")
        while len(recorded) < 2 * (len(far) + RATE):
            chunk = mic.read(timeout=2)
            assert chunk, "the microphone stopped"
            recorded += chunk
    mic_x = np.frombuffer(bytes(recorded), dtype="<i2").astype(np.float64)
    ref = far.astype(np.float64)
    size = 1 << (len(mic_x) + len(ref)).bit_length()
    cc = np.fft.irfft(np.fft.rfft(mic_x, size) * np.conj(np.fft.rfft(ref, size)), size)
    lag = int(np.argmax(cc[: len(mic_x) - len(ref)]))
    seg = mic_x[lag : lag + len(ref)]
    level = 10 * np.log10(np.mean(seg**2) / np.mean(ref**2))
    noise = np.frombuffer(bytes(quiet), dtype="<i2").astype(np.float64)
    under = 10 * np.log10(np.mean(seg**2) / max(float(np.mean(noise**2)), 1e-3))
    return float(level), float(np.corrcoef(seg, ref)[0, 1]), float(under)
