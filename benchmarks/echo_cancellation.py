"""Echo cancellation on the echo rig: self-interruptions, ERLE, double talk, CPU, delay.

The live bridge (Microphone -> VoiceBridge -> session -> Speaker) against the
offline server with server VAD, while .ci/echo-rig sends the speaker's output
back into the microphone (see tests/audio/_echo_scenario.py for what is
measured and how). For each echo path:

1. the path as the microphone hears it (delay, level, linear part);
2. without cancellation: replies cut short by the server hearing the
   assistant's own voice (the floor: the rig must show the problem);
3. with cancellation: self-interruptions over ``--replies`` replies (target 0),
   ERLE from 1.5 s after the first reply (target >= 25 dB), convergence time
   (target <= 1.5 s), then ``--double-talk`` trials with the user talking over
   a reply: interrupted within 300 ms of their speech onset (target >= 19 of
   20) and the correlation of what the server received with the clean speech
   (target >= 0.8).

Then, with the rig off and the same replies, the CPU of this process with and
without cancellation (added CPU target <= 3 % of one core), the time inside
the canceller, and the microphone path's added delay: AEC3's own delay (the
canceller's output against its input) plus the p99 time of one call.

Needs the virtual devices: eval "$(.ci/audio-setup)"; then
    python benchmarks/echo_cancellation.py [--replies 20] [--double-talk 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime_client.audio import EchoCancellation
from tests.audio import _echo_scenario as scenario

PATHS = {
    "60ms": {"delay_ms": 60, "hard": False, "level_db": -10.0},
    "150ms": {"delay_ms": 150, "hard": False, "level_db": -10.0},
    # the filters take about 3.7 dB: -6.5 dB in comes out about 10 dB under the far end
    "150ms-hard": {"delay_ms": 150, "hard": True, "level_db": -6.5},
}


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def echo_path(name: str, args: argparse.Namespace) -> dict[str, object]:
    conf = PATHS[name]
    delay, hard, level = int(conf["delay_ms"]), bool(conf["hard"]), float(conf["level_db"])
    options = EchoCancellation(echo_delay_ms=delay if args.hint else 20.0)
    with scenario.echo_rig(delay, hard=hard, level_db=level):
        path = scenario.measure_path()
        base = scenario.run(replies=args.baseline_replies, echo_cancellation=False)
        aec = scenario.run(
            replies=args.replies,
            double_talk=args.double_talk,
            echo_cancellation=options,
            probe=True,
        )
    dt = aec.double_talk
    delays = [
        1000 * (t.barge_in - t.onset)
        for t in dt
        if t.barge_in is not None and t.onset is not None and t.interrupted
    ]
    fast = sum(d <= 300 for d in delays)
    corr = [t.correlation for t in dt if t.correlation is not None]
    print(f"\n## echo path {name}: loopback {delay} ms, {'hard' if hard else 'clean'}")
    print(
        f"measured path: echo level {path[0]:.1f} dB against the far end, "
        f"correlation with it r={path[1]:.2f}"
    )
    print(
        f"without cancellation: {base.self_interruptions} of {args.baseline_replies} "
        "replies cut short by their own echo"
    )
    print(
        f"with cancellation: {aec.self_interruptions} of {args.replies} replies cut short; "
        f"ERLE {fmt(aec.erle_db, '.1f')} dB (from 1.5 s after the first reply); "
        f"converged {fmt(aec.converged_s, '.2f')} s after it; alignment jumps {aec.resyncs}"
    )
    if dt:
        print(
            f"double talk: {sum(t.interrupted for t in dt)} of {len(dt)} replies interrupted, "
            f"{fast} within 300 ms of speech onset; onset->interruption ms "
            f"p50 {fmt(np.median(delays) if delays else None, '.0f')} "
            f"max {fmt(max(delays) if delays else None, '.0f')}; correlation with the clean "
            f"speech min {fmt(min(corr) if corr else None, '.3f')} "
            f"median {fmt(float(np.median(corr)) if corr else None, '.3f')}"
        )
        missed = [
            (i, t.interrupted, t.onset is not None, t.barge_in is not None)
            for i, t in enumerate(dt)
            if not (t.interrupted and t.onset is not None and t.barge_in is not None)
        ]
        if missed:
            print(
                f"  trials not measured (index, interrupted, onset found, barge-in seen): {missed}"
            )
    print(
        f"microphone path: AEC3's output lags its input by {fmt(aec.aec_lag_ms, '.1f')} ms; "
        f"one near() call p99 {fmt(aec.near_call_p99_ms, '.2f')} ms"
    )
    return {"self": aec.self_interruptions, "erle": aec.erle_db, "fast": fast}


def cost(args: argparse.Namespace) -> None:
    """CPU and delay: the same replies with and without cancellation, the rig off."""
    off = scenario.run(replies=args.cpu_replies, echo_cancellation=False)
    on = scenario.run(replies=args.cpu_replies, echo_cancellation=True, probe=True)
    off2 = scenario.run(replies=args.cpu_replies, echo_cancellation=False)
    on2 = scenario.run(replies=args.cpu_replies, echo_cancellation=True, probe=True)
    floor = [100 * r.cpu_s / r.wall_s for r in (off, off2)]
    with_aec = [100 * r.cpu_s / r.wall_s for r in (on, on2)]
    inside = [100 * r.aec_cpu_s / r.wall_s for r in (on, on2)]
    print("\n## cost (rig off, same replies; two runs each, interleaved)")
    print(
        f"process CPU, % of one core: without {floor[0]:.2f} / {floor[1]:.2f}, "
        f"with {with_aec[0]:.2f} / {with_aec[1]:.2f}; added (mean difference) "
        f"{np.mean(with_aec) - np.mean(floor):.2f} (target <= 3)"
    )
    print(f"inside the canceller (near + far): {inside[0]:.2f} / {inside[1]:.2f} % of one core")
    p99 = [r.near_call_p99_ms for r in (on, on2)]
    print(
        f"one near() call p99 {fmt(p99[0], '.2f')} / {fmt(p99[1], '.2f')} ms (added to the "
        "microphone path with AEC3's output lag, printed per echo path above; the floor "
        "without cancellation is 0)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replies", type=int, default=20)
    parser.add_argument("--double-talk", type=int, default=20)
    parser.add_argument("--baseline-replies", type=int, default=5)
    parser.add_argument("--cpu-replies", type=int, default=5)
    parser.add_argument(
        "--paths", default=",".join(PATHS), help="comma-separated of " + ", ".join(PATHS)
    )
    parser.add_argument(
        "--no-hint",
        dest="hint",
        action="store_false",
        help="leave echo_delay_ms at its default instead of the rig's loopback delay",
    )
    args = parser.parse_args()
    reason = scenario.rig_available()
    if reason:
        sys.exit(f"echo_cancellation: {reason}")
    for name in args.paths.split(","):
        echo_path(name, args)
    if args.cpu_replies:
        cost(args)


if __name__ == "__main__":
    main()
