"""Responses, usage, rate limits and errors.

:class:`ResponseOptions` is what a client asks for in ``response.create``;
:class:`Response` is the server's object in ``response.created`` and
``response.done``. They are separate on purpose: the options are a request,
the response is a record with an id, a status, output items and usage.
"""

from __future__ import annotations

from typing import Literal, Union

from attrs import field, frozen

from ._base import UNSET, Unset, WireObject
from .items import ConversationItem, ResponseInputItem
from .sessions import (
    AudioFormat,
    MaxOutputTokens,
    Modality,
    Prompt,
    Reasoning,
    Tool,
    ToolChoice,
    Voice,
)

__all__ = [
    "CachedTokenDetails",
    "Conversation",
    "ErrorDetails",
    "InputTokenDetails",
    "LogProb",
    "OutputTokenDetails",
    "RateLimit",
    "Response",
    "ResponseAudio",
    "ResponseAudioOptions",
    "ResponseAudioOutput",
    "ResponseAudioOutputOptions",
    "ResponseContentPart",
    "ResponseOptions",
    "ResponseStatus",
    "ResponseStatusDetails",
    "ResponseStatusError",
    "TranscriptionDurationUsage",
    "TranscriptionError",
    "TranscriptionInputTokenDetails",
    "TranscriptionLanguage",
    "TranscriptionTokenUsage",
    "TranscriptionUsage",
    "Usage",
]

ResponseStatus = Literal["completed", "cancelled", "failed", "incomplete", "in_progress"]
"""Where a response stands; ``in_progress`` until ``response.done``."""

# --- response.create ------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class ResponseAudioOutputOptions(WireObject):
    """Output audio settings for one response."""

    format: AudioFormat | None = None
    voice: Voice | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseAudioOptions(WireObject):
    """Audio settings for one response."""

    output: ResponseAudioOutputOptions | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOptions(WireObject):
    """The parameters of ``response.create``: overrides for one response.

    Everything is optional; unset fields inherit the session's configuration.
    ``conversation="none"`` makes an out-of-band response that adds nothing to
    the default conversation (tell such responses apart with ``metadata``);
    ``input`` gives the response its own context instead of the conversation.
    """

    output_modalities: list[Modality] | None = None
    instructions: str | None = None
    audio: ResponseAudioOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: MaxOutputTokens | None = None
    conversation: str | None = None
    """``"auto"`` (the default conversation), ``"none"`` (out of band) or a conversation id."""
    metadata: dict[str, str] | Unset | None = UNSET
    """Up to 16 string pairs, echoed on the :class:`Response`."""
    prompt: Prompt | Unset | None = UNSET
    reasoning: Reasoning | None = None
    input: list[ResponseInputItem] | None = None


# --- the server's response object ------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class ResponseStatusError(WireObject):
    """Why a response failed."""

    type: str | None = None
    code: str | None = None
    message: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseStatusDetails(WireObject):
    """More on a response's status: why it was cancelled, cut short or failed."""

    type: Literal["completed", "cancelled", "incomplete", "failed"] | None = None
    reason: str | None = None
    """Why: ``turn_detected``, ``client_cancelled``, ``max_output_tokens`` or
    ``content_filter`` today; a plain string so that a new reason does not fail the event."""
    error: ResponseStatusError | None = None


@frozen(kw_only=True, eq=False, repr=False)
class CachedTokenDetails(WireObject):
    """Cached input tokens by modality."""

    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputTokenDetails(WireObject):
    """Input tokens by modality; ``cached_tokens`` is a subset of the total, not an extra."""

    cached_tokens: int | None = None
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens_details: CachedTokenDetails | None = None


@frozen(kw_only=True, eq=False, repr=False)
class OutputTokenDetails(WireObject):
    """Output tokens by modality."""

    text_tokens: int | None = None
    audio_tokens: int | None = None


@frozen(kw_only=True, eq=False, repr=False)
class Usage(WireObject):
    """Token usage of one response."""

    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_token_details: InputTokenDetails | None = None
    output_token_details: OutputTokenDetails | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseAudioOutput(WireObject):
    """The output audio settings a response used."""

    format: AudioFormat | None = None
    voice: Voice | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseAudio(WireObject):
    """The audio settings a response used."""

    output: ResponseAudioOutput | None = None


@frozen(kw_only=True, eq=False, repr=False)
class Response(WireObject):
    """A response as the server reports it, in ``response.created`` and ``response.done``."""

    id: str | None = None
    object: Literal["realtime.response"] | None = None
    status: ResponseStatus | None = None
    status_details: ResponseStatusDetails | None = None
    output: list[ConversationItem] | None = None
    metadata: dict[str, str] | None = None
    audio: ResponseAudio | None = None
    usage: Usage | None = None
    conversation_id: str | None = None
    """The conversation the output went to; absent for out-of-band responses."""
    output_modalities: list[Modality] | None = None
    max_output_tokens: MaxOutputTokens | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseContentPart(WireObject):
    """A content part of a response, in ``response.content_part.added`` / ``.done``."""

    type: Literal["text", "audio"] | None = None
    text: str | None = None
    audio: bytes | None = None
    transcript: str | None = None


# --- transcription ------------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionInputTokenDetails(WireObject):
    """Input tokens of a transcription by modality."""

    text_tokens: int | None = None
    audio_tokens: int | None = None


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionTokenUsage(WireObject):
    """Transcription usage billed by tokens."""

    type: Literal["tokens"] = field(default="tokens", init=False)
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_token_details: TranscriptionInputTokenDetails | None = None


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionDurationUsage(WireObject):
    """Transcription usage billed by audio duration."""

    type: Literal["duration"] = field(default="duration", init=False)
    seconds: float


TranscriptionUsage = Union[TranscriptionTokenUsage, TranscriptionDurationUsage]
"""Usage of an input transcription, polymorphic on ``type``."""


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionError(WireObject):
    """Why an input transcription failed."""

    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class LogProb(WireObject):
    """The log probability of one transcribed token."""

    token: str
    logprob: float
    bytes: list[int]


@frozen(kw_only=True, eq=False, repr=False)
class TranscriptionLanguage(WireObject):
    """A language detected in the input audio."""

    code: str


# --- session-level records ------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class Conversation(WireObject):
    """The conversation a session holds."""

    id: str | None = None
    object: Literal["realtime.conversation"] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class RateLimit(WireObject):
    """One rate limit's state after a response."""

    name: Literal["requests", "tokens"] | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ErrorDetails(WireObject):
    """The body of a server ``error`` event."""

    type: str
    """For example ``invalid_request_error`` or ``server_error``."""
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None
    """The ``event_id`` of the client event that caused the error, if it had one."""
