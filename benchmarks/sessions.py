"""Many sessions in one process: idle memory, and 100 sessions streaming at once.

Run: ``python benchmarks/sessions.py [--sessions 100] [--seconds 5] [--idle 20]``

* idle: ``--idle`` sessions opened against the local sender, then left idle;
  the Python heap they hold (tracemalloc, after a collection) per session,
  and the largest single block any of them holds (a receive buffer would show
  up here).
* streaming: ``--sessions`` connections each receive 50 ms audio deltas at
  real time for ``--seconds``; the process's CPU time and the delivery latency
  (sender's send to the consumer holding the event) p50/p99, for the floor
  (one websocket-client thread per connection: ``recv`` + ``json.loads`` +
  base64) and for callback sessions, in the same run.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import statistics
import sys
import threading
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(__file__))

from receive import DELTA_MS, GO, Sender


def idle(url: str, count: int) -> tuple[float, int]:
    """(heap bytes per idle session, largest block held by the sessions)."""
    from realtime_client.client import ConversationClient

    client = ConversationClient(base_url=url, api_key="bench")
    warm = client.start_conversation(model="sink-1000000")  # imports and caches, not counted
    warm.close()
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    sessions = [client.start_conversation(model="sink-1000000") for _ in range(count)]
    time.sleep(1.0)  # let every reader settle into its blocking read (measurement only)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    diff = after.compare_to(before, "traceback")
    grown = sum(stat.size_diff for stat in diff if stat.size_diff > 0)
    largest = max((trace.size for trace in after.traces), default=0)
    for session in sessions:
        session.close()
    return grown / count, largest


def floor_streams(url: str, count: int, events: int) -> tuple[float, list[int]]:
    import websocket

    latencies: list[list[int]] = [[] for _ in range(count)]
    sockets = []
    for _ in range(count):
        ws = websocket.create_connection(
            f"{url}/realtime?model=live-{events}", skip_utf8_validation=True
        )
        ws.recv()  # session.created
        sockets.append(ws)

    def run(ws: websocket.WebSocket, into: list[int]) -> None:
        for _ in range(events):
            data = json.loads(ws.recv())
            base64.b64decode(data["delta"])
            into.append(time.monotonic_ns() - int(data["event_id"][1:]))

    threads = [
        threading.Thread(target=run, args=(ws, lat), daemon=True)
        for ws, lat in zip(sockets, latencies, strict=True)
    ]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    for ws in sockets:
        ws.send(GO)
    for thread in threads:
        thread.join(events * DELTA_MS / 1000 + 60)
    cpu = time.process_time() - cpu
    for ws in sockets:
        ws.close()
    return cpu, [x for lat in latencies for x in lat]


def our_streams(url: str, count: int, events: int) -> tuple[float, list[int]]:
    from realtime_client._config import ConversationOptions
    from realtime_client.client import ConversationClient
    from realtime_client.events import ResponseOutputAudioDeltaEvent

    client = ConversationClient(base_url=url, api_key="bench")
    latencies: list[list[int]] = [[] for _ in range(count)]
    finished = threading.Semaphore(0)
    sessions = []
    for n in range(count):
        session = client.start_conversation(
            model=f"live-{events}",
            options=ConversationOptions(buffer_events=False, accumulate_last_turn=False),
        )
        into = latencies[n]

        def on_delta(event: ResponseOutputAudioDeltaEvent, into: list[int] = into) -> None:
            into.append(time.monotonic_ns() - int(event.event_id[1:]))
            if len(into) == events:
                finished.release()

        session.on(ResponseOutputAudioDeltaEvent, on_delta)
        sessions.append(session)
    cpu = time.process_time()
    for session in sessions:
        session.clear_audio()  # the "go"
    for _ in range(count):
        if not finished.acquire(timeout=events * DELTA_MS / 1000 + 60):
            raise RuntimeError("a session did not receive all its events")
    cpu = time.process_time() - cpu
    for session in sessions:
        session.close()
    return cpu, [x for lat in latencies for x in lat]


def _p(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle", type=int, default=20)
    args = parser.parse_args()
    events = int(args.seconds * 1000 / DELTA_MS)
    with Sender() as url:
        per_session, largest = idle(url, args.idle)
        rows = [
            ("floor (websocket-client threads)", *floor_streams(url, args.sessions, events)),
            ("realtime_client callback sessions", *our_streams(url, args.sessions, events)),
        ]
    print(f"\nidle: {args.idle} sessions, {per_session / 1024:.1f} KiB of Python heap each;")
    print(f"largest block held: {largest / 1024:.1f} KiB\n")
    print(f"streaming: {args.sessions} sessions x {events} deltas of {DELTA_MS} ms at real time")
    print(
        f"{'receiver':36} {'CPU s':>7} {'x floor':>8} {'p50 ms':>8} {'p99 ms':>8} {'x floor':>8}"
    )
    base_cpu, base_lat = rows[0][1], rows[0][2]
    for name, cpu, lat in rows:
        print(
            f"{name:36} {cpu:7.2f} {cpu / base_cpu:8.2f} {statistics.median(lat) / 1e6:8.2f}"
            f" {_p(lat, 0.99):8.2f} {_p(lat, 0.99) / _p(base_lat, 0.99):8.2f}"
        )


if __name__ == "__main__":
    main()
