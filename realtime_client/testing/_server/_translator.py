"""The offline server's stand-in translator: deterministic, paced with the input.

It does what a translation model does in shape, not in substance. Input audio
(24 kHz PCM16) goes through the server's energy voice activity detector; when
a stretch of speech ends, its source text is what the server's transcription
"hears" (the ``transcribe`` setting, as for conversation sessions), and its
"translation" is that text tagged with the target language: ``[es] hello``.
The translation is spoken with the server's voice (espeak-ng or the synthetic
one).

Output is paced with the input, as the service streams it: the source
transcript's words go out when the speech ends, and then each 200 ms of input
audio received releases 200 ms of translated audio, with the translated
transcript's words spread over those steps. ``session.close`` flushes the
rest. Every delta carries ``elapsed_ms``: the input position, in milliseconds,
at which it was released.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any, Final

import attrs

from ...events import UNSET, NoiseReduction, UnknownClientEvent
from ...events import translation as tev
from ._settings import ServerSettings
from ._speech import synthesize
from ._util import ServerErrorInfo, new_id
from ._vad import InputAudioBuffer, VadSettings

__all__ = ["DEFAULT_LANGUAGE", "RATE", "Translator", "initial_translation_session"]

RATE: Final = 24000
DEFAULT_LANGUAGE: Final = "en"
_STEP_MS: Final = 200
_STEP_BYTES: Final = RATE * 2 * _STEP_MS // 1000
_VAD: Final = VadSettings(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)

Send = Callable[[Any], None]


def initial_translation_session(model: str, max_duration_s: float) -> tev.TranslationSession:
    """The configuration ``session.created`` reports: no transcription, no noise reduction."""
    return tev.TranslationSession(
        id=new_id("sess"),
        model=model,
        expires_at=int(time.time() + max_duration_s),
        audio=tev.TranslationAudio(
            input=tev.TranslationAudioInput(noise_reduction=None, transcription=None),
            output=tev.TranslationAudioOutput(language=DEFAULT_LANGUAGE),
        ),
    )


@attrs.define
class _Pending:
    """Translated output waiting for input to pace it."""

    audio: bytes
    words: list[str]
    steps: int
    done: int = 0

    def release(self) -> tuple[bytes, str]:
        """The next step's audio and transcript text."""
        start = self.done * _STEP_BYTES
        audio = self.audio[start : start + _STEP_BYTES]
        first = self.done * len(self.words) // self.steps
        self.done += 1
        last = self.done * len(self.words) // self.steps
        return audio, "".join(self.words[first:last])

    @property
    def finished(self) -> bool:
        return self.done >= self.steps


def _words(text: str) -> list[str]:
    """Append-only deltas: each word carries its leading space, as the service's do."""
    parts = text.split()
    return [part if i == 0 else " " + part for i, part in enumerate(parts)]


