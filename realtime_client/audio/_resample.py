"""Streaming sample-rate conversion for 16-bit mono PCM, backed by soxr.

A device that cannot open at the wire's rate (24 kHz for ``audio/pcm``, 8 kHz
for G.711) is run at its own rate, and audio is converted on the way in and
out. soxr keeps filter state between chunks, so chunked conversion equals
converting the whole signal at once, with proper anti-aliasing.
"""

from __future__ import annotations

from typing import Any, final

from ..errors import AudioError
from ._numpy import np

__all__ = ["StreamResampler"]


def _load_soxr() -> Any:
    try:
        import soxr  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:
        raise AudioError(
            "resampling between the device's rate and the wire's needs soxr: "
            "pip install 'realtime-client[audio]'"
        ) from exc
    return soxr


@final
class StreamResampler:
    """Converts a stream of PCM16 chunks from one sample rate to another.

    When both rates are equal it passes chunks through unchanged and does not
    need soxr.

    Args:
        in_rate: Sample rate of the chunks given to :meth:`process`, in Hz.
        out_rate: Sample rate of the chunks it returns, in Hz.
        quality: soxr quality: ``"VHQ"``, ``"HQ"`` (the default), ``"MQ"``,
            ``"LQ"`` or ``"QQ"``.

    Raises:
        AudioError: soxr is not installed and the rates differ.
        ValueError: A rate is not positive.

    .. versionadded:: 0.1
    """

    def __init__(self, *, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        self._in_rate = in_rate
        self._out_rate = out_rate
        self._stream: Any = None
        if in_rate != out_rate:
            soxr = _load_soxr()
            self._stream = soxr.ResampleStream(
                in_rate, out_rate, 1, dtype="int16", quality=quality
            )

    @property
    def in_rate(self) -> int:
        """Sample rate of the input, in Hz."""
        return self._in_rate

    @property
    def out_rate(self) -> int:
        """Sample rate of the output, in Hz."""
        return self._out_rate

    @property
    def passthrough(self) -> bool:
        """True when both rates are equal and chunks pass unchanged."""
        return self._stream is None

    def process(self, pcm16: bytes) -> bytes:
        """Convert the next chunk.

        The output length follows the rate ratio over the whole stream; a single
        chunk's output may be slightly shorter or longer while the filter fills.

        Args:
            pcm16: Signed 16-bit little-endian mono samples at ``in_rate``.

        Returns:
            Samples at ``out_rate`` (possibly empty).

        Raises:
            ValueError: ``pcm16`` has an odd number of bytes.
        """
        if len(pcm16) % 2:
            raise ValueError(
                f"PCM16 audio must have an even number of bytes (2 per sample), got {len(pcm16)}"
            )
        if self._stream is None:
            return pcm16
        samples = np.frombuffer(pcm16, dtype="<i2")
        out: np.ndarray[Any, Any] = self._stream.resample_chunk(samples)
        return out.astype("<i2", copy=False).tobytes()

    def flush(self) -> bytes:
        """Return the samples still held in the filter, ending the stream.

        After a flush the resampler starts over, as if new.
        """
        if self._stream is None:
            return b""
        out: np.ndarray[Any, Any] = self._stream.resample_chunk(
            np.zeros(0, dtype="<i2"), last=True
        )
        self._stream.clear()
        return out.astype("<i2", copy=False).tobytes()
