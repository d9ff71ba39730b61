"""Input audio: the buffer's client events, VAD turns, input transcription, the idle timeout.

:class:`InputAudioHandlers` is the part of :class:`~._session.SessionLogic` that
handles ``input_audio_buffer.append`` / ``commit`` / ``clear``, turns the voice
activity detector's transitions into ``speech_started`` / ``speech_stopped``,
commits user audio items (transcribing them when the session asks), and fires
``idle_timeout_ms``. It is a mixin: it works on the session's own state, on the
connection's worker thread, like the rest of the session logic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal

import attrs

from ...events import (
    UNSET,
    AudioInputConfig,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    InputAudioBufferTimeoutTriggeredEvent,
    InputAudioContent,
    InputTranscription,
    ResponseOptions,
    SemanticVad,
    ServerEvent,
    ServerVad,
    SessionConfig,
    TranscriptionDurationUsage,
    TranscriptionError,
    TranscriptionInputTokenDetails,
    TranscriptionTokenUsage,
    UserMessageItem,
)
from ._audio import decode_input, encode_output
from ._conversation import Conversation, added_and_done
from ._streaming import text_pieces
from ._util import ServerErrorInfo, new_id
from ._vad import InputAudioBuffer, VadSettings

if TYPE_CHECKING:
    from ._settings import ServerSettings
    from ._streaming import ResponseStream

__all__ = ["MIN_COMMIT_MS", "InputAudioHandlers"]

MIN_COMMIT_MS: Final = 100
_SEMANTIC_SILENCE_MS: Final = {"low": 1500, "medium": 800, "auto": 800, "high": 300}


class InputAudioHandlers:
    """The input audio half of a session's logic (a mixin of ``SessionLogic``)."""

    # The session's state this part works on, set up by SessionLogic.__init__.
    config: SessionConfig
    conversation: Conversation
    idle_deadline: float | None
    _settings: ServerSettings
    _send: Callable[[ServerEvent], None]
    _buffer: InputAudioBuffer
    _pending_item_id: str | None
    _transcripts: dict[str, str]
    _stream: ResponseStream | None

    if TYPE_CHECKING:  # provided by SessionLogic

        @property
        def is_realtime(self) -> bool: ...

        def _ev(self) -> str: ...

        def start_response(self, options: ResponseOptions | None) -> None: ...

        def cancel_response(
            self, reason: Literal["turn_detected", "client_cancelled"]
        ) -> None: ...

    # --- configuration ---------------------------------------------------------------

    def _input(self) -> AudioInputConfig:
        audio = self.config.audio
        assert audio is not None
        assert audio.input is not None
        return audio.input

    def _turn_detection(self) -> ServerVad | SemanticVad | None:
        td = self._input().turn_detection
        return None if td is UNSET else td

    def _vad(self) -> VadSettings | None:
        td = self._turn_detection()
        if isinstance(td, ServerVad):
            return VadSettings(
                threshold=td.threshold if td.threshold is not None else 0.5,
                prefix_padding_ms=td.prefix_padding_ms
                if td.prefix_padding_ms is not None
                else 300,
                silence_duration_ms=(
                    td.silence_duration_ms if td.silence_duration_ms is not None else 500
                ),
            )
        if isinstance(td, SemanticVad):
            return VadSettings(
                threshold=0.5,
                prefix_padding_ms=300,
                silence_duration_ms=_SEMANTIC_SILENCE_MS.get(td.eagerness or "auto", 800),
            )
        return None

    # --- client events -----------------------------------------------------------------

    def _on_input_audio_buffer_append(self, event: InputAudioBufferAppendEvent) -> None:
        pcm = decode_input(event.audio, self._input().format)
        for change in self._buffer.append(pcm, self._vad()):
            if change.kind == "started":
                self._speech_started(change.ms)
            else:
                self._speech_stopped(change.ms)

    def _speech_started(self, ms: int) -> None:
        self.idle_deadline = None
        self._pending_item_id = new_id("item")
        # audio_start_ms is where the audio the model gets starts: the detection
        # point less the prefix padding, never before the buffer's first sample.
        vad = self._vad()
        padding = self._buffer.samples(vad.prefix_padding_ms) if vad else 0
        start = max(self._buffer.start, self._buffer.speech_start - padding)
        # The service announces the speech first, then cancels the response it
        # interrupts (its closing events and response.done follow).
        self._send(
            InputAudioBufferSpeechStartedEvent(
                event_id=self._ev(),
                audio_start_ms=self._buffer.ms(start),
                item_id=self._pending_item_id,
            )
        )
        td = self._turn_detection()
        if self._stream is not None and td is not None and td.interrupt_response is not False:
            self.cancel_response("turn_detected")

    def _speech_stopped(self, ms: int) -> None:
        item_id = self._pending_item_id or new_id("item")
        self._pending_item_id = None
        self._send(
            InputAudioBufferSpeechStoppedEvent(
                event_id=self._ev(), audio_end_ms=ms, item_id=item_id
            )
        )
        vad = self._vad()
        end = self._buffer.samples(ms)
        pcm = self._buffer.take(end, prefix_ms=vad.prefix_padding_ms if vad else 0)
        self._commit(pcm, item_id)
        self._auto_respond()

    def _auto_respond(self) -> None:
        td = self._turn_detection()
        auto = td is not None and td.create_response is not False
        if self.is_realtime and auto and self._stream is None:
            self.start_response(None)

    def _on_input_audio_buffer_commit(self, event: InputAudioBufferCommitEvent) -> None:
        held = self._buffer.duration_ms()
        if held < MIN_COMMIT_MS:
            raise ServerErrorInfo(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {held:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
                param=None,
            )
        item_id = self._pending_item_id or new_id("item")
        self._pending_item_id = None
        self._commit(self._buffer.take(), item_id)
        self._buffer.clear()

    def _commit(self, pcm: bytes, item_id: str) -> None:
        fmt = self._input().format
        previous = self.conversation.last_id
        self._send(
            InputAudioBufferCommittedEvent(
                event_id=self._ev(), item_id=item_id, previous_item_id=previous
            )
        )
        item = UserMessageItem(
            id=item_id,
            object="realtime.item",
            status="completed",
            content=[InputAudioContent(audio=encode_output(pcm, self._buffer.rate, fmt))],
        )
        previous = self.conversation.add(item)
        for announced in added_and_done(item, previous):
            self._send(announced)
        transcription = self._input().transcription
        if isinstance(transcription, InputTranscription):
            self._transcribe(item, pcm, transcription)

    def _transcribe(self, item: UserMessageItem, pcm: bytes, config: InputTranscription) -> None:
        assert item.id is not None
        rate = self._buffer.rate
        seconds = len(pcm) / 2 / rate
        text = self._settings.transcript_for(pcm, rate)
        if text is None:
            self._send(
                ConversationItemInputAudioTranscriptionFailedEvent(
                    event_id=self._ev(),
                    item_id=item.id,
                    content_index=0,
                    error=TranscriptionError(
                        type="invalid_request_error",
                        code="audio_unintelligible",
                        message="The audio could not be transcribed.",
                    ),
                )
            )
            return
        for piece in text_pieces(text) if config.model != "whisper-1" else [text]:
            self._send(
                ConversationItemInputAudioTranscriptionDeltaEvent(
                    event_id=self._ev(), item_id=item.id, content_index=0, delta=piece
                )
            )
        usage: TranscriptionTokenUsage | TranscriptionDurationUsage
        if config.model == "whisper-1":
            usage = TranscriptionDurationUsage(seconds=round(seconds, 3))
        else:
            audio_tokens = max(1, int(seconds * 10))
            text_tokens = math.ceil(len(config.prompt or "") / 4)
            out = math.ceil(len(text) / 4)
            usage = TranscriptionTokenUsage(
                input_tokens=audio_tokens + text_tokens,
                output_tokens=out,
                total_tokens=audio_tokens + text_tokens + out,
                input_token_details=TranscriptionInputTokenDetails(
                    text_tokens=text_tokens, audio_tokens=audio_tokens
                ),
            )
        self._send(
            ConversationItemInputAudioTranscriptionCompletedEvent(
                event_id=self._ev(), item_id=item.id, content_index=0, transcript=text, usage=usage
            )
        )
        self._transcripts[item.id] = text
        stored = self.conversation.get(item.id)
        if isinstance(stored, UserMessageItem):
            content = [
                attrs.evolve(p, transcript=text) if isinstance(p, InputAudioContent) else p
                for p in stored.content
            ]
            self.conversation.replace(attrs.evolve(stored, content=content))

    def _on_input_audio_buffer_clear(self, event: InputAudioBufferClearEvent) -> None:
        self._buffer.clear()
        self._pending_item_id = None
        self._send(InputAudioBufferClearedEvent(event_id=self._ev()))

    # --- idle timeout ------------------------------------------------------------------

    def idle_timeout(self) -> None:
        """``idle_timeout_ms`` passed without speech: commit what there is and respond."""
        self.idle_deadline = None
        if self._buffer.in_speech or self._stream is not None:
            return
        item_id = new_id("item")
        self._send(
            InputAudioBufferTimeoutTriggeredEvent(
                event_id=self._ev(),
                audio_start_ms=self._buffer.ms(self._buffer.start),
                audio_end_ms=self._buffer.ms(self._buffer.end),
                item_id=item_id,
            )
        )
        self._commit(self._buffer.take(), item_id)
        self._auto_respond()

    def _arm_idle_timer(self) -> None:
        td = self._turn_detection()
        if isinstance(td, ServerVad) and isinstance(td.idle_timeout_ms, int):
            self.idle_deadline = (
                time.monotonic() + td.idle_timeout_ms / 1000 / self._settings.speed
            )
        else:
            self.idle_deadline = None
