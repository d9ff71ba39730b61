"""Server events about responses: their lifecycle, output items, content and tool calls.

Re-exported by :mod:`realtime_client.events.server`, which holds the union of all
server events.
"""

from __future__ import annotations

from typing import Literal

from attrs import field, frozen

from ._base import WireObject
from .items import ConversationItem
from .responses import Response, ResponseContentPart

__all__ = [
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
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
]


@frozen(kw_only=True, eq=False, repr=False)
class ResponseCreatedEvent(WireObject):
    """A response started; its status is ``in_progress``."""

    type: Literal["response.created"] = field(default="response.created", init=False)
    event_id: str
    response: Response


@frozen(kw_only=True, eq=False, repr=False)
class ResponseDoneEvent(WireObject):
    """A response ended: completed, cancelled, incomplete or failed, with usage."""

    type: Literal["response.done"] = field(default="response.done", init=False)
    event_id: str
    response: Response


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputItemAddedEvent(WireObject):
    """A response added an output item."""

    type: Literal["response.output_item.added"] = field(
        default="response.output_item.added", init=False
    )
    event_id: str
    response_id: str
    output_index: int
    item: ConversationItem


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputItemDoneEvent(WireObject):
    """A response's output item is complete."""

    type: Literal["response.output_item.done"] = field(
        default="response.output_item.done", init=False
    )
    event_id: str
    response_id: str
    output_index: int
    item: ConversationItem


@frozen(kw_only=True, eq=False, repr=False)
class ResponseContentPartAddedEvent(WireObject):
    """A content part was added to an assistant item."""

    type: Literal["response.content_part.added"] = field(
        default="response.content_part.added", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ResponseContentPart


@frozen(kw_only=True, eq=False, repr=False)
class ResponseContentPartDoneEvent(WireObject):
    """A content part of an assistant item is complete."""

    type: Literal["response.content_part.done"] = field(
        default="response.content_part.done", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    part: ResponseContentPart


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputTextDeltaEvent(WireObject):
    """A piece of response text."""

    type: Literal["response.output_text.delta"] = field(
        default="response.output_text.delta", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputTextDoneEvent(WireObject):
    """The full text of a content part."""

    type: Literal["response.output_text.done"] = field(
        default="response.output_text.done", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    text: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputAudioDeltaEvent(WireObject):
    """A piece of response audio, in the session's output format."""

    type: Literal["response.output_audio.delta"] = field(
        default="response.output_audio.delta", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: bytes


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputAudioDoneEvent(WireObject):
    """The audio of a content part is complete."""

    type: Literal["response.output_audio.done"] = field(
        default="response.output_audio.done", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputAudioTranscriptDeltaEvent(WireObject):
    """A piece of the transcript of response audio."""

    type: Literal["response.output_audio_transcript.delta"] = field(
        default="response.output_audio_transcript.delta", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    delta: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseOutputAudioTranscriptDoneEvent(WireObject):
    """The full transcript of a content part's audio."""

    type: Literal["response.output_audio_transcript.done"] = field(
        default="response.output_audio_transcript.done", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    content_index: int
    transcript: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseFunctionCallArgumentsDeltaEvent(WireObject):
    """A piece of a function call's arguments."""

    type: Literal["response.function_call_arguments.delta"] = field(
        default="response.function_call_arguments.delta", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseFunctionCallArgumentsDoneEvent(WireObject):
    """A function call's complete arguments."""

    type: Literal["response.function_call_arguments.done"] = field(
        default="response.function_call_arguments.done", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    name: str
    arguments: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseMcpCallArgumentsDeltaEvent(WireObject):
    """A piece of an MCP tool call's arguments."""

    type: Literal["response.mcp_call_arguments.delta"] = field(
        default="response.mcp_call_arguments.delta", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    delta: str
    obfuscation: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class ResponseMcpCallArgumentsDoneEvent(WireObject):
    """An MCP tool call's complete arguments."""

    type: Literal["response.mcp_call_arguments.done"] = field(
        default="response.mcp_call_arguments.done", init=False
    )
    event_id: str
    response_id: str
    item_id: str
    output_index: int
    arguments: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseMcpCallInProgressEvent(WireObject):
    """An MCP tool call started."""

    type: Literal["response.mcp_call.in_progress"] = field(
        default="response.mcp_call.in_progress", init=False
    )
    event_id: str
    output_index: int
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseMcpCallCompletedEvent(WireObject):
    """An MCP tool call succeeded."""

    type: Literal["response.mcp_call.completed"] = field(
        default="response.mcp_call.completed", init=False
    )
    event_id: str
    output_index: int
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class ResponseMcpCallFailedEvent(WireObject):
    """An MCP tool call failed."""

    type: Literal["response.mcp_call.failed"] = field(
        default="response.mcp_call.failed", init=False
    )
    event_id: str
    output_index: int
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class McpListToolsInProgressEvent(WireObject):
    """Listing an MCP server's tools started."""

    type: Literal["mcp_list_tools.in_progress"] = field(
        default="mcp_list_tools.in_progress", init=False
    )
    event_id: str
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class McpListToolsCompletedEvent(WireObject):
    """Listing an MCP server's tools succeeded."""

    type: Literal["mcp_list_tools.completed"] = field(
        default="mcp_list_tools.completed", init=False
    )
    event_id: str
    item_id: str


@frozen(kw_only=True, eq=False, repr=False)
class McpListToolsFailedEvent(WireObject):
    """Listing an MCP server's tools failed."""

    type: Literal["mcp_list_tools.failed"] = field(default="mcp_list_tools.failed", init=False)
    event_id: str
    item_id: str
