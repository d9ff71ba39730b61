"""Reliability against the offline server: rollovers at the session limit, and drops.

Run: ``python benchmarks/reliability.py [rollover|drops|all] [--turns N] ...``

* rollover: the service's 60-minute limit simulated at ``--speed`` (60x: the
  server ends each connection after 60 s); ``--turns`` text turns (200), one
  every ``--gap`` seconds (1 s: a simulated minute), with reconnection on and
  ``rollover_margin`` of one simulated minute. Reports each rollover's time
  away against the floor (opening a fresh session: handshake to
  ``session.created``, measured in the same run), whether the server's final
  conversation holds every turn once and in order, and the Python heap and the
  library's thread count over the run.
* drops: ``--turns`` turns (100) with audio both ways (100 ms chunks streamed
  in, an audio reply out) and ``--drops`` faults (20) at random turns and
  points (a TCP reset mid-reply or between turns, a peer gone silent), seeded
  by ``--seed``. Reports turns answered, turns cut by a drop, turns asked after
  a drop that were not answered (target 0), iterator errors (target 0) and
  threads left after close (target 0).
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import queue
import random
import statistics
import sys
import threading
import time
import tracemalloc
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from realtime_client import (
    ConversationClient,
    ConversationOptions,
    ReconnectPolicy,
    SessionReconnected,
)
from realtime_client.messages import MessageKind
from realtime_client.testing import FakeRealtimeServer

KEY = "sk-bench"


def _ours() -> int:
    return sum(
        t.name.startswith("realtime-") and "server" not in t.name for t in threading.enumerate()
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _user_texts(server: FakeRealtimeServer) -> list[str]:
    conn = server.connections[-1]
    assert conn.logic is not None
    texts = []
    for item in conn.logic.conversation.items:
        if getattr(item, "role", None) == "user":
            texts.append(" ".join(getattr(p, "text", "") or "" for p in item.content))  # type: ignore[union-attr]
    return texts


def _serve(pipe: Any, speed: float, limit: float) -> None:
    """The offline server in its own process, so the heap measured is the client's."""
    with FakeRealtimeServer(api_key=KEY, speed=speed, max_session_duration=limit) as server:
        pipe.send(server.base_url)
        while (command := pipe.recv()) != "stop":
            assert command == "texts"
            pipe.send(_user_texts(server))


def rollover(turns: int, speed: float, gap: float) -> bool:
    limit = 3600.0 / speed  # the 60-minute limit, in real seconds at this speed
    context = multiprocessing.get_context("spawn")
    pipe, child_end = context.Pipe()
    child = context.Process(target=_serve, args=(child_end, speed, limit), daemon=True)
    child.start()
    try:
        base_url = pipe.recv()
        client = ConversationClient(base_url=base_url, api_key=KEY)
        floor = []
        for _ in range(5):  # the floor: a fresh session, handshake to session.created
            started = time.perf_counter()
            client.start_conversation(
                options=ConversationOptions(output_modalities=["text"])
            ).close()
            floor.append(time.perf_counter() - started)
        policy = ReconnectPolicy(rollover_margin=60.0 / speed)
        # Callbacks only (as an app that does not iterate): the heap measured is
        # what the library keeps, not events waiting for an iterator.
        options = ConversationOptions(
            reconnect=policy, output_modalities=["text"], buffer_events=False
        )
        notices: queue.SimpleQueue[SessionReconnected] = queue.SimpleQueue()
        gc.collect()
        tracemalloc.start()
        heap: list[tuple[int, int]] = []
        threads: list[int] = []
        pace = threading.Event()
        statuses: list[str] = []
        with client.start_conversation(options=options) as session:
            session.on("session.reconnected", notices.put)
            for turn in range(turns):
                statuses.append(session.ask(f"turn {turn}", timeout=30).status)
                threads.append(_ours())
                if turn % 25 == 0:
                    gc.collect()
                    heap.append((turn, tracemalloc.get_traced_memory()[0]))
                pace.wait(gap)  # the pace of the conversation, not a synchronisation
            gc.collect()
            heap.append((turns, tracemalloc.get_traced_memory()[0]))
            pipe.send("texts")
            texts = pipe.recv()
        # The control: the same turns without reconnection (at once, within one
        # connection's life), for the heap a conversation of that length holds anyway.
        gc.collect()
        control_start = tracemalloc.get_traced_memory()[0]
        plain = ConversationOptions(output_modalities=["text"], buffer_events=False)
        with client.start_conversation(options=plain) as control:
            for turn in range(turns):
                control.ask(f"turn {turn}", timeout=30)
            gc.collect()
            control_heap = tracemalloc.get_traced_memory()[0] - control_start
        tracemalloc.stop()
        pipe.send("stop")
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
    seen = []
    while not notices.empty():
        seen.append(notices.get())
    away = [n.seconds_away for n in seen]
    expected = [f"turn {t}" for t in range(turns)]
    intact = texts == expected
    floor_p50 = statistics.median(floor)
    print(f"rollover: {turns} turns, limit {limit:g} s real (60 min at {speed:g}x), gap {gap} s")
    print(
        f"  rollovers {len(seen)} (planned {sum(n.rollover for n in seen)}, "
        f"at expiry {sum(n.reason == 'expired' for n in seen)})"
    )
    if away:
        print(
            f"  time away: max {max(away) * 1000:.1f} ms, p50 {statistics.median(away) * 1000:.1f} ms; "
            f"floor (fresh session) p50 {floor_p50 * 1000:.1f} ms; "
            f"ratio max/floor {max(away) / floor_p50:.2f}"
        )
    print(
        f"  turns completed {statuses.count('completed')} of {turns}"
        f" (others: {sorted(set(statuses) - {'completed'})})"
    )
    print(
        f"  server's final conversation: {len(texts)} user turns, "
        f"every turn once and in order: {intact}"
    )
    print(
        f"  client heap (tracemalloc; the server runs in another process) at turns "
        f"{[t for t, _ in heap]}: {[round(b / 1024) for _, b in heap]} KiB"
    )
    grown = heap[-1][1] - heap[0][1]
    print(
        f"  heap grown over the run {grown / 1024:.0f} KiB; the same turns without "
        f"reconnection {control_heap / 1024:.0f} KiB; ratio {grown / control_heap:.2f}"
    )
    print(
        f"  library threads during the run: min {min(threads)}, max {max(threads)}; after close {_ours()}"
    )
    return (
        intact
        and len(seen) >= 3
        and max(away, default=1.0) < 1.0
        and statuses.count("completed") == turns
    )


