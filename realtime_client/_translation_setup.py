"""Checking a translation session's arguments, and the message view of its events.

Everything here runs before a socket opens (:func:`build_update`) or is pure
(:func:`message_for`), so :mod:`realtime_client.translation` keeps only the
session's lifecycle.
"""

from __future__ import annotations

import re
import typing
from typing import Any, Final, Literal

from .events import translation as tev
from .events.sessions import NoiseReduction
from .messages import ConversationMessage, MessageKind

__all__ = [
    "DEFAULT_TRANSLATION_MODEL",
    "NoiseReductionArg",
    "TranscriptionArg",
    "build_update",
    "check_language",
    "check_model",
    "initial_update",
    "message_for",
]

DEFAULT_TRANSLATION_MODEL: Final = "gpt-realtime-translate"
"""The model used when ``start_translation`` is given none."""

TranscriptionArg = typing.Union[str, tev.TranslationTranscription, None]
"""A transcription model name, a ``TranslationTranscription``, or None."""

NoiseReductionArg = typing.Union[Literal["near_field", "far_field"], NoiseReduction, None]
"""``"near_field"``, ``"far_field"``, a ``NoiseReduction``, or None."""

# BCP 47 in short: a 2-3 letter language, then optional subtags (es, pt-BR, zh-Hant-TW).
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


def check_model(model: object) -> str:
    """The model name, or ValueError naming what is wrong with it."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be a non-empty string, got {model!r}")
    return model


def check_language(language: object) -> str:
    """The target language code, or ValueError naming what is wrong with it."""
    if not isinstance(language, str):
        raise ValueError(f"language must be a language code such as 'es', got {language!r}")
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(
            f"language must be a language code such as 'es' or 'pt-BR', got {language!r}"
        )
    return language


def _transcription(value: object) -> tev.TranslationTranscription | None:
    if value is None or isinstance(value, tev.TranslationTranscription):
        if value is not None:
            check_model(value.model)
        return value
    if isinstance(value, str):
        return tev.TranslationTranscription(model=check_model(value))
    raise ValueError(
        "input_transcription must be a transcription model name (such as "
        f"'gpt-4o-transcribe'), a TranslationTranscription or None, got {value!r}"
    )


def _noise_reduction(value: object) -> NoiseReduction | None:
    if value is None:
        return None
    if value in ("near_field", "far_field"):
        return NoiseReduction(type=typing.cast(Any, value))
    if isinstance(value, NoiseReduction):
        if value.type not in ("near_field", "far_field"):
            raise ValueError("noise_reduction.type must be 'near_field' or 'far_field'")
        strength = value.strength
        if strength is not None and (
            isinstance(strength, bool) or not isinstance(strength, (int, float))
        ):
            raise ValueError(f"noise_reduction.strength must be a number, got {strength!r}")
        return value
    raise ValueError(
        "noise_reduction must be 'near_field', 'far_field', a NoiseReduction or None, "
        f"got {value!r}"
    )


_KEEP: Final = object()
"""Marks an argument of :func:`build_update` that was not given: the field is left out."""


def build_update(
    *,
    language: object = _KEEP,
    input_transcription: object = _KEEP,
    noise_reduction: object = _KEEP,
) -> tev.SessionUpdateEvent:
    """The ``session.update`` for the given settings, checked; arguments not given stay out.

    ``None`` for ``input_transcription`` or ``noise_reduction`` turns it off
    (written as ``null``).

    Raises:
        ValueError: An argument is not valid (the message names it).
    """
    output = None
    if language is not _KEEP:
        output = tev.TranslationAudioOutput(language=check_language(language))
    audio_input = None
    if input_transcription is not _KEEP or noise_reduction is not _KEEP:
        from .events import UNSET

        audio_input = tev.TranslationAudioInput(
            transcription=UNSET
            if input_transcription is _KEEP
            else _transcription(input_transcription),
            noise_reduction=UNSET
            if noise_reduction is _KEEP
            else _noise_reduction(noise_reduction),
        )
    if output is None and audio_input is None:
        raise ValueError(
            "nothing to update: give language, input_transcription or noise_reduction"
        )
    return tev.SessionUpdateEvent(
        session=tev.TranslationSessionUpdate(
            audio=tev.TranslationAudio(input=audio_input, output=output)
        )
    )


def initial_update(
    *, language: object, input_transcription: object, noise_reduction: object
) -> tev.SessionUpdateEvent | None:
    """The settings a new session (or a client secret) starts with; ``None`` ones left out.

    Raises:
        ValueError: An argument is not valid (the message names it).
    """
    given = {
        name: value
        for name, value in (
            ("language", language),
            ("input_transcription", input_transcription),
            ("noise_reduction", noise_reduction),
        )
        if value is not None
    }
    return build_update(**given) if given else None


# --- the message view ------------------------------------------------------------------------


def _build(kind: MessageKind, event: Any, **fields: Any) -> ConversationMessage:
    # ConversationMessage.event is typed for conversation events; a translation
    # event is carried the same way (the view is documented per protocol).
    return ConversationMessage(kind=kind, event=event, **fields)


def message_for(event: tev.ServerEvent | Any) -> ConversationMessage:
    """The :class:`~realtime_client.ConversationMessage` view of a translation event.

    ``session.output_transcript.delta`` is ``TRANSCRIPT_DELTA`` (``transcript``),
    ``session.output_audio.delta`` is ``AUDIO_DELTA`` (``audio``),
    ``session.input_transcript.delta`` is ``INPUT_TRANSCRIPT_DELTA``
    (``input_transcript``), ``error`` is ``ERROR``; the rest is ``OTHER``.
    """
    if isinstance(event, tev.SessionOutputTranscriptDeltaEvent):
        return _build(MessageKind.TRANSCRIPT_DELTA, event, transcript=event.delta)
    if isinstance(event, tev.SessionOutputAudioDeltaEvent):
        return _build(MessageKind.AUDIO_DELTA, event, audio=event.delta)
    if isinstance(event, tev.SessionInputTranscriptDeltaEvent):
        return _build(MessageKind.INPUT_TRANSCRIPT_DELTA, event, input_transcript=event.delta)
    if isinstance(event, tev.ErrorEvent):
        return ConversationMessage.from_event(event)
    return _build(MessageKind.OTHER, event)
