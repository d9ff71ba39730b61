"""Acoustic echo cancellation between the speaker and the microphone (WebRTC AEC3).

The canceller is WebRTC's audio processing module (AEC3, plus its noise
suppressor and high-pass filter), through the ``pywebrtc-audio`` wheel (the
``aec`` extra). docs/audio.md compares it with SpeexDSP and LiveKit's build
of the same module on this project's echo rig.

What this module adds is the time alignment. The speaker's device callback
hands :meth:`EchoCanceller.far` each block it gives the device, with the time
its first sample reaches the DAC; the microphone's callback hands
:meth:`EchoCanceller.near` each block it recorded, with the time its first
sample left the ADC (both on :func:`time.monotonic`'s clock). The reference is
kept in a ring indexed by that time, so the near-end frame recorded at time
``t`` is paired with what the speaker played at ``t`` (plus a small lead,
because an echo can only come after the sound that caused it); AEC3's own
delay estimator then finds the acoustic delay of the room. Audio the speaker
handed over but dropped unplayed (a barge-in aborts the stream) is
overwritten by what the restarted stream plays at the same time.
"""

from __future__ import annotations

import math
import threading
from typing import Any, final

import attrs

from ..errors import AudioError
from ._echo_delay import DelayFinder
from ._numpy import np, npt
from ._resample import StreamResampler

__all__ = [
    "AEC_HINT",
    "EchoCancellation",
    "EchoCanceller",
    "EchoStats",
    "echo_cancellation_available",
]

_EMPTY: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
AEC_HINT = "install the aec extra: pip install 'realtime-client[aec]'"
_RING_SECONDS = 4.0  # reference kept; far more than device latency plus the room's delay
_OFF_BLOCKS = 3  # timestamps beyond the tolerance this many blocks in a row: follow them
_LEVEL_FRAMES = 30000  # per-10 ms levels kept for levels(): five minutes
# Frames staged (raw, before and after) before their levels are computed in one go: the
# audio callback then copies two slices per block instead of running a dozen small
# NumPy operations, each of which costs tens of microseconds in a callback that has
# just woken (measured in docs/audio.md).
_LEVEL_STAGE_FRAMES = 32
_START_DELAY_MS = 20.0  # AEC3's start before the delay is found: beyond the reference lead
# AEC3 started from a delay found in the first reply: this much under it. On the echo
# rig, starts 0-40 ms under the true delay cancelled best in the first second, and
# starts above it worst (docs/audio.md).
_START_BELOW_MS = 20.0


