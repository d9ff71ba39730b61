"""What the echo canceller costs in a microphone callback, against the same work warm.

A PortAudio callback runs once per block and its thread waits in between, so its
code and data are cold when it starts. This measures, in one run, each piece both
back to back (warm) and after a wait of one block (cold), as CPU time of the
calling thread:

1. a ten-step Python loop (the floor: what waking costs any code);
2. AEC3's call on one block (``pywebrtc_audio.AudioProcessor.process``), with a far
   end that talks half the time (noise bursts) and its echo 80 ms later;
3. :meth:`EchoCanceller.near` on the same blocks, and the part of it that is not
   AEC3 (the alignment, the reference, the levels).

No devices needed (the ``aec`` extra is):
    python benchmarks/echo_callback.py [--block-ms 40] [--blocks 150]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realtime_client.audio import EchoCancellation, EchoCanceller

RATE = 24000


def signals(seconds: float) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A far end that talks half the time (noise bursts) and the microphone's echo of it."""
    rng = np.random.default_rng(0)
    n = int(seconds * RATE)
    talking = (np.sin(np.arange(n) / RATE * 2 * np.pi * 0.5) > 0).astype(np.float64)
    far = (rng.standard_normal(n) * 4000 * talking).astype(np.int16)
    delay = int(0.08 * RATE)
    echo = np.zeros(n)
    echo[delay:] = far[:-delay] * 0.3
    near = (echo + rng.standard_normal(n) * 30).astype(np.int16)
    return near, far


def timed(
    call: Callable[[int], object],
    count: int,
    wait_s: float,
    before: Callable[[int], object] | None = None,
) -> np.ndarray[Any, Any]:
    """CPU seconds of call(i) for i in range(count), each after before(i), untimed, and
    a wait of wait_s."""
    spent = np.zeros(count)
    for i in range(count):
        if before is not None:
            before(i)
        if wait_s:
            time.sleep(wait_s)
        start = time.thread_time()
        call(i)
        spent[i] = time.thread_time() - start
    return spent[count // 10 :]  # the first calls fill caches and AEC3's buffers


def ten_steps(_i: int) -> int:
    return sum(1 for _ in range(10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--block-ms", type=int, default=40)
    parser.add_argument("--blocks", type=int, default=150)
    args = parser.parse_args()
    import pywebrtc_audio

    block = RATE * args.block_ms // 1000
    wait = args.block_ms / 1000
    near, far = signals(args.blocks * args.block_ms / 1000 + 1)

    def aec3() -> Callable[[int], object]:
        processor = pywebrtc_audio.AudioProcessor(
            sample_rate=RATE, echo_cancellation=True, high_pass_filter=True, stream_delay_ms=60
        )
        return lambda i: processor.process(
            near[i * block : (i + 1) * block], far[i * block : (i + 1) * block]
        )

    inner: list[float] = []

    def canceller() -> tuple[Callable[[int], object], Callable[[int], object]]:
        """near() on block i, and (untimed: the speaker's thread does it) far() ahead of it."""
        c = EchoCanceller(EchoCancellation(echo_delay_ms=60), sample_rate=RATE)
        processor = c._processor

        class Timed:  # AEC3's share of each near() call
            def process(self, a: Any, b: Any) -> Any:
                start = time.thread_time()
                out = processor.process(a, b)
                inner.append(time.thread_time() - start)
                return out

        c._processor = Timed()
        blocks = [near[i * block : (i + 1) * block].tobytes() for i in range(args.blocks)]

        def hand_over(i: int) -> None:
            c.far(far[(i + 1) * block : (i + 2) * block].tobytes(), 100.0 + (i + 1) * wait)

        c.far(far[:block].tobytes(), 100.0)
        return (lambda i: c.near(blocks[i], 100.0 + i * wait)), hand_over

    print(f"{args.blocks} calls of {args.block_ms} ms blocks at {RATE} Hz; CPU per call, median")
    for name, make in (("ten-step loop", lambda: ten_steps), ("AEC3 process()", aec3)):
        warm = np.median(timed(make(), args.blocks, 0.0))
        cold = np.median(timed(make(), args.blocks, wait))
        print(
            f"{name:16s} warm {1e6 * warm:8.1f} us  after a {args.block_ms} ms wait "
            f"{1e6 * cold:8.1f} us  ({cold / warm:.1f}x)"
        )
    for label, wait_s in (("warm", 0.0), (f"after a {args.block_ms} ms wait", wait)):
        inner.clear()
        call, hand_over = canceller()
        total = timed(call, args.blocks, wait_s, before=hand_over)
        assert len(inner) == args.blocks  # one AEC3 call per near()
        own = np.array(inner[-len(total) :])
        print(
            f"near() {label}: {1e6 * np.median(total):.1f} us, of which AEC3 "
            f"{1e6 * np.median(own):.1f} us and the rest {1e6 * np.median(total - own):.1f} us; "
            f"{100 * np.mean(total) / (args.block_ms / 1000):.2f} % of a core"
        )


if __name__ == "__main__":
    main()
