"""What the microphone and the speaker share: rate choice, format lookup, the level meter."""

from __future__ import annotations

import math

from ._format import WireFormat, wire_format
from ._numpy import np
from ._stream import device_default_rate

__all__ = ["format_named", "pcm16_level_dbfs", "rates_to_try"]

_SILENCE_DBFS = -120.0


def pcm16_level_dbfs(pcm16: bytes) -> float:
    """RMS level of PCM16 audio in dBFS (full-scale sine = -3 dB; silence = -120)."""
    if len(pcm16) < 2:
        return _SILENCE_DBFS
    samples = np.frombuffer(pcm16, dtype="<i2", count=len(pcm16) // 2).astype(np.float64)
    rms = math.sqrt(float(np.mean(samples * samples))) / 32768.0
    return max(_SILENCE_DBFS, 20.0 * math.log10(rms + 1e-12))


def rates_to_try(
    kind: str, wire_rate: int, sample_rate: int | None, device: int | str | None, custom: bool
) -> list[int]:
    """Rates to try: the forced one; else the wire's, then the device's own, then common ones."""
    if sample_rate is not None:
        return [sample_rate]
    default = None
    if not custom:  # only a real device can be asked
        default = device_default_rate("input" if kind == "input" else "output", device)
    return [r for r in (wire_rate, default, 48000, 44100) if r]


def format_named(name: str) -> WireFormat:
    """The wire format called ``name`` (for classes whose parameter shadows ``wire_format``)."""
    return wire_format(name)
