"""Live audio for realtime_client: codecs (more to come in this package)."""

from __future__ import annotations

from ._g711 import decode_alaw, decode_ulaw, encode_alaw, encode_ulaw

__all__ = ["decode_alaw", "decode_ulaw", "encode_alaw", "encode_ulaw"]
