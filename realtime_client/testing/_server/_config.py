"""Session configuration: the service's defaults, and how ``session.update`` merges.

The server keeps each session's configuration as the same attrs classes the
client sends (:class:`~realtime_client.events.RealtimeSessionConfig` and
:class:`~realtime_client.events.TranscriptionSessionConfig`), always complete,
so ``session.created`` and ``session.updated`` report every field.
"""

from __future__ import annotations

import time
from typing import Any, Final, TypeVar

import attrs

from ...events import (
    UNSET,
    AudioConfig,
    AudioFormat,
    AudioInputConfig,
    AudioOutputConfig,
    AudioPCM,
    AudioPCMA,
    AudioPCMU,
    FunctionTool,
    InputTranscription,
    RealtimeSessionConfig,
    SemanticVad,
    ServerVad,
    SessionConfig,
    TranscriptionAudioConfig,
    TranscriptionSessionConfig,
    TurnDetection,
)
from ._util import ServerErrorInfo, new_id

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_MODEL",
    "DEFAULT_TRANSCRIPTION_MODEL",
    "VOICES",
    "format_rate",
    "initial_realtime_session",
    "initial_transcription_session",
    "merge_session",
]

DEFAULT_MODEL: Final = "gpt-realtime"
DEFAULT_TRANSCRIPTION_MODEL: Final = "gpt-4o-transcribe"
DEFAULT_INSTRUCTIONS: Final = (
    "You are a helpful, witty, and friendly AI. Act like a human, but remember that you "
    "aren't a human and that you can't do human things in the real world. Your voice and "
    "personality should be warm and engaging, with a lively and playful tone."
)
_T = TypeVar("_T")

VOICES: Final = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}
)


def format_rate(fmt: AudioFormat | None) -> int:
    """The sample rate of an audio format: 24000 for ``audio/pcm``, 8000 for G.711."""
    return 8000 if isinstance(fmt, (AudioPCMU, AudioPCMA)) else 24000


def _server_vad(given: ServerVad | None = None) -> ServerVad:
    base = ServerVad(
        threshold=0.5,
        prefix_padding_ms=300,
        silence_duration_ms=500,
        create_response=True,
        interrupt_response=True,
        idle_timeout_ms=None,
    )
    return base if given is None else _overlay(base, given)


def _semantic_vad(given: SemanticVad | None = None) -> SemanticVad:
    base = SemanticVad(eagerness="auto", create_response=True, interrupt_response=True)
    return base if given is None else _overlay(base, given)


def _overlay(base: _T, update: _T) -> _T:
    """``base`` with every field that ``update`` sets (neither None nor UNSET)."""
    changes = {
        f.name: getattr(update, f.name)
        for f in attrs.fields(type(update))  # type: ignore[arg-type]
        if f.init and getattr(update, f.name) is not None and getattr(update, f.name) is not UNSET
    }
    return attrs.evolve(base, **changes)  # type: ignore[misc]


def _pcm() -> AudioPCM:
    return AudioPCM(rate=24000)


def initial_realtime_session(
    *, model: str, max_duration_s: float, now: float | None = None
) -> RealtimeSessionConfig:
    """The complete configuration a new realtime session reports in ``session.created``."""
    created = time.time() if now is None else now
    return RealtimeSessionConfig(
        id=new_id("sess"),
        object="realtime.session",
        expires_at=int(created + max_duration_s),
        model=model,
        instructions=DEFAULT_INSTRUCTIONS,
        output_modalities=["audio"],
        audio=AudioConfig(
            input=AudioInputConfig(
                format=_pcm(),
                noise_reduction=None,
                transcription=None,
                turn_detection=_server_vad(),
            ),
            output=AudioOutputConfig(format=_pcm(), voice="marin", speed=1.0),
        ),
        include=None,
        max_output_tokens="inf",
        tools=[],
        tool_choice="auto",
        tracing=None,
        prompt=None,
        truncation="auto",
    )


def initial_transcription_session(
    *, max_duration_s: float, now: float | None = None
) -> TranscriptionSessionConfig:
    """The complete configuration a new transcription session reports in ``session.created``."""
    created = time.time() if now is None else now
    return TranscriptionSessionConfig(
        id=new_id("sess"),
        object="realtime.transcription_session",
        expires_at=int(created + max_duration_s),
        audio=TranscriptionAudioConfig(
            input=AudioInputConfig(
                format=_pcm(),
                noise_reduction=None,
                transcription=InputTranscription(
                    model=DEFAULT_TRANSCRIPTION_MODEL, language=None, prompt=""
                ),
                turn_detection=_server_vad(),
            )
        ),
        include=None,
    )


def _merge_turn_detection(
    current: TurnDetection | None, update: TurnDetection | None
) -> TurnDetection | None:
    if update is None:
        return None
    if isinstance(update, ServerVad):
        return _overlay(current, update) if isinstance(current, ServerVad) else _server_vad(update)
    if isinstance(current, SemanticVad):
        return _overlay(current, update)
    return _semantic_vad(update)


