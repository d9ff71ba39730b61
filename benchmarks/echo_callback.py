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

With several block sizes (``--block-ms 40 30 20``) it ends with the trade-off a
microphone's block size makes: smaller blocks shorten each call (the microphone path's
delay is AEC3's own lag, measured here too, plus one call) but wake the callback more
often (the canceller's share of a core).

No devices needed (the ``aec`` extra is):
    python benchmarks/echo_callback.py [--block-ms 40 [30 20 ...]] [--blocks 150]
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
from tests.audio._echo_scenario import aec_lag_ms

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


def measure(block_ms: int, blocks: int) -> tuple[float, float, float]:
    """Print each piece warm and cold for one block size; return near()'s cold p50 and
    p99 (seconds) and its mean share of a core (percent)."""
    import pywebrtc_audio

    block = RATE * block_ms // 1000
    wait = block_ms / 1000
    near, far = signals(blocks * block_ms / 1000 + 1)

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
        chunks = [near[i * block : (i + 1) * block].tobytes() for i in range(blocks)]

        def hand_over(i: int) -> None:
            c.far(far[(i + 1) * block : (i + 2) * block].tobytes(), 100.0 + (i + 1) * wait)

        c.far(far[:block].tobytes(), 100.0)
        return (lambda i: c.near(chunks[i], 100.0 + i * wait)), hand_over

    print(f"{blocks} calls of {block_ms} ms blocks at {RATE} Hz; CPU per call, median")
    for name, make in (("ten-step loop", lambda: ten_steps), ("AEC3 process()", aec3)):
        warm = np.median(timed(make(), blocks, 0.0))
        cold = np.median(timed(make(), blocks, wait))
        print(
            f"{name:16s} warm {1e6 * warm:8.1f} us  after a {block_ms} ms wait "
            f"{1e6 * cold:8.1f} us  ({cold / warm:.1f}x)"
        )
    result = (0.0, 0.0, 0.0)
    for label, wait_s in (("warm", 0.0), (f"after a {block_ms} ms wait", wait)):
        inner.clear()
        call, hand_over = canceller()
        total = timed(call, blocks, wait_s, before=hand_over)
        assert len(inner) == blocks  # one AEC3 call per near()
        own = np.array(inner[-len(total) :])
        share = 100 * float(np.mean(total)) / wait
        print(
            f"near() {label}: {1e6 * np.median(total):.1f} us, of which AEC3 "
            f"{1e6 * np.median(own):.1f} us and the rest {1e6 * np.median(total - own):.1f} us; "
            f"{share:.2f} % of a core"
        )
        result = (float(np.median(total)), float(np.percentile(total, 99)), share)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--block-ms", type=int, nargs="+", default=[40])
    parser.add_argument("--blocks", type=int, default=150)
    args = parser.parse_args()
    if any(ms <= 0 or ms % 10 for ms in args.block_ms):
        parser.error("--block-ms takes whole 10 ms frames: 10, 20, 30, 40, ...")
    if args.blocks < 20:
        parser.error("--blocks must be at least 20")
    results = {ms: measure(ms, args.blocks) for ms in args.block_ms}
    if len(results) < 2:
        return
    lag = aec_lag_ms(EchoCancellation(), RATE)
    print(f"\nAEC3's own lag: {lag:.1f} ms. Per block size, after a block's wait:")
    print("block  near() p50 / p99   path delay p50 / p99 (<= 10 ms)   share of a core (<= 3 %)")
    for ms, (p50, p99, share) in results.items():
        print(
            f"{ms:3d} ms  {1e3 * p50:5.2f} / {1e3 * p99:5.2f} ms   "
            f"{lag + 1e3 * p50:5.1f} / {lag + 1e3 * p99:5.1f} ms"
            f"{'':20s}{share:5.2f} %"
        )


if __name__ == "__main__":
    main()
