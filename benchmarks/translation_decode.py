"""Translation decode cost: typed translation events against the raw floor, in the same run.

The stream is what a translation session sends: 200 ms translated-audio deltas
(24 kHz PCM16, base64 in JSON, with format, sample rate, channels and
elapsed_ms) with output and input transcript deltas between them. The floor is
what any client must do anyway: ``json.loads`` and standard-library base64
decoding of the audio. Goal (issue #14, as #2 for conversations): typed
decoding costs no more CPU per event than the floor, in total and in the tail
(p99 of per-event wall time).

Run: ``python benchmarks/translation_decode.py [--events N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import time
from collections.abc import Callable

from realtime_client.events import translation as tev


def translation_stream(n_events: int) -> list[str]:
    """Frames of a long translation: audio deltas with transcript deltas between them."""
    words = ["el", " tiempo", " en", " parís", " es", " soleado", " con", " brisa"]
    frames = []
    i = 0
    while len(frames) < n_events:
        frames.append(
            json.dumps(
                {
                    "type": "session.output_audio.delta",
                    "event_id": f"event_{i}a",
                    "delta": base64.b64encode(os.urandom(9600)).decode(),  # 200 ms
                    "format": "pcm16",
                    "sample_rate": 24000,
                    "channels": 1,
                    "elapsed_ms": 200 * i,
                }
            )
        )
        for kind in ("output", "input"):
            frames.append(
                json.dumps(
                    {
                        "type": f"session.{kind}_transcript.delta",
                        "event_id": f"event_{i}{kind[0]}",
                        "delta": words[i % len(words)],
                        "elapsed_ms": 200 * i,
                    }
                )
            )
        i += 1
    return frames[:n_events]


def floor(frames: list[str]) -> None:
    for frame in frames:
        data = json.loads(frame)
        if data["type"] == "session.output_audio.delta":
            base64.b64decode(data["delta"])


def typed(frames: list[str]) -> None:
    decode = tev.decode_translation_server_event
    for frame in frames:
        decode(frame)


def cpu_seconds(fn: Callable[[list[str]], None], frames: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.process_time()
        fn(frames)
        out.append(time.process_time() - start)
    return out


def p99_us(fns: list[Callable[[list[str]], None]], frames: list[str]) -> list[float]:
    """The 99th percentile of one event's wall time per function, in microseconds.

    The functions take turns on each frame, so machine noise hits them alike.
    """
    times: list[list[int]] = [[] for _ in fns]
    for frame in frames:
        for fn, out in zip(fns, times, strict=True):
            start = time.perf_counter_ns()
            fn([frame])
            out.append(time.perf_counter_ns() - start)
    return [statistics.quantiles(t, n=100)[98] / 1000 for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    frames = translation_stream(args.events)
    typed(frames[:100])  # build the converter's generated code before timing
    runs = {"floor: json.loads + base64": floor, "decode_translation_server_event": typed}
    mean = {
        name: min(cpu_seconds(fn, frames, args.repeat)) / len(frames) * 1e6
        for name, fn in runs.items()
    }
    tail = dict(zip(runs, p99_us(list(runs.values()), frames), strict=True))
    for name in runs:
        print(
            f"{name:<32} {mean[name]:7.2f} us/event CPU (min of {args.repeat}), p99 {tail[name]:7.2f} us"
        )
    base, ours = runs
    print(f"ratio typed/floor, CPU: {mean[ours] / mean[base]:.2f} (goal: <= 1.00)")
    print(f"ratio typed/floor, p99: {tail[ours] / tail[base]:.2f} (goal: <= 1.00)")


if __name__ == "__main__":
    main()