def _merge_input(current: AudioInputConfig, update: AudioInputConfig | None) -> AudioInputConfig:
    if update is None:
        return current
    changes: dict[str, Any] = {}
    if update.format is not None:
        changes["format"] = _pcm() if isinstance(update.format, AudioPCM) else update.format
    if update.noise_reduction is not UNSET:
        changes["noise_reduction"] = update.noise_reduction
    if update.transcription is not UNSET:
        changes["transcription"] = update.transcription
    if update.turn_detection is not UNSET:
        current_td = current.turn_detection if current.turn_detection is not UNSET else None
        changes["turn_detection"] = _merge_turn_detection(current_td, update.turn_detection)
    return attrs.evolve(current, **changes)


def _check_values(update: SessionConfig) -> None:
    audio_in = update.audio.input if update.audio is not None else None
    td = audio_in.turn_detection if audio_in is not None else UNSET
    if isinstance(td, ServerVad):
        if td.threshold is not None and not 0.0 <= td.threshold <= 1.0:
            raise ServerErrorInfo(
                f"Invalid 'session.audio.input.turn_detection.threshold': number must be "
                f"between 0 and 1, got {td.threshold}.",
                code="invalid_value",
                param="session.audio.input.turn_detection.threshold",
            )
        for name in ("prefix_padding_ms", "silence_duration_ms"):
            value = getattr(td, name)
            if value is not None and value < 0:
                raise ServerErrorInfo(
                    f"Invalid 'session.audio.input.turn_detection.{name}': integer must be "
                    f"at least 0, got {value}.",
                    code="invalid_value",
                    param=f"session.audio.input.turn_detection.{name}",
                )
    if not isinstance(update, RealtimeSessionConfig):
        return
    voice = update.audio.output.voice if update.audio and update.audio.output else None
    if isinstance(voice, str) and voice not in VOICES:
        raise ServerErrorInfo(
            f"Invalid value: '{voice}'. Supported values are: "
            + ", ".join(f"'{v}'" for v in sorted(VOICES))
            + ".",
            code="invalid_value",
            param="session.audio.output.voice",
        )
    mot = update.max_output_tokens
    if isinstance(mot, int) and not 1 <= mot <= 4096:
        raise ServerErrorInfo(
            f"Invalid 'session.max_output_tokens': integer must be between 1 and 4096, got {mot}.",
            code="invalid_value",
            param="session.max_output_tokens",
        )
    for index, tool in enumerate(update.tools or []):
        if isinstance(tool, FunctionTool) and not tool.name:
            raise ServerErrorInfo(
                f"Missing required parameter: 'session.tools[{index}].name'.",
                code="missing_required_parameter",
                param=f"session.tools[{index}].name",
            )


def merge_session(current: SessionConfig, update: SessionConfig) -> SessionConfig:
    """Apply a ``session.update`` to the current configuration.

    Fields the update sets replace the current ones; audio settings merge field
    by field, and a turn detection of the same type keeps the fields the update
    leaves out.

    Raises:
        ServerErrorInfo: The update changes the session's type or holds a value
            the service rejects.
    """
    if update.type != current.type:
        raise ServerErrorInfo(
            f"Cannot update a {current.type} session to a {update.type} session. The session "
            "type is fixed when the session is created.",
            code="invalid_value",
            param="session.type",
        )
    _check_values(update)
    if isinstance(current, TranscriptionSessionConfig):
        assert isinstance(update, TranscriptionSessionConfig)
        assert current.audio is not None
        assert current.audio.input is not None
        new_input = _merge_input(current.audio.input, update.audio.input if update.audio else None)
        include = update.include if update.include is not None else current.include
        return attrs.evolve(
            current, audio=TranscriptionAudioConfig(input=new_input), include=include
        )
    assert isinstance(update, RealtimeSessionConfig)
    assert current.audio is not None
    assert current.audio.input is not None
    assert current.audio.output is not None
    changes: dict[str, Any] = {}
    for f in attrs.fields(RealtimeSessionConfig):
        if f.name in ("type", "audio", "id", "object", "expires_at") or not f.init:
            continue
        value = getattr(update, f.name)
        if value is not None and value is not UNSET:
            changes[f.name] = value
        elif value is None and f.default is UNSET:  # explicit null clears it
            changes[f.name] = None
    if update.audio is not None:
        new_input = _merge_input(current.audio.input, update.audio.input)
        out = current.audio.output
        if update.audio.output is not None:
            out = _overlay(out, update.audio.output)
            if isinstance(out.format, AudioPCM):
                out = attrs.evolve(out, format=_pcm())
        changes["audio"] = AudioConfig(input=new_input, output=out)
    return attrs.evolve(current, **changes)
