"""G.711 codecs: bit-exact against the reference algorithm on every input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from realtime_client.audio import _g711

ALL_PCM = np.arange(65536, dtype=np.uint16).astype("<u2").tobytes()
ALL_CODES = bytes(range(256))


def _search(value: int, table: tuple[int, ...]) -> int:
    for i, end in enumerate(table):
        if value <= end:
            return i
    return len(table)


def ref_ulaw_encode(sample: int) -> int:
    """Scalar port of the Sun/CCITT reference (14-bit input), as audioop used it."""
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + (0x84 >> 2)
    seg = _search(value, (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF))
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask


def ref_ulaw_decode(code: int) -> int:
    code = ~code & 0xFF
    t = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - t if code & 0x80 else t - 0x84


def ref_alaw_encode(sample: int) -> int:
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    seg = _search(value, (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF))
    if seg >= 8:
        return 0x7F ^ mask
    shift = 1 if seg < 2 else seg
    return ((seg << 4) | ((value >> shift) & 0x0F)) ^ mask


def ref_alaw_decode(code: int) -> int:
    code ^= 0x55
    seg = (code & 0x70) >> 4
    t = (code & 0x0F) << 4
    t += 8 if seg == 0 else 0x108
    if seg > 1:
        t <<= seg - 1
    return t if code & 0x80 else -t


def _pcm(values: list[int]) -> bytes:
    return np.array(values, dtype="<i2").tobytes()


def _signed(pattern: int) -> int:
    return pattern - 65536 if pattern >= 32768 else pattern


class TestAgainstScalarReference:
    def test_ulaw_encode_every_sample(self):
        """u-law encoding equals the reference for all 65,536 samples."""
        expected = bytes(ref_ulaw_encode(_signed(p)) for p in range(65536))
        assert expected == _g711.encode_ulaw(ALL_PCM)

    def test_alaw_encode_every_sample(self):
        """a-law encoding equals the reference for all 65,536 samples."""
        expected = bytes(ref_alaw_encode(_signed(p)) for p in range(65536))
        assert expected == _g711.encode_alaw(ALL_PCM)

    def test_ulaw_decode_every_code(self):
        """u-law decoding equals the reference for all 256 codes."""
        assert _pcm([ref_ulaw_decode(c) for c in range(256)]) == _g711.decode_ulaw(ALL_CODES)

    def test_alaw_decode_every_code(self):
        """a-law decoding equals the reference for all 256 codes."""
        assert _pcm([ref_alaw_decode(c) for c in range(256)]) == _g711.decode_alaw(ALL_CODES)


class TestAgainstAudioop:
    """The stdlib module the codecs replace (removed in Python 3.13)."""

    @pytest.fixture
    def audioop(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return pytest.importorskip("audioop", reason="audioop was removed in Python 3.13")

    def test_ulaw(self, audioop):
        """u-law matches audioop bit for bit, both directions."""
        assert audioop.lin2ulaw(ALL_PCM, 2) == _g711.encode_ulaw(ALL_PCM)
        assert audioop.ulaw2lin(ALL_CODES, 2) == _g711.decode_ulaw(ALL_CODES)

    def test_alaw(self, audioop):
        """a-law matches audioop bit for bit, both directions."""
        assert audioop.lin2alaw(ALL_PCM, 2) == _g711.encode_alaw(ALL_PCM)
        assert audioop.alaw2lin(ALL_CODES, 2) == _g711.decode_alaw(ALL_CODES)


class TestBehaviour:
    def test_known_codes(self):
        """Silence encodes to the well-known idle codes 0xFF (u-law) and 0xD5 (a-law)."""
        assert _g711.encode_ulaw(_pcm([0])) == b"\xff"
        assert _g711.encode_alaw(_pcm([0])) == b"\xd5"

    def test_ulaw_decode_then_encode(self):
        """Every u-law code survives a round trip, except negative zero which becomes +0."""
        expected = bytearray(ALL_CODES)
        expected[0x7F] = 0xFF
        assert _g711.encode_ulaw(_g711.decode_ulaw(ALL_CODES)) == bytes(expected)

    def test_alaw_decode_then_encode(self):
        """Every a-law code survives a round trip (a-law has no negative zero)."""
        assert _g711.encode_alaw(_g711.decode_alaw(ALL_CODES)) == ALL_CODES

    @pytest.mark.parametrize(
        ("encode", "decode"),
        [(_g711.encode_ulaw, _g711.decode_ulaw), (_g711.encode_alaw, _g711.decode_alaw)],
    )
    def test_round_trip_error_is_bounded(self, encode, decode):
        """A round trip keeps a tone within G.711's quantisation error (under 3%)."""
        tone = (np.sin(np.arange(800) * 2 * np.pi / 40) * 20000).astype("<i2")
        back = np.frombuffer(decode(encode(tone.tobytes())), dtype="<i2").astype(float)
        assert np.max(np.abs(back - tone)) < 0.03 * 20000 + 16

    @pytest.mark.parametrize("encode", [_g711.encode_ulaw, _g711.encode_alaw])
    def test_odd_length_is_rejected(self, encode):
        """Half a sample is a caller error, named in the message."""
        with pytest.raises(ValueError, match="even number of bytes"):
            encode(b"\x00\x01\x02")

    def test_empty(self):
        """Empty input gives empty output."""
        assert _g711.encode_ulaw(b"") == b""
        assert _g711.decode_alaw(b"") == b""
