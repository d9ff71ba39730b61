"""The server's settings, shared read-only by every connection."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Union

import attrs

from ._replies import Responder
from ._speech import SpeechEngine

__all__ = ["ServerSettings", "Transcriber"]

Transcriber = Union[str, Callable[[bytes, int], Union[str, None]]]
"""What input transcription "hears": fixed text, or a function of (PCM16 audio, rate)
returning the text, or None for a failed transcription."""


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0 or math.isnan(value):
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class ServerSettings:
    """Everything :class:`FakeRealtimeServer` was configured with (see its docstring)."""

    api_key: str | None = attrs.field(default=None, repr=False)
    responder: Responder | None = None
    transcribe: Transcriber | None = None
    speech_engine: SpeechEngine = "auto"
    speed: float = attrs.field(default=1.0, validator=_positive)
    max_session_duration: float = attrs.field(default=3600.0, validator=_positive)
    handshake_delay: float = 0.0
    record_dir: str | os.PathLike[str] | None = None
    replay: str | os.PathLike[str] | None = None

    def transcript_for(self, pcm16: bytes, rate: int) -> str | None:
        """The input transcript of a stretch of user audio."""
        if isinstance(self.transcribe, str):
            return self.transcribe
        if self.transcribe is not None:
            return self.transcribe(pcm16, rate)
        seconds = len(pcm16) / 2 / rate
        return f"[{seconds:.1f} seconds of speech]"
