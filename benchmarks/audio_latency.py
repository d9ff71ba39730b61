"""Latency and CPU of the live audio path, client side, on real (virtual) devices.

A live duplex 24 kHz conversation: the offline server runs in its own process
(``python -m realtime_client serve --port 0``); speech is played into the
virtual microphone in a loop (``paplay -d mic_feed``); this process runs
Microphone -> VoiceBridge -> session -> Speaker and measures:

1. CPU: this process's CPU time / wall time over ``--seconds`` (the server and
   paplay are other processes). Target: under 2% of one core.
2. mic block -> append frame sent: stamped in the input callback (each block
   tagged by its byte offset) and when the transport's ``send`` returns for
   the ``input_audio_buffer.append`` frame carrying that block's last byte.
   Target: p99 under 5 ms plus one chunk (40 ms by default).
3. delta arrival -> first sample in the output stream: stamped when the
   transport's ``recv`` returns the ``response.output_audio.delta`` frame and
   when the output callback copies that delta's first sample. Measured for
   deltas that reach an idle speaker (the first of each reply); later deltas
   queue behind audio still playing, which is playback, not added latency.
   Target: p99 under 5 ms plus one device block.
4. delta arrival -> queued in the speaker, for every delta (decode + play()).
5. CPU per thread (Linux), and inside the library's stream callbacks.

``--mic-block-ms``, ``--mic-chunk-ms``, ``--mic-latency``, ``--speaker-block-ms`` and
``--speaker-latency`` override the devices' defaults, to compare settings in one place.

The transport and the stream callbacks are wrapped here, not in the library.
Needs the virtual devices: eval "$(.ci/audio-setup)".

Run: python benchmarks/audio_latency.py [--seconds 30] [--profile FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import numpy as np

from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client._transport import WebSocketTransport
from realtime_client.audio import Microphone, Speaker, VoiceBridge, read_wav
from realtime_client.audio._stream import sounddevice_stream
from realtime_client.client import ConversationClient

APPEND = '"input_audio_buffer.append"'
DELTA = b'"response.output_audio.delta"'


class TimedTransport:
    """A transport whose send/recv record when append frames left and deltas arrived."""

    def __init__(self, inner: WebSocketTransport) -> None:
        self._inner = inner
        self.append_sent: list[float] = []  # send() return time of each append frame
        self.last_delta_at = 0.0  # recv() return time of the latest delta frame

    def send(self, frame: str) -> None:
        self._inner.send(frame)
        if APPEND in frame[:200]:
            self.append_sent.append(time.perf_counter())

    def recv(self) -> str | bytes:
        frame = self._inner.recv()
        head = frame[:200]
        if DELTA in (head.encode() if isinstance(head, str) else head):
            self.last_delta_at = time.perf_counter()
        return frame

    def ping(self) -> None:
        self._inner.ping()

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self._inner.send_close(code, reason)

    def abort(self) -> None:
        self._inner.abort()

    def shutdown(self) -> None:
        self._inner.shutdown()


class Probe:
    """Wraps the devices' callbacks and the speaker to stamp blocks and deltas."""

    def __init__(self) -> None:
        self.transport: TimedTransport | None = None
        self.mic_blocks: list[tuple[float, int]] = []  # (callback time, bytes recorded so far)
        self._mic_bytes = 0
        self.pending_delta: float | None = None  # arrival of a delta sent to an idle speaker
        self.first_sample: list[float] = []  # arrival -> first sample copied
        self.queued: list[float] = []  # arrival -> play() returned
        self.speaker: Speaker | None = None
        self.mic_callback_cpu = 0.0  # thread CPU seconds inside the library's callbacks
        self.speaker_callback_cpu = 0.0

    def transport_factory(self, url: str, headers: Mapping[str, str], timeout: float) -> Any:
        self.transport = TimedTransport(
            WebSocketTransport.connect(url, headers=headers, timeout=timeout)
        )
        return self.transport

    def mic_factory(self, **options: Any) -> Any:
        callback = options["callback"]

        def tagged(indata: Any, frames: int, when: Any, status: Any) -> None:
            stamp = time.perf_counter()
            cpu = time.thread_time()
            callback(indata, frames, when, status)
            self.mic_callback_cpu += time.thread_time() - cpu
            self._mic_bytes += frames * 2
            self.mic_blocks.append((stamp, self._mic_bytes))

        return sounddevice_stream(**{**options, "callback": tagged})

    def speaker_factory(self, **options: Any) -> Any:
        callback = options["callback"]

        def tagged(outdata: Any, frames: int, when: Any, status: Any) -> None:
            cpu = time.thread_time()
            callback(outdata, frames, when, status)
            self.speaker_callback_cpu += time.thread_time() - cpu
            pending = self.pending_delta
            if pending is not None and np.frombuffer(outdata, dtype="<i2").any():
                self.first_sample.append(time.perf_counter() - pending)
                self.pending_delta = None

        return sounddevice_stream(**{**options, "callback": tagged})

    # The AudioSink the bridge plays into: the speaker, with stamps around play().
    @property
    def playing(self) -> bool:
        assert self.speaker is not None
        return self.speaker.playing

    def start(self) -> None:
        assert self.speaker is not None
        self.speaker.start()

    def play(self, item_id: str, audio: bytes, *, content_index: int = 0) -> None:
        assert self.speaker is not None
        assert self.transport is not None
        arrived = self.transport.last_delta_at
        if not self.speaker.playing:
            self.pending_delta = arrived
        self.speaker.play(item_id, audio, content_index=content_index)
        self.queued.append(time.perf_counter() - arrived)

    def end(self, item_id: str, *, content_index: int = 0) -> None:
        assert self.speaker is not None
        self.speaker.end(item_id, content_index=content_index)

    def interrupt(self) -> Any:
        assert self.speaker is not None
        return self.speaker.interrupt()

    def mic_to_socket(self, chunk_bytes: int) -> list[float]:
        """Per block: from its callback to the send of the append frame with its last byte."""
        assert self.transport is not None
        sent = self.transport.append_sent
        out = []
        for stamp, end in self.mic_blocks:
            frame = (end - 1) // chunk_bytes
            if frame < len(sent):
                out.append(sent[frame] - stamp)
        return out


