"""Receive benchmark: CPU per event and delivery latency, against the raw floor and a peer.

Run: ``python benchmarks/receive.py [--events 3000] [--paced 1000]``

A local WebSocket sender (websockets' sync server, in a subprocess so that its
CPU is not counted) streams ``response.output_audio.delta`` events carrying
50 ms of 24 kHz PCM. Three receivers read the same frames in the same run:

* floor: websocket-client ``recv()`` (with ``skip_utf8_validation``) +
  ``json.loads`` + base64 decode of the audio; nothing else;
* realtime_client: ``ConversationSession.events()`` (typed, validated events
  through the reader thread and the queue) and a callback-only session;
* openai: the official ``openai`` package's sync realtime connection
  (``client.realtime.connect()``; installed only for benchmarking).

"flood" sends as fast as possible and measures the receiving process's CPU
time per event. "paced" sends at 20x real time (one 50 ms delta every 2.5 ms)
and measures delivery latency, from the sender's ``send`` to the consumer
holding the event (both clocks are CLOCK_MONOTONIC, shared by processes; every
receiver stamps once it holds the decoded event, the floor after its base64
decode).

The paced runs are interleaved: ``--rounds`` rounds, each running every
receiver in turn on ``--paced / --rounds`` events, and each receiver's
latencies pooled over the rounds. Measured one receiver after the other (as
this benchmark once did), a ratio compared two different stretches of time:
on a shared machine, another process's burst of work during one receiver's
run set its p99 (the floor's own p99 ranged from 0.28 to 2.8 ms between runs),
so the ratio measured the neighbours rather than the client. Interleaving puts
every receiver under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

DELTA_MS = 50
SPEEDUP = 20


def _frame(n: int, stamp: bool) -> str:
    audio = os.urandom(24_000 * 2 * DELTA_MS // 1000)
    import base64

    event_id = f"t{time.monotonic_ns()}" if stamp else f"e{n}"
    return json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": event_id,
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(audio).decode(),
        }
    )


GO = json.dumps({"type": "input_audio_buffer.clear"})
"""What a receiver sends once it is ready (callbacks registered): the sender waits for it."""


def serve() -> None:
    """The sender (subprocess): prints its port, then serves each connection per
    its ``model`` query parameter: ``flood-N`` or ``paced-N`` (each starting once
    the client sent its "go" frame); then for appends, ``sink-N`` counts N client
    frames and answers ``bench.done``."""
    from urllib.parse import parse_qs, urlsplit

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.server import serve as ws_serve

    frames = [_frame(n, False) for n in range(64)]
    created = json.dumps(
        {"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime"}}
    )

    def handler(conn: Any) -> None:
        with contextlib.suppress(ConnectionClosed):  # a client leaving early is not news
            stream(conn)

    def stream(conn: Any) -> None:
        conn.send(created)  # a Realtime server's first event on every connection
        model = parse_qs(urlsplit(conn.request.path).query).get("model", ["flood-1"])[0]
        mode, count_text = model.split("-")
        count = int(count_text)
        if mode in ("flood", "paced", "live"):
            conn.recv()  # the client's "go": its callbacks are registered, it is ready
        if mode == "flood":
            for n in range(count):
                conn.send(frames[n % 64])
        elif mode in ("paced", "live"):  # 20x real time, or real time
            interval = DELTA_MS / 1000 / (SPEEDUP if mode == "paced" else 1)
            start = time.monotonic()
            for n in range(count):
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                conn.send(_stamp(frames[n % 64]))
        elif mode == "sink":
            for _ in range(count):
                conn.recv()
            conn.send(json.dumps({"type": "bench.done", "event_id": "done"}))
        with contextlib.suppress(Exception):
            conn.recv()  # wait for the client to close

    with ws_serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        print(server.socket.getsockname()[1], flush=True)
        server.serve_forever()


def _stamp(frame: str) -> str:
    head, _, rest = frame.partition('"event_id": "')
    _, _, tail = rest.partition('"')
    return f'{head}"event_id": "t{time.monotonic_ns()}"{tail}'


class Sender:
    """The sender subprocess, as a context manager yielding the base URL.

    ``script`` is the benchmark whose ``--serve`` runs in it (this one's by default;
    ``send.py`` passes its own sink).
    """

    def __init__(self, script: str = __file__) -> None:
        self.script = script

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, self.script, "--serve"], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline())
        return f"ws://127.0.0.1:{port}/v1"

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# --- receivers: each returns (cpu seconds, list of latencies in ns or []) -----------------------


def floor(url: str, count: int, paced: bool, *, simd: bool = True) -> tuple[float, list[int]]:
    import base64

    import pybase64
    import websocket

    b64decode = pybase64.b64decode if simd else base64.b64decode

    mode = "paced" if paced else "flood"
    ws = websocket.create_connection(
        f"{url}/realtime?model={mode}-{count}", skip_utf8_validation=True
    )
    lat: list[int] = []
    ws.recv()  # session.created
    ws.send(GO)
    cpu = time.process_time()
    for _ in range(count):
        data = json.loads(ws.recv())
        b64decode(data["delta"])
        if paced:
            lat.append(time.monotonic_ns() - int(data["event_id"][1:]))
    cpu = time.process_time() - cpu
    ws.close()
    return cpu, lat


def floor_stdlib(url: str, count: int, paced: bool) -> tuple[float, list[int]]:
    """The floor as issue 4 words it: recv, json.loads and the standard library's base64."""
    return floor(url, count, paced, simd=False)