class Translator:
    """One translation session's logic, driven by the connection thread.

    Args:
        settings: The server's settings (transcription and speech engine).
        session: The configuration ``session.created`` reports.
        send: Sends one server event.
    """

    def __init__(self, *, settings: ServerSettings, session: tev.TranslationSession, send: Send):
        self._settings = settings
        self.config = session
        self._send = send
        self._buffer = InputAudioBuffer(rate=RATE)
        self._pending: collections.deque[_Pending] = collections.deque()
        self._credit = 0  # input bytes received since the last output step
        self.closed = False

    def open(self) -> None:
        """Send ``session.created``."""
        self._send(tev.SessionCreatedEvent(event_id=new_id("event"), session=self.config))

    def _elapsed(self) -> int:
        return self._buffer.ms(self._buffer.end)

    def handle(self, event: tev.ClientEvent | UnknownClientEvent, raw: dict[str, Any]) -> None:
        """Act on one client event.

        Raises:
            ServerErrorInfo: The event is invalid here; the caller sends the ``error``.
        """
        if isinstance(event, UnknownClientEvent):
            raise ServerErrorInfo(
                f"Invalid value: '{event.type}'. Supported values are: "
                + ", ".join(f"'{name}'" for name in tev.CLIENT_EVENT_TYPES)
                + ".",
                code="invalid_value",
                param="type",
            )
        if self.closed:
            raise ServerErrorInfo("The session is closing.", code="session_closed")
        if isinstance(event, tev.SessionUpdateEvent):
            self._update(event, raw)
        elif isinstance(event, tev.SessionInputAudioBufferAppendEvent):
            self._append(event.audio)
        else:
            self.close()

    # --- configuration -------------------------------------------------------------------------

    def _update(self, event: tev.SessionUpdateEvent, raw: dict[str, Any]) -> None:
        session = raw.get("session")
        if isinstance(session, dict) and "model" in session:
            raise ServerErrorInfo(
                "The model of a translation session is fixed when it is created; "
                "session.update cannot change it.",
                code="invalid_value",
                param="session.model",
            )
        audio = event.session.audio
        current = self.config.audio
        cur_in = current.input or tev.TranslationAudioInput()
        cur_out = current.output or tev.TranslationAudioOutput()
        if audio is not None and audio.output is not None and audio.output.language is not None:
            language = audio.output.language
            if not language.strip():
                raise ServerErrorInfo(
                    "Invalid value: ''. The language must be a language code such as 'es'.",
                    code="invalid_value",
                    param="session.audio.output.language",
                )
            cur_out = tev.TranslationAudioOutput(language=language)
        if audio is not None and audio.input is not None:
            noise = audio.input.noise_reduction
            if isinstance(noise, NoiseReduction) and noise.type is None:
                raise ServerErrorInfo(
                    "Missing required parameter: 'session.audio.input.noise_reduction.type'.",
                    code="missing_required_parameter",
                    param="session.audio.input.noise_reduction.type",
                )
            cur_in = tev.TranslationAudioInput(
                noise_reduction=cur_in.noise_reduction if noise is UNSET else noise,
                transcription=cur_in.transcription
                if audio.input.transcription is UNSET
                else audio.input.transcription,
            )
        self.config = attrs.evolve(
            self.config, audio=tev.TranslationAudio(input=cur_in, output=cur_out)
        )
        self._send(tev.SessionUpdatedEvent(event_id=new_id("event"), session=self.config))

    @property
    def language(self) -> str:
        output = self.config.audio.output
        return (output.language if output is not None else None) or DEFAULT_LANGUAGE

    @property
    def transcribing(self) -> bool:
        audio_in = self.config.audio.input
        return audio_in is not None and isinstance(
            audio_in.transcription, tev.TranslationTranscription
        )

    # --- audio ---------------------------------------------------------------------------------

    def _append(self, pcm16: bytes) -> None:
        if len(pcm16) % 2:
            raise ServerErrorInfo(
                "Invalid audio: PCM16 audio must have an even number of bytes.",
                code="invalid_value",
                param="audio",
            )
        for change in self._buffer.append(pcm16, _VAD):
            if change.kind == "stopped":
                end = self._buffer.samples(change.ms)
                self._translate(self._buffer.take(end, prefix_ms=_VAD.prefix_padding_ms))
        if not self._buffer.in_speech:  # keep only the padding before speech may start
            keep = self._buffer.samples(_VAD.prefix_padding_ms)
            self._buffer.take(max(self._buffer.start, self._buffer.end - keep))
        self._credit += len(pcm16)
        while self._pending and self._credit >= _STEP_BYTES:
            self._credit -= _STEP_BYTES
            self._step()
        if not self._pending:
            self._credit = 0

    def _translate(self, pcm16: bytes) -> None:
        heard = self._settings.transcript_for(pcm16, RATE)
        if not heard or not heard.strip():
            return
        elapsed = self._elapsed()
        if self.transcribing:
            for word in _words(heard):
                self._send(
                    tev.SessionInputTranscriptDeltaEvent(
                        event_id=new_id("event"), delta=word, elapsed_ms=elapsed
                    )
                )
        translated = f"[{self.language}] {heard.strip()}"
        audio = synthesize(translated, RATE, engine=self._settings.speech_engine)
        steps = max(1, -(-len(audio) // _STEP_BYTES))
        self._pending.append(_Pending(audio=audio, words=_words(translated), steps=steps))

    def _step(self) -> None:
        pending = self._pending[0]
        audio, text = pending.release()
        elapsed = self._elapsed()
        if text:
            self._send(
                tev.SessionOutputTranscriptDeltaEvent(
                    event_id=new_id("event"), delta=text, elapsed_ms=elapsed
                )
            )
        if audio:
            self._send(
                tev.SessionOutputAudioDeltaEvent(
                    event_id=new_id("event"),
                    delta=audio,
                    format="pcm16",
                    sample_rate=RATE,
                    channels=1,
                    elapsed_ms=elapsed,
                )
            )
        if pending.finished:
            self._pending.popleft()

    def close(self) -> None:
        """``session.close``: translate what is left, flush the output, send ``session.closed``."""
        if self._buffer.in_speech:
            self._translate(self._buffer.take(prefix_ms=_VAD.prefix_padding_ms))
        while self._pending:
            self._step()
        self.closed = True
        self._send(tev.SessionClosedEvent(event_id=new_id("event")))
