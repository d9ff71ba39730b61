"""Server events: what the server sends to a client (46 types), and their union.

The response events live in a module of their own and are re-exported here."""

from __future__ import annotations

from typing import Literal, Union

from attrs import field, frozen

from ._base import WireObject
from ._server_responses import (
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    McpListToolsInProgressEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
)
from .items import ConversationItem
from .responses import (
    Conversation,
    ErrorDetails,
    LogProb,
    RateLimit,
    TranscriptionError,
    TranscriptionLanguage,
    TranscriptionUsage,
)
from .sessions import SessionConfig

__all__ = [
    "ConversationCreatedEvent",
    "ConversationItemAddedEvent",
    "ConversationItemCreatedEvent",
    "ConversationItemDeletedEvent",
    "ConversationItemDoneEvent",
    "ConversationItemInputAudioTranscriptionCompletedEvent",
    "ConversationItemInputAudioTranscriptionDeltaEvent",
    "ConversationItemInputAudioTranscriptionFailedEvent",
    "ConversationItemInputAudioTranscriptionSegmentEvent",
    "ConversationItemRetrievedEvent",
    "ConversationItemTruncatedEvent",
    "ErrorEvent",
    "InputAudioBufferClearedEvent",
    "InputAudioBufferCommittedEvent",
    "InputAudioBufferDtmfEventReceivedEvent",
    "InputAudioBufferSpeechStartedEvent",
    "InputAudioBufferSpeechStoppedEvent",
    "InputAudioBufferTimeoutTriggeredEvent",
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
    "OutputAudioBufferClearedEvent",
    "OutputAudioBufferStartedEvent",
    "OutputAudioBufferStoppedEvent",
    "RateLimitsUpdatedEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreatedEvent",
    "ResponseDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseOutputAudioDeltaEvent",
    "ResponseOutputAudioDoneEvent",
    "ResponseOutputAudioTranscriptDeltaEvent",
    "ResponseOutputAudioTranscriptDoneEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextDeltaEvent",
    "ResponseOutputTextDoneEvent",
    "ServerEvent",
    "SessionCreatedEvent",
    "SessionUpdatedEvent",
]


@frozen(kw_only=True, eq=False, repr=False)
class ErrorEvent(WireObject):
    """Something went wrong; most errors leave the session open."""

    type: Literal["error"] = field(default="error", init=False)
    event_id: str
    error: ErrorDetails


@frozen(kw_only=True, eq=False, repr=False)
class SessionCreatedEvent(WireObject):
    """The first event of every session, with its full configuration."""

    type: Literal["session.created"] = field(default="session.created", init=False)
    event_id: str
    session: SessionConfig


@frozen(kw_only=True, eq=False, repr=False)
class SessionUpdatedEvent(WireObject):
    """The session's configuration after a ``session.update``."""

    type: Literal["session.updated"] = field(default="session.updated", init=False)
    event_id: str
    session: SessionConfig


