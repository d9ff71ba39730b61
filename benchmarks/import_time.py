"""Import time: ``import realtime_client`` against ``python -c pass``, in the same run.

Each sample is a fresh interpreter. The two commands alternate, so both see the
same machine load, and the figure is the difference between the pair: what
importing the package adds to an empty interpreter. The goal (issue #10): at
most 0.25 s more than ``python -c pass``. Both wall time and the child's CPU
time (user + system) are reported; on a busy machine the CPU figure is the
steadier one.

The package's bytecode is cached as an installed package's would be (pip
compiles it at install time). ``PYTHONDONTWRITEBYTECODE`` is dropped for the
children and the cache goes to a temporary ``PYTHONPYCACHEPREFIX``, so the
working tree stays clean; ``--no-bytecode`` measures the other case, where
every module is compiled from source on each start.

The package imports its names on first use (PEP 562), so ``import realtime_client``
alone loads almost nothing. The second row is what a program that uses the client
pays at import: ``from realtime_client import ConversationClient``, which builds
the event model. The third row is where the rest of the cost went: a fresh
interpreter from ``import realtime_client`` to its first decoded server event
(``session.created``) from the offline server, which this process runs on loopback
(its CPU is not the child's). That path also imports websocket-client, ssl and
cattrs, builds the converter and opens a connection. Its floor, measured in the
same run, is websocket-client alone: import, connect, ``json.loads`` of the first
frame. The first-event rows need the ``testing`` extra; ``--no-first-event`` skips
them.

``--importtime`` adds the ten largest cumulative entries of ``-X importtime``
for one import.

``--instructions`` also counts, with valgrind, the instructions the import adds:
a figure the machine's load does not move, for comparing commits on a busy machine.
``--against PYTHON`` measures another interpreter in turn with this one (say, the
venv of an earlier commit), for a before/after comparison under the same load.

Run: ``python benchmarks/import_time.py [--runs 30] [--importtime] [--instructions]
[--against PYTHON] [--no-first-event]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

CLIENT_IMPORT = "from realtime_client import ConversationClient"

# Both print the milliseconds from before the first import to the first event, decoded.
FIRST_EVENT = """
import time
start = time.perf_counter()
import realtime_client
client = realtime_client.ConversationClient(base_url={url!r}, api_key="sk-test")
with client.start_conversation() as session:
    event = next(iter(session.events()))
    print((time.perf_counter() - start) * 1000)
