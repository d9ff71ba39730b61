"""Finding the echo's delay in the first reply, so that AEC3 can start from it.

AEC3 takes a starting delay (``stream_delay_ms``) only when it is created, and
on this project's echo rig a start more than about 40 ms from the true delay
let echo through in the first second, before AEC3 had found it: the server
heard it as the user (measured in docs/audio.md). The true delay is the sound's
flight plus whatever latency the drivers do not report, which the library
cannot know beforehand. So the canceller keeps the first moments of the
microphone and the reference, finds the delay by cross-correlating them once
the first reply's echo has been heard (within about half a second), then
creates AEC3 again with that delay and feeds it those moments before going on.
"""

from __future__ import annotations

from typing import Final, final

from ._numpy import np, npt

__all__ = ["DelayFinder"]

_DECIMATED_RATE: Final = 4000  # speech's echo correlates well below 2 kHz
_ONSET_POWER: Final = 1e-5  # a reference block above -50 dBFS starts the search
_BEFORE_ONSET_S: Final = 0.2  # history kept from before the reference's onset
_FIRST_TRY_S: Final = 0.3  # the first estimate, this long after the onset
_GIVE_UP_S: Final = 1.2  # no confident estimate by then: AEC3 finds it alone
_MAX_DELAY_S: Final = 0.5  # the longest delay looked for, behind the reference
_MIN_ECHO_S: Final = 0.15  # at least this much echo heard behind the estimate
_MIN_CORRELATION: Final = 0.3
_AGREE_S: Final = 0.0005  # two estimates in a row this close: confident


@final
class DelayFinder:
    """Cross-correlates the microphone with the reference from the first reply on.

    Args:
        rate: The sample rate of the blocks given to :meth:`add`.
    """

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._step = max(1, rate // _DECIMATED_RATE)
        self._near: list[npt.NDArray[np.int16]] = []
        self._ref: list[npt.NDArray[np.int16]] = []
        self._kept = 0  # samples in _near (and _ref)
        self._onset: int | None = None  # index in the kept history where the reference began
        self._previous: int | None = None  # the last estimate, in decimated samples
        self.done = False
        self.delay_s: float | None = None

    def add(self, near: npt.NDArray[np.int16], ref: npt.NDArray[np.int16]) -> bool:
        """Keep one block of the microphone and its reference; True once :attr:`done`.

        When it is done, :attr:`delay_s` is the echo's delay behind the
        reference, or None when none was found with confidence.
        """
        if self.done:
            return True
        self._near.append(near.copy())
        self._ref.append(ref.copy())
        self._kept += len(near)
        if self._onset is None:
            power = float(np.mean(ref.astype(np.float64) ** 2)) / (32768.0 * 32768.0)
            if power > _ONSET_POWER:
                self._onset = self._kept - len(near)
            else:
                self._trim(round(_BEFORE_ONSET_S * self._rate))
                return False
        heard = (self._kept - self._onset) / self._rate
        if heard < _FIRST_TRY_S:
            return False
        lag = self._estimate(heard)
        previous = self._previous
        agree = _AGREE_S * self._rate
        if lag is not None and previous is not None and abs(lag - previous) * self._step <= agree:
            self.delay_s = lag * self._step / self._rate
            self.done = True
            return True
        self._previous = lag
        if heard >= _GIVE_UP_S:
            self.done = True
            self._near, self._ref = [], []
        return self.done

    def history(self) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
        """The microphone and the reference kept, except the last block added."""
        if len(self._near) < 2:
            empty = np.zeros(0, dtype=np.int16)
            return empty, empty
        return np.concatenate(self._near[:-1]), np.concatenate(self._ref[:-1])

    def _trim(self, keep: int) -> None:
        """Drop the oldest blocks while the rest still holds ``keep`` samples."""
        while self._near and self._kept - len(self._near[0]) >= keep:
            self._kept -= len(self._near.pop(0))
            self._ref.pop(0)

    def _estimate(self, heard: float) -> int | None:
        """The delay (decimated samples) with the best normalized correlation, if confident."""
        step = self._step
        near = np.concatenate(self._near).astype(np.float64)
        ref = np.concatenate(self._ref).astype(np.float64)
        size = len(near) // step * step
        near = near[:size].reshape(-1, step).mean(axis=1)
        ref = ref[:size].reshape(-1, step).mean(axis=1)
        n = len(near)
        lags = min(n - 1, round(_MAX_DELAY_S * self._rate / step))
        fft_size = 1 << (2 * n).bit_length()
        cc = np.fft.irfft(np.fft.rfft(near, fft_size) * np.conj(np.fft.rfft(ref, fft_size)))
        cc = cc[: lags + 1]
        # Energies of the overlapping parts: ref[0 : n - lag] against near[lag : n].
        ref_energy = np.concatenate([[0.0], np.cumsum(ref * ref)])
        near_energy = np.concatenate([[0.0], np.cumsum(near * near)])
        k = np.arange(lags + 1)
        norm = np.sqrt(ref_energy[n - k] * (near_energy[n] - near_energy[k])) + 1e-9
        coefficient = np.abs(cc) / norm
        best = int(np.argmax(coefficient))
        if coefficient[best] < _MIN_CORRELATION:
            return None
        if heard - best * step / self._rate < _MIN_ECHO_S:
            return None  # too little of the echo behind this delay heard yet
        return best
