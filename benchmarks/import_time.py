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

``--importtime`` adds the ten largest cumulative entries of ``-X importtime``
for one import.

``--instructions`` also counts, with valgrind, the instructions the import adds:
a figure the machine's load does not move, for comparing commits on a busy machine.
``--against PYTHON`` measures another interpreter in turn with this one (say, the
venv of an earlier commit), for a before/after comparison under the same load.

Run: ``python benchmarks/import_time.py [--runs 30] [--importtime] [--instructions]
[--against PYTHON]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(python: str, code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running ``code``."""
    start = time.perf_counter()
    # Run elsewhere than here: with -c, the working directory comes first on sys.path,
    # and a checkout in it would shadow the interpreter's own installation.
    proc = subprocess.Popen([python, "-c", code], env=env, cwd=tempfile.gettempdir())
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{python} -c {code!r} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


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


def report(label: str, module: str, samples: dict[str, list[tuple[float, float]]]) -> None:
    for index, what in ((0, "wall"), (1, "CPU")):
        base = [sample[index] for sample in samples["pass"]]
        full = [sample[index] for sample in samples["import"]]
        added = [f - b for f, b in zip(full, base, strict=True)]
        print(
            f"{label}{what:>4}: python -c pass median {statistics.median(base) * 1000:6.1f} ms; "
            f"import {module} median {statistics.median(full) * 1000:6.1f} ms; "
            f"added median {statistics.median(added) * 1000:6.1f} ms, "
            f"p90 {percentile(added, 0.9) * 1000:6.1f} ms (goal: <= 250 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="pairs of interpreters to start")
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
        help="also count the instructions the import adds (needs valgrind; slow)",
    )
    args = parser.parse_args()

    pythons = {"": sys.executable}
    if args.against:
        pythons = {"this:    ": sys.executable, "against: ": args.against}
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="import-time-") as cache:
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        commands = {"pass": "pass", "import": f"import {args.module}"}
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
            label: instructions(python, commands["import"], env)
            - instructions(python, commands["pass"], env)
            for label, python in (pythons.items() if args.instructions else ())
        }

    print(
        f"{args.runs} pairs, bytecode {'off' if args.no_bytecode else 'cached'}, "
        f"{sys.version.split()[0]}" + (f"; against {args.against}" if args.against else "")
    )
    for label in pythons:
        report(label, args.module, samples[label])
    for label, count in counts.items():
        print(f"{label}instructions added by the import: {count / 1e6:.0f} million")
    if offenders:
        print(f"-X importtime, largest cumulative entries for import {args.module}:")
        print("\n".join(offenders))


if __name__ == "__main__":
    main()