assert type(event).__name__ == "SessionCreatedEvent", event
"""

FIRST_EVENT_FLOOR = """
import time
start = time.perf_counter()
import json, websocket
ws = websocket.create_connection(
    {url!r} + "/realtime?model=gpt-realtime", header=["Authorization: Bearer sk-test"]
)
event = json.loads(ws.recv())
print((time.perf_counter() - start) * 1000)
ws.close()
assert event["type"] == "session.created", event
"""


def run_once(python: str, code: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh interpreter running ``code``, and its output."""
    start = time.perf_counter()
    # Run elsewhere than here: with -c, the working directory comes first on sys.path,
    # and a checkout in it would shadow the interpreter's own installation.
    proc = subprocess.Popen(
        [python, "-c", code], env=env, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{python} -c {code!r} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, output


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def top_importtime(module: str, env: dict[str, str], count: int) -> list[str]:
    """The largest cumulative ``-X importtime`` lines for one import of ``module``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), int(own), name.strip()))
    rows.sort(reverse=True)
    return [
        f"  {cum / 1000:7.1f} ms cumulative {own / 1000:6.1f} ms own  {name}"
        for cum, own, name in rows[:count]
    ]


def instructions(python: str, code: str, env: dict[str, str]) -> int:
    """Instructions one fresh interpreter runs for ``code``, counted by valgrind.

    Unlike times, the count does not change with the machine's load.
    """
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", code],
        env={**env, "PYTHONHASHSEED": "0"},
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in out.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"no instruction count in valgrind's output:\n{out}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


def report(
    label: str, rows: dict[str, str], samples: dict[str, list[tuple[float, float, str]]]
) -> None:
    """Per row: wall and CPU added over ``python -c pass`` (median, p90); for the
    first-event rows also the child's own time from its first import to the event."""
    print(
        f"{label}python -c pass: wall median {ms(statistics.median(s[0] for s in samples['pass']))}, "
        f"CPU median {ms(statistics.median(s[1] for s in samples['pass']))}"
    )
    inside: dict[str, list[float]] = {}
    for name, title in rows.items():
        parts = []
        for index, what in ((1, "CPU"), (0, "wall")):
            added = [
                full[index] - base[index]
                for full, base in zip(samples[name], samples["pass"], strict=True)
            ]
            parts.append(
                f"{what} added median {ms(statistics.median(added))}, p90 {ms(percentile(added, 0.9))}"
            )
        if name.startswith("first"):
            inside[name] = [float(sample[2]) / 1000 for sample in samples[name]]
            values = inside[name]
            parts.append(
                f"import to event median {ms(statistics.median(values))}, "
                f"p90 {ms(percentile(values, 0.9))}"
            )
        goal = " (goal: <= 250 ms)" if name == "import" else ""
        print(f"{label}{title}: " + "; ".join(parts) + goal)
    if "first" in inside:
        ratios = [a / b for a, b in zip(inside["first"], inside["first floor"], strict=True)]
        print(
            f"{label}import to first event against its floor: median "
            f"{statistics.median(ratios):.2f}x, p90 {percentile(ratios, 0.9):.2f}x"
        )


@contextlib.contextmanager
def offline_server(wanted: bool) -> Iterator[str | None]:
    """The offline server's base URL, or None when not wanted or not installed."""
    if not wanted:
        yield None
        return
    try:
        from realtime_client.testing import FakeRealtimeServer
    except ImportError as exc:
        print(f"first-event rows skipped: {exc}")
        yield None
        return
    with FakeRealtimeServer() as server:
        yield server.base_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds of interpreters to start")
    parser.add_argument("--module", default="realtime_client")
    parser.add_argument("--no-bytecode", action="store_true", help="compile from source each time")
    parser.add_argument("--importtime", action="store_true", help="show -X importtime offenders")
    parser.add_argument(
        "--against",
        metavar="PYTHON",
        help="another interpreter (say, a venv of an earlier commit), measured in turn",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the instructions the imports add (needs valgrind; slow)",
    )
    parser.add_argument(
        "--no-first-event", action="store_true", help="skip the import-to-first-event rows"
    )
    args = parser.parse_args()

    pythons = {"": sys.executable}
    if args.against:
        pythons = {"this:    ": sys.executable, "against: ": args.against}
    env = dict(os.environ)
    with (
        tempfile.TemporaryDirectory(prefix="import-time-") as cache,
        offline_server(not args.no_first_event) as url,
    ):
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        commands = {"pass": "pass", "import": f"import {args.module}", "client": CLIENT_IMPORT}
        rows = {"import": f"import {args.module}", "client": CLIENT_IMPORT}
        if url is not None:
            commands["first"] = FIRST_EVENT.format(url=url)
            commands["first floor"] = FIRST_EVENT_FLOOR.format(url=url)
            rows["first"] = "import realtime_client to first event"
            rows["first floor"] = "floor: websocket-client + json.loads"
        for python in pythons.values():  # warm the bytecode cache and the OS file cache
            for code in commands.values():
                run_once(python, code, env)
        samples = {label: {name: [] for name in commands} for label in pythons}
        for _ in range(args.runs):  # in turn, so that all see the same load
            for label, python in pythons.items():
                for name, code in commands.items():
                    samples[label][name].append(run_once(python, code, env))
        offenders = top_importtime(args.module, env, 10) if args.importtime else []
        counts = {
            (label, name): instructions(python, commands[name], env)
            - instructions(python, commands["pass"], env)
            for label, python in (pythons.items() if args.instructions else ())
            for name in ("import", "client")
        }

    print(
        f"{args.runs} rounds, bytecode {'off' if args.no_bytecode else 'cached'}, "
        f"{sys.version.split()[0]}" + (f"; against {args.against}" if args.against else "")
    )
    for label in pythons:
        report(label, rows, samples[label])
    for (label, name), count in counts.items():
        print(f"{label}instructions added by {rows[name]}: {count / 1e6:.0f} million")
    if offenders:
        print(f"-X importtime, largest cumulative entries for import {args.module}:")
        print("\n".join(offenders))


if __name__ == "__main__":
    main()
