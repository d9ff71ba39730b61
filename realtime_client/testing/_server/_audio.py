"""Audio formats at the server's edge: decoding input, encoding output.

Inside, the server works on 16-bit PCM at the format's own rate; audio given
at another rate is resampled with :mod:`realtime_client.audio`'s resampler
(soxr, from the ``audio`` extra). G.711
(``audio/pcmu``, ``audio/pcma``) goes through :mod:`realtime_client.audio`'s
codecs, imported when first needed.
"""

from __future__ import annotations

from ...errors import RealtimeError
from ...events import AudioFormat, AudioPCMA, AudioPCMU
from ._config import format_rate

__all__ = ["bytes_per_ms", "decode_input", "encode_output", "can_resample", "resample_pcm16"]


def bytes_per_ms(fmt: AudioFormat | None) -> int:
    """Bytes one millisecond of audio takes in a format (48 for pcm, 8 for G.711)."""
    return 8 if isinstance(fmt, (AudioPCMU, AudioPCMA)) else 48


def decode_input(data: bytes, fmt: AudioFormat | None) -> bytes:
    """Audio in the session's input format as 16-bit PCM at the format's rate."""
    if isinstance(fmt, AudioPCMU):
        from ...audio._g711 import decode_ulaw

        return decode_ulaw(data)
    if isinstance(fmt, AudioPCMA):
        from ...audio._g711 import decode_alaw

        return decode_alaw(data)
    return data[: len(data) - len(data) % 2]


def resample_pcm16(pcm16: bytes, source_rate: int, target_rate: int) -> bytes:
    """Change the rate of 16-bit mono PCM with :mod:`realtime_client.audio`'s resampler."""
    if source_rate == target_rate:
        return pcm16
    from ...audio._resample import StreamResampler

    resampler = StreamResampler(in_rate=source_rate, out_rate=target_rate)
    return resampler.process(pcm16) + resampler.flush()


def can_resample() -> bool:
    """Whether resampling is available (it needs soxr, from the ``audio`` extra)."""
    try:
        resample_pcm16(b"\0\0" * 480, 24000, 8000)
    except (ImportError, RealtimeError):
        return False
    return True


def encode_output(pcm16: bytes, rate: int, fmt: AudioFormat | None) -> bytes:
    """16-bit PCM at ``rate`` as audio in the session's output format."""
    pcm16 = resample_pcm16(pcm16, rate, format_rate(fmt))
    if isinstance(fmt, AudioPCMU):
        from ...audio._g711 import encode_ulaw

        return encode_ulaw(pcm16)
    if isinstance(fmt, AudioPCMA):
        from ...audio._g711 import encode_alaw

        return encode_alaw(pcm16)
    return pcm16
