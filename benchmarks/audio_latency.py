"""Audio path latency and CPU.

1. delta -> device: a ``response.output_audio.delta`` frame arrives on the
   socket; time until its first sample is copied into the output callback's
   buffer (decode + Speaker.play + next callback), with a fake stream whose
   callback runs as soon as audio is queued.
2. mic -> socket: a microphone block enters the input callback; time until the
   ``input_audio_buffer.append`` frame leaves the client's socket (measured at
   the offline server's receive time, same process, loopback).
3. CPU of a live duplex 24 kHz conversation: mic and speaker streams through
   the session for N seconds, process CPU time / wall time.

Run: python benchmarks/audio_latency.py [--seconds 10]
Item 3 uses the real default devices when they exist (virtual or not).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.audio import Microphone, Speaker, VoiceBridge
from realtime_client.client import ConversationClient
from realtime_client.testing import FakeRealtimeServer


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) * 1000


class InstantStream:
    """A fake output stream: the test triggers callbacks."""

    def __init__(self, **options):
        self.options = options

    def start(self): ...
    def stop(self): ...
    def close(self): ...


def delta_to_device(n: int = 2000) -> list[float]:
    streams: list[InstantStream] = []
    speaker = Speaker(stream_factory=lambda **o: streams.append(InstantStream(**o)) or streams[-1])
    callback = streams[0].options["callback"]
    out = bytearray(960 * 2)
    chunk = (np.sin(np.arange(2400) / 5) * 8000).astype("<i2").tobytes()  # 100 ms delta
    frame = ev.encode_server_event(
        ev.ResponseOutputAudioDeltaEvent(
            event_id="e",
            response_id="r",
            item_id="i",
            output_index=0,
            content_index=0,
            delta=chunk,
        )
    )
    times = []
    for k in range(n):
        t0 = time.perf_counter()
        event = ev.decode_server_event(frame)
        assert isinstance(event, ev.ResponseOutputAudioDeltaEvent)
        speaker.play(f"i{k}", event.delta)
        callback(out, 960, None, None)
        times.append(time.perf_counter() - t0)
        speaker.interrupt()
    speaker.close()
    return times


def mic_to_socket(n: int = 300) -> list[float]:
    class FakeIn:
        def __init__(self, **o):
            self.options = o

        def start(self): ...
        def stop(self): ...
        def close(self): ...

    streams: list[FakeIn] = []
    sent_at: list[float] = []
    arrived: list[float] = []
    got = threading.Event()

    def on_connect(conn):
        pass

    options = ConversationOptions(turn_detection=None, output_modalities=["text"])
    with FakeRealtimeServer(on_connect=on_connect) as server:
        client = ConversationClient(base_url=server.base_url, api_key="k")
        with client.start_conversation(options=options) as session:
            mic = Microphone(stream_factory=lambda **o: streams.append(FakeIn(**o)) or streams[-1])
            original = session.send_audio

            def timed_send(audio):
                original(audio)

            conn = server.wait_for_connection(timeout=5)
            with VoiceBridge(session, source=mic):
                block = bytes(960)
                for _ in range(n):
                    got.clear()
                    before = len(conn.received) if hasattr(conn, "received") else None
                    t0 = time.perf_counter()
                    streams[0].options["callback"](memoryview(block), 480, None, None)
                    sent_at.append(t0)
                    deadline = time.monotonic() + 2
                    while time.monotonic() < deadline:  # bounded poll of the server's record
                        if before is not None and len(conn.received) > before:
                            break
                    arrived.append(time.perf_counter())
            mic.close()
    return [b - a for a, b in zip(sent_at, arrived, strict=False)]


def duplex_cpu(seconds: float) -> tuple[float, str]:
    options = ConversationOptions(turn_detection=ev.ServerVad(), output_modalities=["audio"])
    with FakeRealtimeServer() as server:
        client = ConversationClient(base_url=server.base_url, api_key="k")
        with (
            client.start_conversation(options=options) as session,
            Microphone() as mic,
            Speaker() as speaker,
            VoiceBridge(session, source=mic, sink=speaker),
        ):
            c0, w0 = time.process_time(), time.perf_counter()
            threading.Event().wait(seconds)  # the measurement window itself
            c1, w1 = time.process_time(), time.perf_counter()
    return (c1 - c0) / (
        w1 - w0
    ) * 100, f"mic {mic.device_rate} Hz, speaker {speaker.device_rate} Hz"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    d = delta_to_device()
    print(
        f"delta arrival -> first sample in output buffer: median {statistics.median(d) * 1000:.3f} ms, "
        f"p99 {pct(d, 99):.3f} ms (n={len(d)}; + up to one device block of 40 ms)"
    )
    m = mic_to_socket()
    print(
        f"mic block -> append frame received by the server: median "
        f"{statistics.median(m) * 1000:.3f} ms, p99 {pct(m, 99):.3f} ms (n={len(m)}; "
        "+ one 20 ms device block)"
    )
    try:
        cpu, devices = duplex_cpu(args.seconds)
        print(
            f"duplex 24 kHz conversation CPU: {cpu:.2f}% of one core ({devices}, {args.seconds:.0f} s)"
        )
    except Exception as exc:  # no audio device on this machine
        print(f"duplex CPU: skipped ({exc})")


if __name__ == "__main__":
    main()
