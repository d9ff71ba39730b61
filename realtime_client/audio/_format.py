"""The three wire audio formats and the conversions between them and PCM16."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, final

import attrs

from . import _g711

__all__ = ["WIRE_FORMATS", "WireFormat", "wire_format"]

WireFormatName = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]


def _identity(data: bytes) -> bytes:
    return data


@final
@attrs.frozen(kw_only=True)
class WireFormat:
    """How audio travels inside the session's JSON events.

    Attributes:
        name: The format's wire name (``"audio/pcm"``, ``"audio/pcmu"`` or ``"audio/pcma"``).
        sample_rate: Its sample rate in Hz (24000 for PCM, 8000 for G.711).
        bytes_per_sample: 2 for PCM16, 1 for G.711.
        encode: PCM16 at ``sample_rate`` -> wire bytes.
        decode: wire bytes -> PCM16 at ``sample_rate``.

    .. versionadded:: 0.1
    """

    name: WireFormatName
    sample_rate: int
    bytes_per_sample: int
    encode: Callable[[bytes], bytes] = attrs.field(repr=False)
    decode: Callable[[bytes], bytes] = attrs.field(repr=False)

    def duration_ms(self, nbytes: int) -> int:
        """Whole milliseconds of audio in ``nbytes`` of this format (rounded down)."""
        return (nbytes // self.bytes_per_sample) * 1000 // self.sample_rate


WIRE_FORMATS: dict[str, WireFormat] = {
    "audio/pcm": WireFormat(
        name="audio/pcm",
        sample_rate=24000,
        bytes_per_sample=2,
        encode=_identity,
        decode=_identity,
    ),
    "audio/pcmu": WireFormat(
        name="audio/pcmu",
        sample_rate=8000,
        bytes_per_sample=1,
        encode=_g711.encode_ulaw,
        decode=_g711.decode_ulaw,
    ),
    "audio/pcma": WireFormat(
        name="audio/pcma",
        sample_rate=8000,
        bytes_per_sample=1,
        encode=_g711.encode_alaw,
        decode=_g711.decode_alaw,
    ),
}


def wire_format(name: str) -> WireFormat:
    """Look up a wire format by name (``"audio/pcm"``, ``"audio/pcmu"``, ``"audio/pcma"``).

    Raises:
        ValueError: The name is not one of the three.
    """
    try:
        return WIRE_FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown audio format {name!r}: expected one of {sorted(WIRE_FORMATS)}"
        ) from None
