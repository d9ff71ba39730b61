"""Decode throughput: typed events against the raw floor, in the same run.

The stream is what a spoken reply looks like on the wire: mostly 100 ms audio
deltas (24 kHz PCM16, base64 in JSON) with an audio transcript delta after each,
plus the surrounding response events. The floor is what any client must do
anyway: ``json.loads`` and standard-library base64 decoding of the audio.
The goal (issue #2): typed decoding costs no more CPU per event than the floor.
A second floor uses the same SIMD base64 decoder as the library (pybase64), to
show what building typed events costs on its own.

Run: ``python benchmarks/decode.py [--events N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import time
from collections.abc import Callable

import pybase64

from realtime_client import events as ev


def realistic_stream(n_events: int) -> list[str]:
    """Frames of a long spoken reply: audio and transcript deltas, plus lifecycle events."""
    ids = {"response_id": "resp_C9CiWl0hAidhBjLuUXxpq", "item_id": "item_C9CiWqv2nS1kG3VVmXJvf"}
    frames = [
        json.dumps(
            {
                "type": "response.created",
                "event_id": "event_0",
                "response": {
                    "id": ids["response_id"],
                    "object": "realtime.response",
                    "status": "in_progress",
                    "output": [],
                },
            }
        ),
        json.dumps(
            {
                "type": "response.content_part.added",
                "event_id": "event_1",
                **ids,
                "output_index": 0,
                "content_index": 0,
                "part": {"type": "audio", "transcript": ""},
            }
        ),
    ]
    words = [
        "the",
        "weather",
        "in",
        "paris",
        "is",
        "sunny",
        "with",
        "a",
        "light",
        "breeze",
        "and",
        "it",
        "will",
        "stay",
        "warm",
    ]
    i = 0
    while len(frames) < n_events:
        pcm = os.urandom(4800)  # 100 ms of 24 kHz 16-bit mono
        frames.append(
            json.dumps(
                {
                    "type": "response.output_audio.delta",
                    "event_id": f"event_{i}a",
                    **ids,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": base64.b64encode(pcm).decode(),
                }
            )
        )
        frames.append(
            json.dumps(
                {
                    "type": "response.output_audio_transcript.delta",
                    "event_id": f"event_{i}t",
                    **ids,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": words[i % len(words)] + " ",
                }
            )
        )
        i += 1
    return frames[:n_events]


def floor(frames: list[str]) -> None:
    for frame in frames:
        data = json.loads(frame)
        if data["type"] == "response.output_audio.delta":
            base64.b64decode(data["delta"])


def floor_simd(frames: list[str]) -> None:
    """The floor again, with the same SIMD base64 decoder the library uses."""
    for frame in frames:
        data = json.loads(frame)
        if data["type"] == "response.output_audio.delta":
            pybase64.b64decode(data["delta"], validate=True)


def typed(frames: list[str]) -> None:
    decode = ev.decode_server_event
    for frame in frames:
        event = decode(frame)
        if type(event) is ev.ResponseOutputAudioDeltaEvent:
            event.delta  # noqa: B018 - the audio is decoded already; touch it as a consumer would


def cpu_seconds(fn: Callable[[list[str]], None], frames: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.process_time()
        fn(frames)
        out.append(time.process_time() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    frames = realistic_stream(args.events)
    typed(frames[:100])  # build the converter's generated code before timing
    results = {}
    runs = (
        ("floor: json.loads + base64", floor),
        ("floor, SIMD base64", floor_simd),
        ("decode_server_event", typed),
    )
    for name, fn in runs:
        times = cpu_seconds(fn, frames, args.repeat)
        results[name] = min(times) / len(frames) * 1e6
        print(
            f"{name:<28} {results[name]:8.2f} us/event (min of {args.repeat}, median {statistics.median(times) / len(frames) * 1e6:.2f})"
        )
    ratio = results["decode_server_event"] / results["floor: json.loads + base64"]
    simd = results["decode_server_event"] / results["floor, SIMD base64"]
    print(f"ratio typed/floor: {ratio:.2f} (goal: <= 1.00)")
    print(f"ratio typed/floor with SIMD base64: {simd:.2f} (the cost of typing itself)")


if __name__ == "__main__":
    main()
