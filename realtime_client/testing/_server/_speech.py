"""Speech for the server's spoken replies: espeak-ng when installed, else a synthetic voice.

Both give 16-bit mono PCM at the rate asked for. espeak-ng speaks real words
(its 22.05 kHz output is resampled with :mod:`realtime_client.audio`'s
resampler, so espeak needs soxr too); the synthetic voice is a deterministic
buzz of voiced syllables with a pitch contour and pauses between words, so
that an energy VAD, a level meter or a listener hears something shaped like
speech.
"""

from __future__ import annotations

import functools
import io
import math
import re
import shutil
import subprocess
import wave
import zlib
from typing import Final, Literal

import numpy as np

from ._audio import can_resample, resample_pcm16

__all__ = ["SpeechEngine", "espeak_available", "synthesize", "synthetic_speech"]

SpeechEngine = Literal["auto", "espeak", "synthetic"]

_SYLLABLE_S: Final = 0.16
_SYLLABLE_GAP_S: Final = 0.03
_WORD_GAP_S: Final = 0.09
_PHRASE_GAP_S: Final = 0.25
_ESPEAK_TIMEOUT_S: Final = 10.0
_PITCH_CYCLE: Final = 7
"""Syllables before the pitch drift repeats (7 steps of 0.9 rad is about one turn)."""
_VOWELS = re.compile(r"[aeiouy]+", re.IGNORECASE)
_TOKEN = re.compile(r"[\w']+|[.,;:!?]")


def _syllables(word: str) -> int:
    return max(1, len(_VOWELS.findall(word)))


def synthetic_speech(text: str, rate: int, *, speed: float = 1.0, seed: int = 0) -> bytes:
    """A speech-like signal for ``text``: one voiced burst per syllable, pauses between words.

    Args:
        text: What to "say"; only its words, syllables and punctuation matter.
        rate: Samples per second of the result.
        speed: Speaking speed; 2.0 is twice as fast.
        seed: Varies the voice's pitch (a voice name's hash, for instance).

    Returns:
        16-bit little-endian mono PCM. Empty text gives empty audio.
    """
    tokens = _TOKEN.findall(text)
    if not tokens:
        return b""
    speed = min(max(speed, 0.25), 4.0)
    f0_base = 110.0 + (zlib.crc32(f"{seed}".encode()) % 90)
    pieces: list[np.ndarray] = []
    syllable_index = 0
    for token in tokens:
        if not token[0].isalnum():
            pieces.append(np.zeros(int(rate * _PHRASE_GAP_S / speed)))
            continue
        for _ in range(_syllables(token)):
            pieces.append(_syllable(rate, speed, f0_base, syllable_index % _PITCH_CYCLE))
            pieces.append(np.zeros(int(rate * _SYLLABLE_GAP_S / speed)))
            syllable_index += 1
        pieces.append(np.zeros(int(rate * _WORD_GAP_S / speed)))
    signal = np.concatenate(pieces)
    pcm: bytes = (np.clip(signal, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return pcm


@functools.lru_cache(maxsize=256)
def _syllable(rate: int, speed: float, f0_base: float, step: int) -> np.ndarray:
    """One voiced syllable; cached, since a voice has only :data:`_PITCH_CYCLE` of them.

    Synthesizing each syllable afresh made a long reply take seconds of CPU on
    the session's worker, where it cannot be interrupted (stop() waited for it).
    """
    n = int(rate * _SYLLABLE_S / speed)
    t = np.arange(n) / rate
    # A falling pitch within the syllable, drifting along the phrase.
    f0 = f0_base * (1.0 + 0.08 * math.sin(step * 0.9)) * (1.0 - 0.15 * t / t[-1])
    phase = 2.0 * np.pi * np.cumsum(f0) / rate
    wave_ = np.zeros(n)
    for harmonic, weight in ((1, 1.0), (2, 0.6), (3, 0.45), (4, 0.25), (5, 0.15)):
        wave_ += weight * np.sin(harmonic * phase)
    envelope = np.sin(np.pi * np.arange(n) / n) ** 0.6
    syllable: np.ndarray = 0.22 * wave_ * envelope
    syllable.setflags(write=False)
    return syllable


@functools.lru_cache(maxsize=1)
def espeak_available() -> bool:
    """Whether espeak-ng is installed and its audio can be resampled (soxr)."""
    return shutil.which("espeak-ng") is not None and can_resample()


def _espeak(text: str, rate: int, speed: float) -> bytes | None:
    words_per_minute = int(min(max(175 * speed, 80), 450))
    try:
        done = subprocess.run(
            ["espeak-ng", "--stdout", "-v", "en-us", "-s", str(words_per_minute), "--", text],
            capture_output=True,
            timeout=_ESPEAK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    try:
        with wave.open(io.BytesIO(done.stdout)) as wav:
            source_rate = wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return None
    return resample_pcm16(pcm, source_rate, rate)


@functools.lru_cache(maxsize=64)
def synthesize(
    text: str,
    rate: int,
    *,
    speed: float = 1.0,
    voice: str = "marin",
    engine: SpeechEngine = "auto",
) -> bytes:
    """Speak ``text`` as 16-bit mono PCM at ``rate``.

    Args:
        text: The words to speak.
        rate: Samples per second of the result (24000 or 8000).
        speed: The session's output speed (1.0 is normal).
        voice: The session's voice; it varies the synthetic voice's pitch.
        engine: ``"espeak"`` or ``"synthetic"`` to force one; ``"auto"`` uses
            espeak-ng when it is installed and falls back to the synthetic voice.

    Returns:
        The audio; empty for text without words.
    """
    if engine != "synthetic" and text.strip() and espeak_available():
        audio = _espeak(text, rate, speed)
        if audio is not None:
            return audio
    return synthetic_speech(text, rate, speed=speed, seed=zlib.crc32(voice.encode()))