def drops(turns: int, count: int, seed: int, speed: float) -> bool:
    rng = random.Random(seed)
    faults = dict(
        zip(
            sorted(rng.sample(range(1, turns - 1), count)),
            (rng.choice(["reset-mid-reply", "reset-between", "silence"]) for _ in range(count)),
            strict=True,
        )
    )
    # 100 ms of a 440 Hz tone, 24 kHz 16-bit mono: the user's audio of each turn is five.
    tone = b"".join(
        int(8000 * math.sin(2 * math.pi * 440 * i / 24000)).to_bytes(2, "little", signed=True)
        for i in range(2400)
    )
    with FakeRealtimeServer(api_key=KEY, speed=speed) as server:
        client = ConversationClient(
            base_url=server.base_url, api_key=KEY, ping_interval=0.2, pong_timeout=0.3
        )
        policy = ReconnectPolicy(backoff_initial=0.05)
        options = ConversationOptions(
            reconnect=policy, output_modalities=["audio"], turn_detection=None
        )
        iterator_errors: list[BaseException] = []
        reconnects: list[SessionReconnected] = []
        audio_out = [0]

        def iterate(session: Any) -> None:
            try:
                for message in session.receive_messages():
                    if message.kind is MessageKind.RECONNECTED:
                        reconnects.append(message.reconnected)
                    elif message.kind is MessageKind.AUDIO_DELTA:
                        audio_out[0] += len(message.audio or b"")
            except BaseException as exc:  # the target: never
                iterator_errors.append(exc)

        statuses: list[str] = []
        after_drop_unanswered = 0
        unanswered = 0
        dropped = False
        with client.start_conversation(options=options) as session:
            reader = threading.Thread(target=iterate, args=(session,), name="bench-iterator")
            reader.start()
            for turn in range(turns):
                fault = faults.get(turn)
                conn = server.connections[-1]
                if fault == "reset-between":
                    conn.drop()
                elif fault == "reset-mid-reply":
                    conn.drop(after="response.output_audio.delta")
                elif fault == "silence":
                    conn.silence(after="response.output_audio.delta")
                for _ in range(5):
                    session.send_audio(tone, timeout=5)
                session.commit_audio()
                try:
                    result = session.create_response().result(30)
                    status = result.status
                except Exception as exc:  # counted, not raised
                    status = f"error: {type(exc).__name__}"
                statuses.append(status)
                # A turn its own fault cuts mid-reply is expected to end incomplete;
                # every other turn (those asked after a drop among them) must be answered.
                cut_expected = fault in ("reset-mid-reply", "silence")
                if not cut_expected and status != "completed":
                    unanswered += 1
                    if dropped:
                        after_drop_unanswered += 1
                dropped = fault is not None
            session.close()
            reader.join(10)
        left = _ours()
    cut = sum(s == "incomplete" for s in statuses)
    completed = sum(s == "completed" for s in statuses)
    print(
        f"drops: {turns} turns with audio both ways, {count} faults "
        f"({sorted(set(faults.values()))}), seed {seed}, speed {speed:g}x"
    )
    print(f"  turns completed {completed}, cut by a drop {cut}, other {turns - completed - cut}")
    mid_reply = sum(f != "reset-between" for f in faults.values())
    print(f"  faults mid-reply (reset or silence) {mid_reply}: the turns they cut end incomplete")
    print(
        f"  turns not cut by their own fault that were not answered: {unanswered} "
        f"(of them asked right after a drop: {after_drop_unanswered}; target 0)"
    )
    print(f"  reconnections {len(reconnects)}; audio received {audio_out[0] / 48000:.1f} s")
    print(f"  iterator errors: {len(iterator_errors)} (target 0); library threads left: {left}")
    return unanswered == 0 and not iterator_errors and left == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=["rollover", "drops", "all"])
    parser.add_argument("--turns", type=int, default=None)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=1.0)
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    ok = True
    if args.which in ("rollover", "all"):
        ok &= rollover(args.turns or 200, args.speed, args.gap)
    if args.which in ("drops", "all"):
        ok &= drops(args.turns or 100, args.drops, args.seed, 20.0)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