@contextlib.contextmanager
def offline_server() -> Iterator[str]:
    """``python -m realtime_client serve --port 0`` in its own process; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_client", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("ws"):
            raise RuntimeError(f"the offline server printed {url!r}, not its URL")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def speech_into_mic(folder: str) -> Iterator[None]:
    """The bundled question, then 3 s of silence, played into mic_feed in a loop."""
    question = resources.files("realtime_client.audio") / "data/question.wav"
    with resources.as_file(question) as path:
        pcm, rate = read_wav(path)
    wav_path = os.path.join(folder, "turn.wav")
    with wave.open(wav_path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm + bytes(rate * 2 * 3))
    loop = f'while :; do paplay -d mic_feed "{wav_path}" || exit 1; done'
    proc = subprocess.Popen(["sh", "-c", loop], start_new_session=True)
    try:
        yield
    finally:
        os.killpg(proc.pid, 15)  # the loop and its paplay, by our child's group id
        proc.wait(10)


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread of this process, by thread name (Linux only).

    From ``/proc/self/task/*/schedstat`` (the scheduler's exact run time), not
    ``stat`` (clock ticks, too coarse for threads that wake 25 times a second).
    """
    python_names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                with open(f"/proc/self/task/{tid}/schedstat") as f:
                    run_ns = int(f.read().split()[0])
                with open(f"/proc/self/task/{tid}/comm") as f:
                    comm = f.read().strip()
                key = python_names.get(int(tid)) or f"{comm} [{tid}, not a Python thread]"
                out[key] = run_ns / 1e9
    return out


