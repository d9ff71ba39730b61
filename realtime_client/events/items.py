"""Conversation items and their content parts.

An item is one entry of the conversation: a message (system, user or
assistant), a function call and its output, or one of the MCP items. Items
are polymorphic on ``type`` (and messages, further, on ``role``); content
parts are polymorphic on their own ``type``. Audio in content parts is
``bytes`` here and base64 on the wire.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from attrs import field, frozen

from ._base import UNSET, UnknownContentPart, UnknownItem, Unset, WireObject

__all__ = [
    "AssistantContent",
    "AssistantMessageItem",
    "ConversationItem",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "InputAudioContent",
    "InputImageContent",
    "InputTextContent",
    "ItemReference",
    "ItemStatus",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallError",
    "McpCallItem",
    "McpHttpError",
    "McpListToolsItem",
    "McpProtocolError",
    "McpToolExecutionError",
    "McpToolInfo",
    "OutputAudioContent",
    "OutputTextContent",
    "ResponseInputItem",
    "SystemMessageItem",
    "UserContent",
    "UserMessageItem",
]

ItemStatus = Literal["completed", "incomplete", "in_progress"]
"""The status of an item: ``completed``, ``incomplete`` or ``in_progress``."""


# --- content parts -----------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class InputTextContent(WireObject):
    """Text typed by the user (or given as system instructions)."""

    type: Literal["input_text"] = field(default="input_text", init=False)
    text: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class InputAudioContent(WireObject):
    """Audio from the user, in the session's input format."""

    type: Literal["input_audio"] = field(default="input_audio", init=False)
    audio: bytes | None = None
    """The audio bytes; the server omits them when it reports items back."""
    transcript: str | None = None
    """The transcript, when input transcription produced one."""


@frozen(kw_only=True, eq=False, repr=False)
class InputImageContent(WireObject):
    """An image from the user, as a ``data:`` URI (PNG or JPEG)."""

    type: Literal["input_image"] = field(default="input_image", init=False)
    image_url: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


@frozen(kw_only=True, eq=False, repr=False)
class OutputTextContent(WireObject):
    """Text the model wrote."""

    type: Literal["output_text"] = field(default="output_text", init=False)
    text: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class OutputAudioContent(WireObject):
    """Audio the model spoke, with its transcript."""

    type: Literal["output_audio"] = field(default="output_audio", init=False)
    audio: bytes | None = None
    transcript: str | None = None


UserContent = Union[InputTextContent, InputAudioContent, InputImageContent, UnknownContentPart]
"""A content part of a user message (:class:`UnknownContentPart` for a new type)."""

AssistantContent = Union[OutputTextContent, OutputAudioContent, UnknownContentPart]
"""A content part of an assistant message (:class:`UnknownContentPart` for a new type)."""


# --- messages --------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class SystemMessageItem(WireObject):
    """A system message: instructions placed in the conversation."""

    type: Literal["message"] = field(default="message", init=False)
    role: Literal["system"] = field(default="system", init=False)
    content: list[InputTextContent]
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


@frozen(kw_only=True, eq=False, repr=False)
class UserMessageItem(WireObject):
    """A message from the user: text, audio or images."""

    type: Literal["message"] = field(default="message", init=False)
    role: Literal["user"] = field(default="user", init=False)
    content: list[UserContent]
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


@frozen(kw_only=True, eq=False, repr=False)
class AssistantMessageItem(WireObject):
    """A message from the model: text, or audio with its transcript."""

    type: Literal["message"] = field(default="message", init=False)
    role: Literal["assistant"] = field(default="assistant", init=False)
    content: list[AssistantContent]
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


# --- function calls ------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class FunctionCallItem(WireObject):
    """The model calling one of the session's function tools."""

    type: Literal["function_call"] = field(default="function_call", init=False)
    name: str
    arguments: str
    """The arguments as JSON text, exactly as the model wrote them."""
    call_id: str | None = None
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


@frozen(kw_only=True, eq=False, repr=False)
class FunctionCallOutputItem(WireObject):
    """The result of a function call, sent back to the model."""

    type: Literal["function_call_output"] = field(default="function_call_output", init=False)
    call_id: str
    output: str
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


# --- MCP --------------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class McpToolInfo(WireObject):
    """One tool an MCP server offers."""

    name: str
    input_schema: dict[str, Any]
    description: str | Unset | None = UNSET
    annotations: dict[str, Any] | Unset | None = UNSET


@frozen(kw_only=True, eq=False, repr=False)
class McpListToolsItem(WireObject):
    """The tools an MCP server listed."""

    type: Literal["mcp_list_tools"] = field(default="mcp_list_tools", init=False)
    server_label: str
    tools: list[McpToolInfo]
    id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class McpProtocolError(WireObject):
    """An MCP call failed at the protocol level."""

    type: Literal["protocol_error"] = field(default="protocol_error", init=False)
    code: int
    message: str


@frozen(kw_only=True, eq=False, repr=False)
class McpToolExecutionError(WireObject):
    """An MCP tool raised while running."""

    type: Literal["tool_execution_error"] = field(default="tool_execution_error", init=False)
    message: str


@frozen(kw_only=True, eq=False, repr=False)
class McpHttpError(WireObject):
    """An MCP server answered with an HTTP error."""

    type: Literal["http_error"] = field(default="http_error", init=False)
    code: int
    message: str


McpCallError = Union[McpProtocolError, McpToolExecutionError, McpHttpError]
"""Why an MCP call failed."""


@frozen(kw_only=True, eq=False, repr=False)
class McpCallItem(WireObject):
    """A call the model made to an MCP tool, with its output or error."""

    type: Literal["mcp_call"] = field(default="mcp_call", init=False)
    id: str
    server_label: str
    name: str
    arguments: str
    approval_request_id: str | Unset | None = UNSET
    output: str | Unset | None = UNSET
    error: McpCallError | Unset | None = UNSET


@frozen(kw_only=True, eq=False, repr=False)
class McpApprovalRequestItem(WireObject):
    """The model asking for approval before calling an MCP tool."""

    type: Literal["mcp_approval_request"] = field(default="mcp_approval_request", init=False)
    id: str
    server_label: str
    name: str
    arguments: str


@frozen(kw_only=True, eq=False, repr=False)
class McpApprovalResponseItem(WireObject):
    """The client's answer to an :class:`McpApprovalRequestItem`."""

    type: Literal["mcp_approval_response"] = field(default="mcp_approval_response", init=False)
    id: str
    approval_request_id: str
    approve: bool
    reason: str | Unset | None = UNSET


ConversationItem = Union[
    SystemMessageItem,
    UserMessageItem,
    AssistantMessageItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    McpApprovalResponseItem,
    McpListToolsItem,
    McpCallItem,
    McpApprovalRequestItem,
    UnknownItem,
]
"""Any conversation item, polymorphic on ``type`` (and on ``role`` for messages).

Server events carry :class:`UnknownItem` for an item type this version does not know."""


@frozen(kw_only=True, eq=False, repr=False)
class ItemReference(WireObject):
    """A reference to an item already in the conversation, by id.

    Only ``response.create``'s ``input`` accepts it.
    """

    type: Literal["item_reference"] = field(default="item_reference", init=False)
    id: str


ResponseInputItem = Union[ConversationItem, ItemReference]
"""What ``response.create``'s ``input`` list holds: items, or references to them."""