@frozen(kw_only=True, eq=False, repr=False)
class ConversationCreatedEvent(WireObject):
    """The session's conversation was created."""

    type: Literal["conversation.created"] = field(default="conversation.created", init=False)
    event_id: str
    conversation: Conversation


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemCreatedEvent(WireObject):
    """An item was created (older form of ``conversation.item.added``)."""

    type: Literal["conversation.item.created"] = field(
        default="conversation.item.created", init=False
    )
    event_id: str
    item: ConversationItem
    previous_item_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemAddedEvent(WireObject):
    """An item was added to the conversation (its content may still grow)."""

    type: Literal["conversation.item.added"] = field(default="conversation.item.added", init=False)
    event_id: str
    item: ConversationItem
    previous_item_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemDoneEvent(WireObject):
    """An item is complete."""

    type: Literal["conversation.item.done"] = field(default="conversation.item.done", init=False)
    event_id: str
    item: ConversationItem
    previous_item_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemRetrievedEvent(WireObject):
    """The answer to ``conversation.item.retrieve``."""

    type: Literal["conversation.item.retrieved"] = field(
        default="conversation.item.retrieved", init=False
    )
    event_id: str
    item: ConversationItem


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemTruncatedEvent(WireObject):
    """An assistant audio item was truncated."""

    type: Literal["conversation.item.truncated"] = field(
        default="conversation.item.truncated", init=False
    )
    event_id: str
    item_id: str
    content_index: int
    audio_end_ms: int


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemDeletedEvent(WireObject):
    """An item was deleted."""

    type: Literal["conversation.item.deleted"] = field(
        default="conversation.item.deleted", init=False
    )
    event_id: str
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemInputAudioTranscriptionCompletedEvent(WireObject):
    """The transcript of a user audio item is complete."""

    type: Literal["conversation.item.input_audio_transcription.completed"] = field(
        default="conversation.item.input_audio_transcription.completed", init=False
    )
    event_id: str
    item_id: str
    content_index: int
    transcript: str
    usage: TranscriptionUsage
    languages: list[TranscriptionLanguage] | None = None
    logprobs: list[LogProb] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemInputAudioTranscriptionDeltaEvent(WireObject):
    """A piece of a user audio item's transcript."""

    type: Literal["conversation.item.input_audio_transcription.delta"] = field(
        default="conversation.item.input_audio_transcription.delta", init=False
    )
    event_id: str
    item_id: str
    content_index: int | None = None
    delta: str | None = None
    logprobs: list[LogProb] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemInputAudioTranscriptionFailedEvent(WireObject):
    """Transcribing a user audio item failed."""

    type: Literal["conversation.item.input_audio_transcription.failed"] = field(
        default="conversation.item.input_audio_transcription.failed", init=False
    )
    event_id: str
    item_id: str
    content_index: int
    error: TranscriptionError


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemInputAudioTranscriptionSegmentEvent(WireObject):
    """A transcribed segment with its speaker (diarization)."""

    type: Literal["conversation.item.input_audio_transcription.segment"] = field(
        default="conversation.item.input_audio_transcription.segment", init=False
    )
    event_id: str
    item_id: str
    content_index: int
    text: str
    id: str
    speaker: str
    start: float
    end: float


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferCommittedEvent(WireObject):
    """The input buffer became a user item (by the client or by VAD)."""

    type: Literal["input_audio_buffer.committed"] = field(
        default="input_audio_buffer.committed", init=False
    )
    event_id: str
    item_id: str
    previous_item_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferClearedEvent(WireObject):
    """The input buffer was cleared."""

    type: Literal["input_audio_buffer.cleared"] = field(
        default="input_audio_buffer.cleared", init=False
    )
    event_id: str


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferSpeechStartedEvent(WireObject):
    """VAD heard speech begin in the input buffer."""

    type: Literal["input_audio_buffer.speech_started"] = field(
        default="input_audio_buffer.speech_started", init=False
    )
    event_id: str
    audio_start_ms: int
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferSpeechStoppedEvent(WireObject):
    """VAD heard speech end in the input buffer."""

    type: Literal["input_audio_buffer.speech_stopped"] = field(
        default="input_audio_buffer.speech_stopped", init=False
    )
    event_id: str
    audio_end_ms: int
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferTimeoutTriggeredEvent(WireObject):
    """No speech for ``idle_timeout_ms``: the server committed and will respond."""

    type: Literal["input_audio_buffer.timeout_triggered"] = field(
        default="input_audio_buffer.timeout_triggered", init=False
    )
    event_id: str
    audio_start_ms: int
    audio_end_ms: int
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferDtmfEventReceivedEvent(WireObject):
    """A DTMF key was pressed on a SIP call.

    .. versionchanged:: 0.2
       ``event_id`` is kept when the server sends one (the protocol reference gives
       this event none).
    """

    type: Literal["input_audio_buffer.dtmf_event_received"] = field(
        default="input_audio_buffer.dtmf_event_received", init=False
    )
    event: str
    received_at: int
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class OutputAudioBufferStartedEvent(WireObject):
    """The server started playing a response's audio (WebRTC and SIP only)."""

    type: Literal["output_audio_buffer.started"] = field(
        default="output_audio_buffer.started", init=False
    )
    event_id: str
    response_id: str


@frozen(kw_only=True, eq=False, repr=False)
class OutputAudioBufferStoppedEvent(WireObject):
    """The server finished playing a response's audio (WebRTC and SIP only)."""

    type: Literal["output_audio_buffer.stopped"] = field(
        default="output_audio_buffer.stopped", init=False
    )
    event_id: str
    response_id: str


@frozen(kw_only=True, eq=False, repr=False)
class OutputAudioBufferClearedEvent(WireObject):
    """The server's output audio was cleared (WebRTC and SIP only)."""

    type: Literal["output_audio_buffer.cleared"] = field(
        default="output_audio_buffer.cleared", init=False
    )
    event_id: str
    response_id: str


@frozen(kw_only=True, eq=False, repr=False)
class RateLimitsUpdatedEvent(WireObject):
    """Rate limits after a response."""

    type: Literal["rate_limits.updated"] = field(default="rate_limits.updated", init=False)
    event_id: str
    rate_limits: list[RateLimit]


ServerEvent = Union[
    ErrorEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    ConversationCreatedEvent,
    ConversationItemCreatedEvent,
    ConversationItemAddedEvent,
    ConversationItemDoneEvent,
    ConversationItemRetrievedEvent,
    ConversationItemTruncatedEvent,
    ConversationItemDeletedEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemInputAudioTranscriptionSegmentEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    InputAudioBufferTimeoutTriggeredEvent,
    InputAudioBufferDtmfEventReceivedEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    OutputAudioBufferClearedEvent,
    RateLimitsUpdatedEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallInProgressEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    McpListToolsInProgressEvent,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
]
"""Any server event of the GA protocol, polymorphic on ``type``."""