@final
@attrs.frozen(kw_only=True)
class EchoCancellation:
    """Options of the microphone's audio processor (``VoiceBridge(echo_cancellation=...)``).

    Echo cancellation is always on; the other stages of the same WebRTC module
    are options.

    Attributes:
        noise_suppression: WebRTC's noise suppressor after the echo canceller.
            It adds about 6 ms to the microphone path (measured in docs/audio.md).
        noise_suppression_level: 0 to 3 (about 6, 12, 18 and 21 dB of suppression).
        high_pass: Remove rumble below about 80 Hz first (WebRTC's high-pass
            filter). The module always runs it with its echo canceller, so it
            cannot be turned off: ``False`` raises ValueError rather than being
            ignored.
        echo_delay_ms: Where AEC3 starts looking for the echo: its delay after
            the sound left the speaker, beyond the latencies PortAudio reports
            (the sound's flight, latency the drivers do not report). None (the
            default): the canceller finds it in the first reply, by
            cross-correlating the microphone with the reference, and starts
            AEC3 again from it (see :attr:`EchoStats.echo_delay_ms`). AEC3
            tracks the delay by itself afterwards; a start far from it lets
            echo through in the first second.
        reference_lead_ms: How far ahead of the microphone's time the speaker's
            reference is taken, so that timing errors never put the reference
            after its echo. AEC3 finds the rest of the delay by itself.
        timing_tolerance_ms: The sample count of each stream is trusted over
            its timestamps, which wander (through PulseAudio by up to 39 ms
            against the count here, as a stream's buffers settle). The
            alignment jumps to the timestamps when the stream reports lost
            samples or restarts, or when they stay more than this far from
            the count for three blocks in a row (two clocks drifting apart).

    .. versionadded:: 0.2
    """

    noise_suppression: bool = False
    noise_suppression_level: int = attrs.field(default=1)
    high_pass: bool = True
    echo_delay_ms: float | None = None
    reference_lead_ms: float = 20.0
    timing_tolerance_ms: float = 80.0

    @noise_suppression_level.validator
    def _check_level(self, _attribute: Any, value: int) -> None:
        if value not in (0, 1, 2, 3):
            raise ValueError(f"noise_suppression_level must be 0, 1, 2 or 3, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if not self.high_pass:
            raise ValueError(
                "high_pass=False cannot be honoured: WebRTC's audio processing module "
                "always runs its high-pass filter with echo cancellation"
            )
        if self.echo_delay_ms is not None and not 0 <= self.echo_delay_ms <= 500:
            raise ValueError(
                f"echo_delay_ms must be between 0 and 500, got {self.echo_delay_ms!r}"
            )
        if not 0 <= self.reference_lead_ms <= 200:
            raise ValueError(
                f"reference_lead_ms must be between 0 and 200, got {self.reference_lead_ms!r}"
            )
        if not 0 < self.timing_tolerance_ms <= 500:
            raise ValueError(
                f"timing_tolerance_ms must be above 0 and at most 500, got "
                f"{self.timing_tolerance_ms!r}"
            )


@final
@attrs.frozen(kw_only=True)
class EchoStats:
    """Running totals of an :class:`EchoCanceller`.

    Attributes:
        frames: 10 ms frames processed.
        far_blocks: Speaker blocks received as the reference.
        resyncs: Times the reference or the microphone alignment jumped to the
            device timestamps (a restarted stream, a lost block, clock drift).
        missing_reference_frames: Frames processed while the speaker had
            handed nothing for their time (silence was used as the reference).
        echo_delay_ms: The echo's delay behind the reference (which is taken
            ``reference_lead_ms`` ahead) that the canceller found in the first
            reply; None when it was given (``echo_delay_ms``), is not found
            yet, or could not be found (AEC3 then finds it alone).

    .. versionadded:: 0.2
    """

    frames: int
    far_blocks: int
    resyncs: int
    missing_reference_frames: int
    echo_delay_ms: float | None = None


class _Timeline:
    """Where each block of one stream starts, in sample times (seconds x rate).

    The sample count is exact and the device timestamps are not: through
    PulseAudio they wander against the count by tens of milliseconds while a
    stream's buffers settle, and by a few milliseconds all along (measured in
    docs/audio.md), while the echo's true delay stays fixed to the sample. So a
    block starts where the previous one ended. Timestamps place the stream at
    its first block and after a discontinuity (lost samples, a restart), or
    when they stay beyond ``tolerance`` of the count for a few blocks (two
    clocks drifting apart). Any other move would change the delay AEC3 has
    found, and it would let echo through while it finds it again.
    """

    def __init__(self, tolerance: int) -> None:
        self._tolerance = tolerance
        self.next: int | None = None
        self.jumps = 0
        self._off = 0

    def place(self, stamp: int, count: int, *, discontinuity: bool) -> int:
        """The start of a block of ``count`` samples whose timestamp says ``stamp``."""
        expected = self.next
        if expected is None or discontinuity:
            start = stamp
            if expected is not None and stamp != expected:
                self.jumps += 1
            self._off = 0
        else:
            start = expected
            if abs(stamp - expected) > self._tolerance:
                self._off += 1
                if self._off >= _OFF_BLOCKS:  # not jitter: follow the timestamps
                    start, self._off = stamp, 0
                    self.jumps += 1
            else:
                self._off = 0
        self.next = start + count
        return start


def echo_cancellation_available() -> bool:
    """True when the ``aec`` extra (``pywebrtc-audio``) is installed and loads."""
    try:
        _load_webrtc()
    except AudioError:
        return False
    return True


def _load_webrtc() -> Any:
    try:
        import pywebrtc_audio
    except ImportError as exc:
        raise AudioError(f"echo cancellation needs pywebrtc-audio: {AEC_HINT}") from exc
    except OSError as exc:  # a wheel that does not load on this platform
        raise AudioError(f"pywebrtc-audio does not load here ({exc}): {AEC_HINT}") from exc
    return pywebrtc_audio


@final
class EchoCanceller:
    """Removes the speaker's echo from the microphone's audio.

    Created by :class:`VoiceBridge` when ``echo_cancellation`` is set; the
    speaker's callback calls :meth:`far` and the microphone's :meth:`near`.
    Both run in the audio callbacks and take locks only to copy blocks: the
    reference's (shared by both) and the levels' (near() and :meth:`levels`,
    which holds it while it copies up to five minutes of rows).

    Args:
        options: The processing stages.
        sample_rate: The rate of the microphone audio given to :meth:`near`
            (the microphone's wire rate): the canceller runs at it.
        far_rate: The rate of the speaker blocks given to :meth:`far` (the
            speaker's device rate); resampled to ``sample_rate`` when it differs.

    Raises:
        AudioError: The ``aec`` extra is not installed.
        ValueError: ``sample_rate`` is not a positive multiple of 100 Hz, or
            ``far_rate`` is not positive.

    .. versionadded:: 0.2
    """

    def __init__(
        self, options: EchoCancellation, *, sample_rate: int, far_rate: int | None = None
    ) -> None:
        far_rate = sample_rate if far_rate is None else far_rate
        if sample_rate <= 0 or sample_rate % 100:  # AEC3 takes whole 10 ms frames
            raise ValueError(
                f"sample_rate must be a positive multiple of 100 Hz, got {sample_rate}"
            )
        if far_rate <= 0:  # resampled to sample_rate: any rate will do
            raise ValueError(
                f"far_rate (the speaker's device rate) must be positive, got {far_rate}"
            )
        webrtc = _load_webrtc()
        self._options = options
        self._rate = sample_rate
        self._frame = sample_rate // 100
        self._webrtc = webrtc
        given = options.echo_delay_ms
        start_delay = _START_DELAY_MS if given is None else given
        self._processor = self._make_processor(round(options.reference_lead_ms + start_delay))
        self._finder = DelayFinder(sample_rate) if given is None else None
        self._found_delay_ms: float | None = None
        self._far_resampler = (
            None
            if far_rate == sample_rate
            else StreamResampler(in_rate=far_rate, out_rate=sample_rate)
        )
        self._lead = round(options.reference_lead_ms * sample_rate / 1000)
        self._tolerance = round(options.timing_tolerance_ms * sample_rate / 1000)
        size = 1 << math.ceil(math.log2(_RING_SECONDS * sample_rate))
        self._ring = np.zeros(size, dtype=np.int16)
        self._mask = size - 1
        self._lock = threading.Lock()
        # Sample times (seconds x rate) on the monotonic clock: the ring holds the
        # reference for [_valid_from, _head); the timelines place each block.
        self._head: int | None = None
        self._valid_from = 0
        self._far_line = _Timeline(self._tolerance)
        self._near_line = _Timeline(self._tolerance)
        self._pending = _EMPTY  # near samples short of a whole frame
        self._reference_buffer = np.zeros(0, dtype=np.int16)  # reused by _reference()
        self._frames = 0
        self._far_blocks = 0
        self._missing = 0
        # The levels have a lock of their own, so that the speaker's callback (far(),
        # which takes _lock) never waits while they are computed or read.
        self._levels_lock = threading.Lock()
        self._levels = np.zeros((_LEVEL_FRAMES, 3), dtype=np.float64)
        self._level_count = 0
        # Frames processed whose levels are not computed yet (see _LEVEL_STAGE_FRAMES):
        # the samples before and after, and (end time, frames) of each staged block.
        self._stage = np.zeros((2, _LEVEL_STAGE_FRAMES * self._frame), dtype=np.int16)
        self._staged = 0
        self._staged_blocks: list[tuple[float, int]] = []

    def __repr__(self) -> str:
        return f"<EchoCanceller rate={self._rate} {self._options!r}>"

    def _make_processor(self, stream_delay_ms: int) -> Any:
        options = self._options
        return self._webrtc.AudioProcessor(
            sample_rate=self._rate,
            num_channels=1,
            echo_cancellation=True,
            noise_suppression=options.noise_suppression,
            ns_level=options.noise_suppression_level,
            high_pass_filter=options.high_pass,
            stream_delay_ms=stream_delay_ms,
        )

    @property
    def options(self) -> EchoCancellation:
        """The processing stages."""
        return self._options

    @property
    def sample_rate(self) -> int:
        """The rate it runs at (the microphone's wire rate)."""
        return self._rate

    @property
    def stats(self) -> EchoStats:
        """Running totals (frames processed, alignment jumps)."""
        return EchoStats(
            frames=self._frames,
            far_blocks=self._far_blocks,
            resyncs=self._far_line.jumps + self._near_line.jumps,
            missing_reference_frames=self._missing,
            echo_delay_ms=self._found_delay_ms,
        )

    def levels(self) -> npt.NDArray[np.float64]:
        """Per 10 ms frame, oldest first (the last five minutes at most).

        Returns:
            An array of shape (frames, 3): the frame's end time (monotonic clock,
            seconds), its power before processing and after it (mean square of
            the samples as fractions of full scale). ERLE over a stretch where
            only the speaker sounds is ``10*log10(sum(before) / sum(after))``.
        """
        with self._levels_lock:
            self._compute_levels()
            count = self._level_count
            if count <= _LEVEL_FRAMES:
                return self._levels[:count].copy()
            start = count % _LEVEL_FRAMES
            return np.concatenate([self._levels[start:], self._levels[:start]])

    def far(self, block: Any, dac_time: float, *, discontinuity: bool = False) -> None:
        """Note a block the speaker handed to its device (the echo's reference).

        Args:
            block: Mono PCM16 at ``far_rate`` (bytes or a buffer).
            dac_time: When its first sample reaches the DAC, on the monotonic clock.
            discontinuity: The stream lost samples or restarted since the last
                block: place this one by ``dac_time``, not by the count.
        """
        if self._far_resampler is not None:
            # The resampler's few milliseconds of delay fall inside the reference lead.
            data = self._far_resampler.process(bytes(block))
            samples = np.frombuffer(data, dtype=np.int16)
        else:
            samples = np.frombuffer(block, dtype=np.int16)
        count = len(samples)
        if not count:
            return
        stamp = round(dac_time * self._rate)
        with self._lock:
            self._far_blocks += 1
            head = self._head
            start = self._far_line.place(stamp, count, discontinuity=discontinuity)
            if head is None:
                self._valid_from = start
            elif start > head:  # a gap (stream stopped, block lost): silence there
                self._clear(head, start)
            # Behind the head: the device dropped what it held (abort); the new
            # block's audio replaces it, and nothing beyond it counts.
            self._write(start, samples)
            self._head = start + count
            self._valid_from = max(self._valid_from, self._head - len(self._ring))

    def near(self, pcm: bytes, adc_time: float, *, discontinuity: bool = False) -> bytes:
        """Cancel the echo in a block from the microphone.

        Args:
            pcm: Mono PCM16 at ``sample_rate``.
            adc_time: When its first sample left the ADC, on the monotonic clock.
            discontinuity: The stream lost samples since the last block: place
                this one by ``adc_time``, not by the count.

        Returns:
            The cleaned audio: whole 10 ms frames (a remainder waits for the
            next block), about 9 ms later than the input (AEC3's own delay;
            6 ms more with noise suppression).
        """
        samples = np.frombuffer(pcm, dtype=np.int16)
        stamp = round(adc_time * self._rate)
        start = self._near_line.place(stamp, len(samples), discontinuity=discontinuity)
        pending = self._pending
        if len(pending):  # the remainder of the last block comes first
            start -= len(pending)
            samples = np.concatenate([pending, samples])
        usable = len(samples) // self._frame * self._frame
        self._pending = samples[usable:].copy() if usable < len(samples) else _EMPTY
        if not usable:
            return b""
        near = samples[:usable]
        reference = self._reference(start + self._lead, usable)
        finder = self._finder
        if finder is not None and finder.add(near, reference):
            self._finder = None
            if finder.delay_s is not None:
                self._restart_from(finder)
        out: npt.NDArray[np.int16] = self._processor.process(near, reference)
        # near starts len(pending) samples before adc_time
        self._stage_levels(near, out, adc_time + (usable - len(pending)) / self._rate)
        self._frames += usable // self._frame
        return out.tobytes()

    def _restart_from(self, finder: DelayFinder) -> None:
        """AEC3 again, starting from the delay found, fed what was heard since the reply began.

        AEC3 takes its starting delay only when it is created, and one created in the
        middle of an echo lets it through: so the new one first processes the kept
        history (about half a second: a few milliseconds of CPU, once).
        """
        assert finder.delay_s is not None
        delay_ms = 1000 * finder.delay_s
        processor = self._make_processor(max(0, round(delay_ms - _START_BELOW_MS)))
        near, reference = finder.history()
        if len(near):
            processor.process(near, reference)
        self._processor = processor
        self._found_delay_ms = delay_ms

    # -- the ring ----------------------------------------------------------------------

    def _write(self, start: int, samples: npt.NDArray[np.int16]) -> None:
        """Copy ``samples`` to sample times [start, start + len). Holds ``_lock``."""
        count = len(samples)
        if count > len(self._ring):
            samples = samples[-len(self._ring) :]
            start += count - len(self._ring)
            count = len(samples)
        first = start & self._mask
        take = min(count, len(self._ring) - first)
        self._ring[first : first + take] = samples[:take]
        if take < count:
            self._ring[: count - take] = samples[take:]

    def _clear(self, start: int, end: int) -> None:
        """Zero sample times [start, end). Holds ``_lock``."""
        start = max(start, end - len(self._ring))
        if end > start:
            self._write(start, np.zeros(end - start, dtype=np.int16))

    def _reference(self, start: int, count: int) -> npt.NDArray[np.int16]:
        """The reference for sample times [start, start + count); silence where there is none.

        The array is reused by the next call: near() (its only caller, from the
        microphone's callback) hands it to AEC3 and the delay finder, which copy it.
        """
        if len(self._reference_buffer) != count:
            self._reference_buffer = np.zeros(count, dtype=np.int16)
        out = self._reference_buffer
        with self._lock:
            head = self._head
            low = high = start
            if head is not None:
                low = max(start, self._valid_from, head - len(self._ring))
                high = min(start + count, head)
            if high <= low:
                self._missing += count // self._frame
                out[:] = 0
                return out
            if low > start:
                out[: low - start] = 0
            if high < start + count:
                out[high - start :] = 0
            first = low & self._mask
            take = min(high - low, len(self._ring) - first)
            out[low - start : low - start + take] = self._ring[first : first + take]
            if take < high - low:
                out[low - start + take : high - start] = self._ring[: high - low - take]
        return out

    def _stage_levels(
        self, near: npt.NDArray[np.int16], out: npt.NDArray[np.int16], end_time: float
    ) -> None:
        """Keep a processed block for levels(); computed once the stage is full."""
        count = len(near)
        with self._levels_lock:
            if self._staged + count > self._stage.shape[1]:
                self._compute_levels()
            if count > self._stage.shape[1]:  # a block longer than the stage
                self._stage = np.zeros((2, count), dtype=np.int16)
            at = self._staged
            self._stage[0, at : at + count] = near
            self._stage[1, at : at + count] = out
            self._staged = at + count
            self._staged_blocks.append((end_time, count // self._frame))

    def _compute_levels(self) -> None:
        """Turn the staged frames into rows of ``_levels``. Holds ``_levels_lock``."""
        frames = self._staged // self._frame
        if not frames:
            return
        staged = self._stage[:, : self._staged].reshape(2, frames, self._frame)
        power = np.einsum("ijk,ijk->ji", staged, staged, dtype=np.float64)
        rows = np.empty((frames, 3), dtype=np.float64)
        rows[:, 1:] = power * (1.0 / (32768.0 * 32768.0 * self._frame))
        row = 0
        for end_time, count in self._staged_blocks:  # each frame's end time
            rows[row : row + count, 0] = end_time - np.arange(count - 1, -1, -1) / 100.0
            row += count
        self._staged = 0
        self._staged_blocks.clear()
        at = self._level_count % _LEVEL_FRAMES
        take = min(frames, _LEVEL_FRAMES - at)
        self._levels[at : at + take] = rows[:take]
        self._levels[: frames - take] = rows[take:]
        self._level_count += frames
