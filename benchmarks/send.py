"""Send benchmark: 20 ms audio appends, as a multiple of real time.

Run: ``python benchmarks/send.py [--appends 5000]``

The sender subprocess of ``receive.py`` counts the client's frames and answers
when all have arrived, so the time covers encoding, queueing, the writer
thread and the network. "wall" is bounded by the Python sink, which shares the
two cores; "CPU" is the sending process's own CPU time per append. Compared
in the same run with the raw floor
(websocket-client ``send`` of a hand-built JSON frame) and the official
``openai`` package's sync connection (``input_audio_buffer.append``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(__file__))

from receive import Sender

CHUNK = os.urandom(24_000 * 2 * 20 // 1000)  # 20 ms of 24 kHz 16-bit PCM


def floor(url: str, count: int) -> tuple[float, float]:
    import websocket

    ws = websocket.create_connection(f"{url}/realtime?model=sink-{count}")
    ws.recv()  # session.created
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        ws.send(
            json.dumps(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(CHUNK).decode()}
            )
        )
    ws.recv()
    result = time.perf_counter() - start, time.process_time() - cpu
    ws.close()
    return result


def ours(url: str, count: int) -> tuple[float, float]:
    from realtime_client.client import ConversationClient

    client = ConversationClient(base_url=url, api_key="bench")
    with client.start_conversation(model=f"sink-{count}") as session:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            session.send_audio(CHUNK)
        events = session.events(timeout=60)
        next(events)  # session.created, queued before the first append
        next(events)  # bench.done
        return time.perf_counter() - start, time.process_time() - cpu


def peer_openai(url: str, count: int) -> tuple[float, float]:
    import openai

    client = openai.OpenAI(api_key="bench", websocket_base_url=url)
    with client.realtime.connect(model=f"sink-{count}") as conn:
        conn.recv_bytes()  # session.created
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            conn.input_audio_buffer.append(audio=base64.b64encode(CHUNK).decode())
        conn.recv_bytes()
        return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    senders: list[tuple[str, Callable[[str, int], tuple[float, float]]]] = [
        ("floor (websocket-client send)", floor),
        ("realtime_client send_audio", ours),
    ]
    try:
        import openai  # noqa: F401

        senders.append(("openai input_audio_buffer.append", peer_openai))
    except ImportError:
        print("(openai not installed: peer skipped)")
    audio_s = args.appends * 0.020
    print(f"\n{args.appends} appends of 20 ms ({audio_s:.0f} s of audio), best of {args.repeat}\n")
    print(f"{'sender':36} {'wall us':>8} {'x real time':>12} {'CPU us':>8} {'x RT (CPU)':>11}")
    with Sender() as url:
        for name, fn in senders:
            fn(url, 100)  # warm up
            wall, cpu = min(fn(url, args.appends) for _ in range(args.repeat))
            print(
                f"{name:36} {wall / args.appends * 1e6:8.1f} {audio_s / wall:12.0f}"
                f" {cpu / args.appends * 1e6:8.1f} {audio_s / cpu:11.0f}"
            )


if __name__ == "__main__":
    main()
