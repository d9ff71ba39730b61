"""Client events: what a client sends to the server (11 types)."""

from __future__ import annotations

from typing import Literal, Union

from attrs import field, frozen

from ._base import WireObject
from .items import ConversationItem
from .responses import ResponseOptions
from .sessions import SessionConfig

__all__ = [
    "ClientEvent",
    "ConversationItemCreateEvent",
    "ConversationItemDeleteEvent",
    "ConversationItemRetrieveEvent",
    "ConversationItemTruncateEvent",
    "InputAudioBufferAppendEvent",
    "InputAudioBufferClearEvent",
    "InputAudioBufferCommitEvent",
    "OutputAudioBufferClearEvent",
    "ResponseCancelEvent",
    "ResponseCreateEvent",
    "SessionUpdateEvent",
]


@frozen(kw_only=True, eq=False, repr=False)
class SessionUpdateEvent(WireObject):
    """Change the session's configuration; the server answers ``session.updated``."""

    type: Literal["session.update"] = field(default="session.update", init=False)
    session: SessionConfig
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferAppendEvent(WireObject):
    """Append audio to the input buffer (no answer from the server)."""

    type: Literal["input_audio_buffer.append"] = field(
        default="input_audio_buffer.append", init=False
    )
    audio: bytes
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferCommitEvent(WireObject):
    """Commit the input buffer as a user message item (manual turns)."""

    type: Literal["input_audio_buffer.commit"] = field(
        default="input_audio_buffer.commit", init=False
    )
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioBufferClearEvent(WireObject):
    """Discard the audio in the input buffer."""

    type: Literal["input_audio_buffer.clear"] = field(
        default="input_audio_buffer.clear", init=False
    )
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class OutputAudioBufferClearEvent(WireObject):
    """Stop the audio the server is playing (WebRTC and SIP only)."""

    type: Literal["output_audio_buffer.clear"] = field(
        default="output_audio_buffer.clear", init=False
    )
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemCreateEvent(WireObject):
    """Add an item to the conversation, after ``previous_item_id`` if given."""

    type: Literal["conversation.item.create"] = field(
        default="conversation.item.create", init=False
    )
    item: ConversationItem
    event_id: str | None = None
    previous_item_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemRetrieveEvent(WireObject):
    """Ask the server for an item as it stands now."""

    type: Literal["conversation.item.retrieve"] = field(
        default="conversation.item.retrieve", init=False
    )
    item_id: str
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemTruncateEvent(WireObject):
    """Cut an assistant audio item at ``audio_end_ms``: what the user really heard."""

    type: Literal["conversation.item.truncate"] = field(
        default="conversation.item.truncate", init=False
    )
    item_id: str
    content_index: int
    audio_end_ms: int
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ConversationItemDeleteEvent(WireObject):
    """Remove an item from the conversation."""

    type: Literal["conversation.item.delete"] = field(
        default="conversation.item.delete", init=False
    )
    item_id: str
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseCreateEvent(WireObject):
    """Ask the model for a response, optionally with per-response options."""

    type: Literal["response.create"] = field(default="response.create", init=False)
    event_id: str | None = None
    response: ResponseOptions | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseCancelEvent(WireObject):
    """Cancel the active response (or the one named by ``response_id``)."""

    type: Literal["response.cancel"] = field(default="response.cancel", init=False)
    event_id: str | None = None
    response_id: str | None = None


ClientEvent = Union[
    SessionUpdateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferClearEvent,
    OutputAudioBufferClearEvent,
    ConversationItemCreateEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    ConversationItemDeleteEvent,
    ResponseCreateEvent,
    ResponseCancelEvent,
]
"""Any client event, polymorphic on ``type``."""
