"""Send benchmark: CPU per audio second and server-seen latency, against the floor.

Run: ``python benchmarks/send.py [--appends 5000] [--burst 500] [--bursts 5]``

Measured in one run, every path against the same servers:

* CPU: the sending process's CPU time per second of audio for ``--appends``
  appends of 20 ms, until the server has them all; "x floor" is the ratio to
  the floor, websocket-client ``send`` of a JSON frame built with
  ``json.dumps`` and base64 (the same work, without a library around it).
  Three paths of this library: ``send_audio`` (pre-built frames),
  ``send(InputAudioBufferAppendEvent)`` (typed events through the converter).
  The server is the sender subprocess of ``receive.py`` (websockets' sync
  server, ``sink-N``).
* latency: ``--burst`` appends of 20 ms (500 = 10 s of audio) sent at once;
  each carries its send time (``event_id`` ``t<monotonic ns>``), and the
  server records when it arrived; p50 and p99 of that delay, and their ratio
  to the floor's.

The official ``openai`` package's sync connection is a peer row when installed.

The latency server is this file's own sink (``--serve``, a subprocess), not
the websockets server. Why: the websockets sync server takes about 30-45 us
to parse a frame, more than this library takes to send one (about 30 us), so
during a burst the frames queued in the kernel's socket buffers and in the
server, and the "latency" was the server's backlog. The floor, slower to
send, let the server keep up, so the ratio measured the test server's speed
(1.4x to 3.1x over six runs) rather than the client's. The sink reads with
``recv_into`` into one buffer in a tight loop, noting the monotonic time at
which each ``recv`` returned and walking only the frame headers to count the
messages; once the burst is all in, it parses the bytes offline with
websockets' sans-I/O protocol, one ``recv`` at a time, and a frame's arrival
is the time of the ``recv`` that completed it. Both processes read
``time.monotonic_ns`` (CLOCK_MONOTONIC, one machine). The server's parsing
speed is thus no part of the client's latency, and a client that keeps
frames in a queue of its own still shows it: the sink is faster than any
sender here, so whatever wait is left is the sender's. (Checked once: a sender
that waits 2 ms between stamping and sending showed p50 2.1 ms; this library
with ``reconnect=True``, which queues every send, p50 10 ms against the
floor's 0.06 ms.) The p99 of a burst of 15-25 ms is the few frames around one
preemption of the sender or the sink, so on a busy machine it ranges widely
between runs, for every path alike.

The CPU mode keeps the websockets server: a slow server makes a sender wait
(blocked, not using CPU), and compared over four runs each, the typed-send
ratio against it (0.64-1.23x) and against the sink (0.83-1.11x) overlapped.

Both modes are interleaved: ``--repeat`` CPU rounds and ``--bursts`` burst
rounds, each running every path in turn; each path's best CPU and median burst
are kept. Measured one path after the other, a ratio compared two stretches of
time on a shared machine: a sender slowed by a neighbour's work sends slower
than the server drains, so its frames waited less (the floor's p50 ranged from
0.1 to 2.8 ms between runs), and the floor's own CPU per audio second ranged
from 1.6 to 3.1 ms between runs while other jobs came and went.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from receive import Sender

CHUNK = os.urandom(24_000 * 2 * 20 // 1000)  # 20 ms of 24 kHz 16-bit PCM
CHUNK_SECONDS = 0.020


def _stamp() -> str:
    return f"t{time.monotonic_ns()}"


# --- the sink: a server that only reads, and parses once everything is in ------------------------


def _frames_in(buf: bytearray, pos: int, end: int) -> tuple[int, int]:
    """Walk the complete WebSocket frames in ``buf[pos:end]`` by their headers alone (no
    unmasking, no copy): returns (position after the last complete frame, how many of them
    end a data message). Control frames (a client's ping) are not counted."""
    messages = 0
    while end - pos >= 2:
        length, head = buf[pos + 1] & 0x7F, 2
        if length == 126:
            length, head = int.from_bytes(buf[pos + 2 : pos + 4]), 4
        elif length == 127:
            length, head = int.from_bytes(buf[pos + 2 : pos + 10]), 10
        if buf[pos + 1] & 0x80:
            head += 4  # the client's masking key
        if end - pos < head + length:
            break
        if buf[pos] & 0x80 and buf[pos] & 0x0F < 8:  # FIN, not a control frame
            messages += 1
        pos += head + length
    return pos, messages


def _sink(conn: socket.socket) -> None:
    """One connection: handshake, ``session.created``; then read ``count`` messages in a
    tight loop, stamping each ``recv``; then parse offline and answer ``bench.done``
    (with p50 and p99 of the server-seen latency for ``lat-N``); then close."""
    from urllib.parse import parse_qs, urlsplit

    from websockets.frames import Frame, Opcode
    from websockets.http11 import Request
    from websockets.server import ServerProtocol

    protocol = ServerProtocol(max_size=None)

    def flush() -> bool:
        """Send what the protocol has to send; False once it wants the connection closed."""
        for data in protocol.data_to_send():
            if not data:
                return False
            conn.sendall(data)
        return True

    request: Request | None = None
    while request is None:
        data = conn.recv(65536)
        if not data:
            return
        protocol.receive_data(data)
        for event in protocol.events_received():
            request = event if isinstance(event, Request) else None
    protocol.send_response(protocol.accept(request))
    created = {"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime"}}
    protocol.send_text(json.dumps(created).encode())
    flush()
    model = parse_qs(urlsplit(request.path).query).get("model", ["sink-1"])[0]
    mode, count = model.split("-")[0], int(model.split("-")[1])

    # Receiving: nothing but recv_into and a header walk. A client frame is not yet
    # parsed, unmasked or decoded here; each recv's completion time is kept with the
    # offset its bytes end at.
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    end = walked = seen = 0
    chunks: list[tuple[int, int]] = []
    while seen < count:
        if len(buf) - end < 65536:
            view.release()
            buf.extend(bytes(len(buf)))
            view = memoryview(buf)
        got = conn.recv_into(view[end:])
        arrived = time.monotonic_ns()
        if not got:
            return
        end += got
        chunks.append((arrived, end))
        walked, messages = _frames_in(buf, walked, end)
        seen += messages
    view.release()

    # Offline: websockets' own parser takes the bytes as they came, one recv at a time,
    # so that each frame is credited to the recv that completed it.
    latencies: list[int] = []
    start = 0
    for arrived, stop in chunks:
        protocol.receive_data(bytes(buf[start:stop]))
        start = stop
        for frame in protocol.events_received():
            if isinstance(frame, Frame) and frame.opcode is Opcode.TEXT and mode == "lat":
                stamp = json.loads(bytes(frame.data)).get("event_id") or "t0"
                latencies.append(arrived - int(stamp[1:]))
    done: dict[str, Any] = {"type": "bench.done", "event_id": "done"}
    if latencies:
        latencies.sort()
        done["p50"] = latencies[len(latencies) // 2]
        done["p99"] = latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)]
    protocol.send_text(json.dumps(done).encode())
    conn.settimeout(30)  # a client that never closes ends this thread with TimeoutError
    while flush():  # the client closes; the protocol answers its close frame
        data = conn.recv(65536)
        if not data:
            return  # the client closed the TCP connection without a close frame
        protocol.receive_data(data)
        protocol.events_received()


