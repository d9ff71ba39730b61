"""The input audio buffer and its energy voice activity detector.

Audio is kept as 16-bit PCM at the input format's own rate (24 kHz for
``audio/pcm``, 8 kHz for G.711, decoded). Every position is counted in
samples since the session's first append, so the milliseconds reported in
``speech_started`` / ``speech_stopped`` refer to all the audio the session has
received, as the service's do.

Detection works on 10 ms frames. A frame's level is its RMS in dBFS mapped
linearly from -70 dBFS (0.0) to 0 dBFS (1.0); a frame is speech when its level
reaches the VAD ``threshold``. Speech starts after three speech frames in a row
(``audio_start_ms`` is the first of them) and stops after ``silence_duration_ms``
without a speech frame (``audio_end_ms`` is the last speech frame's end plus the
silence, which is how the service reports it).
"""

from __future__ import annotations

import math
from typing import Final, Literal

import attrs
import numpy as np

__all__ = ["InputAudioBuffer", "VadSettings", "VadTransition", "frame_level"]

FRAME_MS: Final = 10
ONSET_FRAMES: Final = 3
_FLOOR_DB: Final = -70.0


def frame_level(pcm16: bytes) -> float:
    """The level of a stretch of PCM16 audio, 0.0 (silence) to 1.0 (full scale)."""
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return 0.0
    rms = math.sqrt(float(np.mean(samples * samples))) / 32768.0
    if rms <= 0.0:
        return 0.0
    db = 20.0 * math.log10(rms)
    return min(1.0, max(0.0, (db - _FLOOR_DB) / -_FLOOR_DB))


@attrs.frozen(kw_only=True)
class VadSettings:
    """What the detector needs from the session's turn detection."""

    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int


@attrs.frozen(kw_only=True)
class VadTransition:
    """Speech started or stopped, at a position in milliseconds since the session began."""

    kind: Literal["started", "stopped"]
    ms: int


class InputAudioBuffer:
    """The input audio buffer of one session, with its voice activity detector.

    Args:
        rate: Samples per second of the PCM16 audio fed to it.
    """

    def __init__(self, *, rate: int) -> None:
        self._rate = rate
        self._buffer = bytearray()
        self._buffer_start = 0  # absolute sample index of self._buffer[0]
        self._scanned = 0  # absolute sample index up to which VAD has looked
        self._speech_run = 0
        self._in_speech = False
        self._speech_start = 0
        self._last_speech_end = 0

    @property
    def rate(self) -> int:
        """Samples per second."""
        return self._rate

    @property
    def in_speech(self) -> bool:
        """Whether the detector is inside a stretch of speech."""
        return self._in_speech

    @property
    def speech_start(self) -> int:
        """Where the current (or last) speech started, in samples since the session began."""
        return self._speech_start

    @property
    def end(self) -> int:
        """The position just after the last sample received."""
        return self._buffer_start + len(self._buffer) // 2

    @property
    def start(self) -> int:
        """The position of the buffer's first sample."""
        return self._buffer_start

    def ms(self, position: int) -> int:
        """A position in samples as whole milliseconds."""
        return position * 1000 // self._rate

    def samples(self, ms: int) -> int:
        """A duration in milliseconds as samples."""
        return ms * self._rate // 1000

    def duration_ms(self) -> float:
        """How much audio the buffer holds, in milliseconds."""
        return len(self._buffer) / 2 * 1000 / self._rate

    def append(self, pcm16: bytes, vad: VadSettings | None) -> list[VadTransition]:
        """Add audio; with ``vad`` given, run detection over the complete new frames."""
        if len(pcm16) % 2:
            pcm16 = pcm16[:-1]
        self._buffer += pcm16
        if vad is None:
            self._scanned = self.end
            return []
        return self._detect(vad)

    def _detect(self, vad: VadSettings) -> list[VadTransition]:
        frame = self.samples(FRAME_MS)
        silence = self.samples(vad.silence_duration_ms)
        out: list[VadTransition] = []
        while self._scanned + frame <= self.end:
            offset = (self._scanned - self._buffer_start) * 2
            level = frame_level(bytes(self._buffer[offset : offset + frame * 2]))
            position = self._scanned
            self._scanned += frame
            if level >= vad.threshold and level > 0.0:
                self._speech_run += 1
                self._last_speech_end = self._scanned
                if not self._in_speech and self._speech_run >= ONSET_FRAMES:
                    self._in_speech = True
                    self._speech_start = position - (ONSET_FRAMES - 1) * frame
                    out.append(VadTransition(kind="started", ms=self.ms(self._speech_start)))
                continue
            self._speech_run = 0
            if self._in_speech and self._scanned - self._last_speech_end >= silence:
                self._in_speech = False
                end = self._last_speech_end + silence
                out.append(VadTransition(kind="stopped", ms=self.ms(end)))
        return out

    def take(self, end: int | None = None, *, prefix_ms: int = 0) -> bytes:
        """Remove and return the buffer's audio up to ``end`` (all of it when None).

        With ``prefix_ms``, audio more than that long before the last speech start
        is dropped rather than returned: the service keeps only the padding.
        """
        stop = self.end if end is None else min(max(end, self._buffer_start), self.end)
        first = self._buffer_start
        if prefix_ms and self._speech_start > first:
            first = max(first, self._speech_start - self.samples(prefix_ms))
        audio = bytes(
            self._buffer[(first - self._buffer_start) * 2 : (stop - self._buffer_start) * 2]
        )
        del self._buffer[: (stop - self._buffer_start) * 2]
        self._buffer_start = stop
        self._scanned = max(self._scanned, stop)
        return audio

    def clear(self) -> None:
        """Drop the buffered audio and forget any speech in progress."""
        self._buffer_start = self.end
        self._buffer.clear()
        self._scanned = self._buffer_start
        self._speech_run = 0
        self._in_speech = False
