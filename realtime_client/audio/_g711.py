"""G.711 u-law and a-law codecs for 16-bit PCM, built on NumPy lookup tables.

The tables are computed once, at first import, from the ITU-T G.711 segment
rules in the form the Sun reference code (and Python's former ``audioop``
module) uses: u-law works on the top 14 bits of a sample, a-law on the top 13.
Encoding is then one table lookup per sample and decoding one per byte, so a
second of 8 kHz audio takes tens of microseconds.

The Realtime API's ``audio/pcmu`` and ``audio/pcma`` formats carry these codes
at 8000 Hz, one byte per sample.
"""

from __future__ import annotations

from ._numpy import np, npt

__all__ = ["decode_alaw", "decode_ulaw", "encode_alaw", "encode_ulaw"]

_SIGN_BIT = 0x80
_QUANT_MASK = 0x0F
_SEG_MASK = 0x70
_SEG_SHIFT = 4
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # largest 14-bit magnitude u-law represents
_ULAW_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def _all_samples() -> npt.NDArray[np.int32]:
    """Every int16 value, ordered by its unsigned bit pattern (0, 1, ..., -1)."""
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    value = _all_samples() >> 2  # 14-bit range
    negative = value < 0
    mask = np.where(negative, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEG_END, magnitude, side="left")
    code = (segment << _SEG_SHIFT) | ((magnitude >> (segment + 1)) & _QUANT_MASK)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    t = ((code & _QUANT_MASK) << 3) + _ULAW_BIAS
    t <<= (code & _SEG_MASK) >> _SEG_SHIFT
    return np.where(code & _SIGN_BIT, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    value = _all_samples() >> 3  # 13-bit range
    negative = value < 0
    mask = np.where(negative, 0x55, 0xD5)
    magnitude = np.where(negative, -value - 1, value)
    segment = np.searchsorted(_ALAW_SEG_END, magnitude, side="left")
    shift = np.where(segment < 2, 1, segment)
    code = (segment << _SEG_SHIFT) | ((magnitude >> shift) & _QUANT_MASK)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & _SEG_MASK) >> _SEG_SHIFT
    t = (code & _QUANT_MASK) << 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(code & _SIGN_BIT, t, -t).astype(np.int16)


_ULAW_ENCODE = _ulaw_encode_table()
_ULAW_DECODE = _ulaw_decode_table().astype("<i2")
_ALAW_ENCODE = _alaw_encode_table()
_ALAW_DECODE = _alaw_decode_table().astype("<i2")


def _samples(pcm16: bytes) -> npt.NDArray[np.uint16]:
    if len(pcm16) % 2:
        raise ValueError(
            f"PCM16 audio must have an even number of bytes (2 per sample), got {len(pcm16)}"
        )
    return np.frombuffer(pcm16, dtype="<u2")


def encode_ulaw(pcm16: bytes) -> bytes:
    """Encode 16-bit little-endian mono PCM as G.711 u-law, one byte per sample.

    Args:
        pcm16: Signed 16-bit little-endian samples (any sample rate).

    Returns:
        The u-law codes, as many bytes as there were samples.

    Raises:
        ValueError: ``pcm16`` has an odd number of bytes.
    """
    return _ULAW_ENCODE[_samples(pcm16)].tobytes()


def decode_ulaw(data: bytes) -> bytes:
    """Decode G.711 u-law codes to 16-bit little-endian PCM.

    Args:
        data: u-law codes, one byte per sample.

    Returns:
        Signed 16-bit little-endian samples, two bytes per input byte.
    """
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def encode_alaw(pcm16: bytes) -> bytes:
    """Encode 16-bit little-endian mono PCM as G.711 a-law, one byte per sample.

    Args:
        pcm16: Signed 16-bit little-endian samples (any sample rate).

    Returns:
        The a-law codes, as many bytes as there were samples.

    Raises:
        ValueError: ``pcm16`` has an odd number of bytes.
    """
    return _ALAW_ENCODE[_samples(pcm16)].tobytes()


def decode_alaw(data: bytes) -> bytes:
    """Decode G.711 a-law codes to 16-bit little-endian PCM.

    Args:
        data: a-law codes, one byte per sample.

    Returns:
        Signed 16-bit little-endian samples, two bytes per input byte.
    """
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()