def serve() -> None:
    """The sink (subprocess, so that its CPU is not the sender's): prints its port, then
    serves each connection on a thread of its own (a client's close may overlap the
    next connection)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        print(server.getsockname()[1], flush=True)
        for n in range(1_000_000):  # bounded: the benchmark makes a few hundred connections
            conn, _ = server.accept()

            def handle(conn: socket.socket = conn) -> None:
                with conn, contextlib.suppress(OSError):
                    _sink(conn)

            threading.Thread(target=handle, name=f"sink-{n}", daemon=True).start()


# --- each path: (open, send_one, wait_done, close) over one connection ----------------------------

Path = Callable[[str, str, int], tuple[float, float, dict[str, Any]]]
"""path(url, mode, count) -> (wall seconds, cpu seconds, the server's bench.done)."""


def floor(url: str, mode: str, count: int) -> tuple[float, float, dict[str, Any]]:
    import websocket

    ws = websocket.create_connection(f"{url}/realtime?model={mode}-{count}")
    ws.recv()  # session.created
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        ws.send(
            json.dumps(
                {
                    "type": "input_audio_buffer.append",
                    "audio": base64.b64encode(CHUNK).decode(),
                    "event_id": _stamp(),
                }
            )
        )
    done = json.loads(ws.recv())
    result = time.perf_counter() - start, time.process_time() - cpu, done
    ws.close()
    return result


def _ours(url: str, mode: str, count: int, typed: bool) -> tuple[float, float, dict[str, Any]]:
    from realtime_client import events as ev
    from realtime_client.client import ConversationClient

    client = ConversationClient(base_url=url, api_key="bench")
    with client.start_conversation(model=f"{mode}-{count}") as session:
        events = session.events(timeout=120)
        next(events)  # session.created
        start, cpu = time.perf_counter(), time.process_time()
        if typed:
            send = session.send
            for _ in range(count):
                send(ev.InputAudioBufferAppendEvent(audio=CHUNK, event_id=_stamp()))
        else:
            for _ in range(count):
                session.send_audio(CHUNK)
        done = next(events)  # bench.done (an unknown event, raw kept)
        wall, used = time.perf_counter() - start, time.process_time() - cpu
    return wall, used, dict(getattr(done, "raw", {}))


def ours_typed(url: str, mode: str, count: int) -> tuple[float, float, dict[str, Any]]:
    return _ours(url, mode, count, typed=True)


def ours_audio(url: str, mode: str, count: int) -> tuple[float, float, dict[str, Any]]:
    return _ours(url, mode, count, typed=False)


def peer_openai(url: str, mode: str, count: int) -> tuple[float, float, dict[str, Any]]:
    import openai

    client = openai.OpenAI(api_key="bench", websocket_base_url=url)
    with client.realtime.connect(model=f"{mode}-{count}") as conn:
        conn.recv_bytes()  # session.created
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            conn.input_audio_buffer.append(
                audio=base64.b64encode(CHUNK).decode(), event_id=_stamp()
            )
        done = json.loads(conn.recv_bytes())
        return time.perf_counter() - start, time.process_time() - cpu, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=5000, help="appends per CPU run")
    parser.add_argument("--burst", type=int, default=500, help="appends sent at once (latency)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved CPU rounds (best kept)")
    parser.add_argument("--bursts", type=int, default=5, help="interleaved burst rounds")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    paths: list[tuple[str, Path]] = [
        ("floor (websocket-client+json+b64)", floor),
        ("realtime_client send(typed event)", ours_typed),
        ("realtime_client send_audio", ours_audio),
    ]
    try:
        import openai  # noqa: F401

        paths.append(("openai input_audio_buffer.append", peer_openai))
    except ImportError:
        print("(openai not installed: peer skipped)")
    rows = []
    with Sender() as ws_url, Sender(__file__) as url:  # url: the sink
        for _, fn in paths:
            fn(ws_url, "sink", 100)  # warm up
        best = {fn: float("inf") for _, fn in paths}
        for _ in range(args.repeat):  # interleaved, as the bursts are
            for _, fn in paths:
                best[fn] = min(best[fn], fn(ws_url, "sink", args.appends)[1])
        cpus = [best[fn] for _, fn in paths]
        timed = [fn for _, fn in paths if fn is not ours_audio]  # its frames carry no stamp
        results: dict[Path, list[dict[str, Any]]] = {fn: [] for fn in timed}
        for _ in range(args.bursts):
            for fn in timed:
                results[fn].append(fn(url, "lat", args.burst)[2])
        for (name, fn), cpu in zip(paths, cpus, strict=True):
            bursts = sorted(results.get(fn, [{}]), key=lambda d: d.get("p50", 0))
            median = bursts[len(bursts) // 2]
            rows.append(
                (
                    name,
                    cpu / (args.appends * CHUNK_SECONDS) * 1e3,
                    median.get("p50", 0) / 1e6,
                    median.get("p99", 0) / 1e6,
                )
            )
    base_cpu, base_p50, base_p99 = rows[0][1], rows[0][2], rows[0][3]
    print(
        f"\nCPU: {args.appends} appends of 20 ms (best of {args.repeat} interleaved rounds); "
        f"latency: "
        f"{args.burst} appends ({args.burst * CHUNK_SECONDS:.0f} s of audio) at once "
        f"(median of {args.bursts} interleaved rounds)\n"
    )
    print(
        f"{'sender':36} {'CPU ms/audio s':>15} {'x floor':>8} {'p50 ms':>8} {'x floor':>8}"
        f" {'p99 ms':>8} {'x floor':>8}"
    )
    for name, cpu_ms, p50, p99 in rows:
        latency = (
            f"{p50:8.3f} {p50 / base_p50:8.2f} {p99:8.3f} {p99 / base_p99:8.2f}"
            if p50
            else f"{'-':>8} {'-':>8} {'-':>8} {'-':>8}"
        )
        print(f"{name:36} {cpu_ms:15.2f} {cpu_ms / base_cpu:8.2f} {latency}")


if __name__ == "__main__":
    main()