def ours(url: str, count: int, paced: bool) -> tuple[float, list[int]]:
    from realtime_client.client import ConversationClient

    mode = "paced" if paced else "flood"
    client = ConversationClient(base_url=url, api_key="bench")
    lat: list[int] = []
    with client.start_conversation(model=f"{mode}-{count}") as session:
        events = session.events(timeout=30)
        next(events)  # session.created
        session.clear_audio()  # the "go"
        cpu = time.process_time()
        for _ in range(count):
            event = next(events)
            if paced:
                lat.append(time.monotonic_ns() - int(event.event_id[1:]))  # type: ignore[union-attr]
        cpu = time.process_time() - cpu
    return cpu, lat


def ours_callbacks(url: str, count: int, paced: bool) -> tuple[float, list[int]]:
    from realtime_client._config import ConversationOptions
    from realtime_client.client import ConversationClient
    from realtime_client.events import ResponseOutputAudioDeltaEvent

    mode = "paced" if paced else "flood"
    client = ConversationClient(base_url=url, api_key="bench")
    lat: list[int] = []
    done = threading.Event()
    seen = [0]

    def on_delta(event: ResponseOutputAudioDeltaEvent) -> None:
        if paced:
            lat.append(time.monotonic_ns() - int(event.event_id[1:]))
        seen[0] += 1
        if seen[0] == count:
            done.set()

    with client.start_conversation(
        model=f"{mode}-{count}", options=ConversationOptions(buffer_events=False)
    ) as session:
        # Registered before the "go": no event can arrive before its callback (the
        # hang this benchmark had: the flood began before registration, the count
        # was never reached, and every run waited out its timeout).
        session.on(ResponseOutputAudioDeltaEvent, on_delta)
        cpu = time.process_time()
        session.clear_audio()  # the "go"
        if not done.wait(60):
            raise RuntimeError(f"callbacks saw {seen[0]} of {count} events within 60 s")
        cpu = time.process_time() - cpu
    return cpu, lat


def peer_openai(url: str, count: int, paced: bool) -> tuple[float, list[int]]:
    import openai

    mode = "paced" if paced else "flood"
    client = openai.OpenAI(api_key="bench", websocket_base_url=url)
    lat: list[int] = []
    with client.realtime.connect(model=f"{mode}-{count}") as conn:
        conn.recv()  # session.created
        conn.send({"type": "input_audio_buffer.clear"})
        cpu = time.process_time()
        for _ in range(count):
            event = conn.recv()
            if paced:
                lat.append(time.monotonic_ns() - int(event.event_id[1:]))
        cpu = time.process_time() - cpu
    return cpu, lat


def _p(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="events per flood run")
    parser.add_argument("--paced", type=int, default=1000, help="events per paced run")
    parser.add_argument("--repeat", type=int, default=3, help="flood runs (best kept)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="paced rounds, receivers interleaved in each"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    receivers: list[tuple[str, Callable[[str, int, bool], tuple[float, list[int]]]]] = [
        ("floor (websocket-client+json+b64)", floor_stdlib),
        ("floor, SIMD base64 (pybase64)", floor),
        ("realtime_client events()", ours),
        ("realtime_client callbacks only", ours_callbacks),
    ]
    try:
        import openai  # noqa: F401

        receivers.append(("openai sync connection", peer_openai))
    except ImportError:
        print("(openai not installed: peer skipped)")
    rows = []
    with Sender() as url:
        cpus = []
        for _, fn in receivers:
            fn(url, 200, False)  # warm up
            cpus.append(min(fn(url, args.events, False)[0] for _ in range(args.repeat)))
        per_round = max(args.paced // args.rounds, 1)
        lats: list[list[int]] = [[] for _ in receivers]
        for _ in range(args.rounds):
            for pooled, (_, fn) in zip(lats, receivers, strict=True):
                pooled.extend(fn(url, per_round, True)[1])
        for (name, _), cpu, lat in zip(receivers, cpus, lats, strict=True):
            rows.append(
                (name, cpu / args.events * 1e6, statistics.median(lat) / 1e6, _p(lat, 0.99))
            )
    floor_cpu = rows[0][1]  # the standard-library floor; the SIMD row is the stricter one
    print(f"\n{DELTA_MS} ms PCM deltas; flood {args.events} events (best of {args.repeat});")
    print(
        f"paced {per_round * args.rounds} events at {SPEEDUP}x real time "
        f"({args.rounds} interleaved rounds)\n"
    )
    floor_p50, floor_p99 = rows[0][2], rows[0][3]
    print(
        f"{'receiver':36} {'CPU us/event':>13} {'x floor':>8} {'p50 ms':>8} {'x floor':>8}"
        f" {'p99 ms':>8} {'x floor':>8}"
    )
    for name, cpu_us, p50, p99 in rows:
        print(
            f"{name:36} {cpu_us:13.1f} {cpu_us / floor_cpu:8.2f} {p50:8.3f}"
            f" {p50 / floor_p50:8.2f} {p99:8.3f} {p99 / floor_p99:8.2f}"
        )


if __name__ == "__main__":
    main()