def conversation(
    seconds: float, profile: str | None, devices: Mapping[str, Any]
) -> dict[str, Any]:
    probe = Probe()
    options = ConversationOptions(turn_detection=ev.ServerVad(), output_modalities=["audio"])
    with (
        tempfile.TemporaryDirectory() as folder,
        offline_server() as url,
        ConversationClient(
            base_url=url, api_key="k", transport_factory=probe.transport_factory
        ).start_conversation(options=options) as session,
        Microphone(stream_factory=probe.mic_factory, **devices["mic"]) as mic,
        Speaker(stream_factory=probe.speaker_factory, **devices["speaker"]) as speaker,
    ):
        probe.speaker = speaker
        replies = threading.Semaphore(0)
        session.on(ev.ResponseDoneEvent, lambda _: replies.release())
        with VoiceBridge(session, source=mic, sink=probe), speech_into_mic(folder):
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            threads0 = thread_cpu()
            callbacks0 = probe.mic_callback_cpu, probe.speaker_callback_cpu
            cpu0, wall0 = time.process_time(), time.perf_counter()
            threading.Event().wait(seconds)  # the measurement window
            cpu1, wall1 = time.process_time(), time.perf_counter()
            threads1 = thread_cpu()
            callbacks1 = probe.mic_callback_cpu, probe.speaker_callback_cpu
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
        count = 0
        while replies.acquire(blocking=False):
            count += 1
        return {
            "cpu": (cpu1 - cpu0) / (wall1 - wall0) * 100,
            "callbacks": [
                (after - before) / (wall1 - wall0) * 100
                for before, after in zip(callbacks0, callbacks1, strict=True)
            ],
            "threads": {
                name: (used - threads0.get(name, 0.0)) / (wall1 - wall0) * 100
                for name, used in threads1.items()
            },
            "mic": probe.mic_to_socket(mic.wire_format.sample_rate * mic.chunk_ms // 1000 * 2),
            "chunk_ms": mic.chunk_ms,
            "block_ms": speaker.blocksize_ms,
            "first": probe.first_sample,
            "queued": probe.queued,
            "replies": count,
            "underruns": speaker.underruns,
            "underflows": speaker.output_underflows,
            "dropped": mic.dropped_blocks,
            "rates": (mic.device_rate, speaker.device_rate),
        }


def row(name: str, values: list[float], target: str) -> str:
    if not values:
        return f"| {name} | 0 | - | - | - | {target} |"
    ms = np.array(values) * 1000
    return (
        f"| {name} | {len(ms)} | {np.median(ms):.2f} | {np.percentile(ms, 99):.2f} "
        f"| {ms.max():.2f} | {target} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--profile", help="write a cProfile of the window to this file")
    parser.add_argument("--mic-block-ms", type=float, help="Microphone blocksize_ms")
    parser.add_argument("--mic-chunk-ms", type=int, help="Microphone chunk_ms")
    parser.add_argument("--mic-latency", type=float, help="Microphone latency (s)")
    parser.add_argument("--speaker-block-ms", type=float, help="Speaker blocksize_ms")
    parser.add_argument("--speaker-latency", type=float, help="Speaker latency (s)")
    args = parser.parse_args()
    mic = {
        "blocksize_ms": args.mic_block_ms,
        "chunk_ms": args.mic_chunk_ms,
        "latency": args.mic_latency,
    }
    speaker = {"blocksize_ms": args.speaker_block_ms, "latency": args.speaker_latency}
    devices = {
        "mic": {k: v for k, v in mic.items() if v is not None},
        "speaker": {k: v for k, v in speaker.items() if v is not None},
    }
    r = conversation(args.seconds, args.profile, devices)
    print(
        f"duplex 24 kHz conversation, {args.seconds:.0f} s, device rates "
        f"mic {r['rates'][0]} Hz / speaker {r['rates'][1]} Hz, {r['replies']} replies, "
        f"speaker underruns {r['underruns']} (PortAudio underflows {r['underflows']}), "
        f"mic blocks dropped {r['dropped']}"
    )
    print()
    print("| measure | n | median ms | p99 ms | max ms | target |")
    print("|---|---|---|---|---|---|")
    print(f"| client CPU, % of one core | - | {r['cpu']:.2f} % | - | - | < 2 % |")
    print(
        row(
            "mic block -> append frame sent",
            r["mic"],
            f"p99 < 5 ms + {r['chunk_ms']} ms chunk",
        )
    )
    print(
        row(
            "delta arrival -> first sample in output (idle speaker)",
            r["first"],
            f"p99 < 5 ms + {r['block_ms']:g} ms block",
        )
    )
    print(row("delta arrival -> queued in speaker (all deltas)", r["queued"], "p99 < 5 ms"))
    print()
    print(
        f"Inside the library's stream callbacks: microphone {r['callbacks'][0]:.2f} %, "
        f"speaker {r['callbacks'][1]:.2f} % (of one core; included below)"
    )
    print("CPU by thread (% of one core):")
    for name, pct in sorted(r["threads"].items(), key=lambda kv: -kv[1]):
        if pct >= 0.005:
            print(f"  {pct:5.2f} %  {name}")


if __name__ == "__main__":
    main()
