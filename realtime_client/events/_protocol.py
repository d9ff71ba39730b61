"""The conversation protocol's converters: its unions, configured on the base converter.

Two variants come from one factory, :func:`_build`, each on its own copy of the base
converter (:meth:`cattrs.Converter.copy`):

- **lenient**, for what a client receives (server events) and for encoding: a nested
  item, content part or tool of a type this version does not know becomes an
  Unknown* placeholder, so a new kind of output item never fails ``response.done``.
- **strict**, for what a server receives (client events, :func:`decode_client_event`):
  such a nested object is an error, since a server must reject what it cannot honour.

Both are built on first use (:class:`Lazy`), not at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

import attrs

from . import client as _client
from . import items as _items
from . import responses as _responses
from . import server as _server
from . import sessions as _sessions
from ._base import (
    UnknownClientEvent,
    UnknownContentPart,
    UnknownItem,
    UnknownServerEvent,
    UnknownTool,
)
from ._converter import (
    FieldError,
    Lazy,
    configure_string_or,
    configure_union,
    json_kind,
    new_converter,
    short,
    structure_int,
)

if TYPE_CHECKING:
    import cattrs

__all__ = ["LENIENT", "STRICT", "ProtocolConverter", "converter"]

T = TypeVar("T")


@attrs.frozen
class ProtocolConverter:
    """One variant: its converter and the hooks that decode whole events."""

    converter: cattrs.Converter
    structure_server_event: Callable[[dict[str, Any], Any], Any]
    """Structures a server event's object whose string ``type`` the caller checked."""
    structure_client_event: Callable[[dict[str, Any], Any], Any]
    """Structures a client event's object whose string ``type`` the caller checked."""


def _structure_max_tokens(value: Any, _: Any) -> int | str:
    if value.__class__ is int:
        return structure_int(value, int)
    if value == "inf":
        return "inf"
    raise FieldError(f"expected an integer or 'inf', got {short(value)}")


def _build(*, lenient: bool) -> ProtocolConverter:
    """The conversation protocol's converter: a copy of the base, with its unions."""
    conv = new_converter()
    s, i = _sessions, _items

    def nested(unknown: type) -> type | None:
        return unknown if lenient else None

    # Nested unions first, so that the mistakes are easy to see; members' hooks are
    # looked up (and generated) when first used, so the order does not change behaviour.
    configure_union(conv, s.AudioFormat, "audio format")
    configure_union(conv, s.TurnDetection, "turn detection")
    configure_union(conv, s.Tool, "tool", default=nested(UnknownTool))
    configure_union(conv, s.SessionConfig, "session")
    configure_union(conv, i.UserContent, "user content part", default=nested(UnknownContentPart))
    configure_union(
        conv, i.AssistantContent, "assistant content part", default=nested(UnknownContentPart)
    )
    configure_union(conv, i.McpCallError, "MCP error")
    configure_union(conv, i.ConversationItem, "conversation item", default=nested(UnknownItem))
    configure_union(conv, i.ResponseInputItem, "response input item", default=nested(UnknownItem))
    configure_union(conv, _responses.TranscriptionUsage, "transcription usage")

    # A string or an object.
    conv.register_structure_hook(s.MaxOutputTokens, _structure_max_tokens)
    configure_string_or(conv, s.Voice, str, s.VoiceId, "a voice name or {'id': ...}")
    choice_objects: Any = Union[s.ToolChoiceFunction, s.ToolChoiceMcp]
    configure_union(conv, choice_objects, "tool choice")
    configure_string_or(
        conv,
        s.ToolChoice,
        Literal["none", "auto", "required"],
        choice_objects,
        "'none', 'auto', 'required' or a tool",
    )
    configure_string_or(
        conv,
        s.Truncation,
        Literal["auto", "disabled"],
        s.RetentionRatioTruncation,
        "'auto', 'disabled' or a retention ratio",
    )
    configure_string_or(
        conv,
        Union[Literal["auto"], s.TracingConfig],
        Literal["auto"],
        s.TracingConfig,
        "'auto' or a tracing configuration",
    )
    prompt_inputs: Any = Union[s.PromptInputText, s.PromptInputImage, s.PromptInputFile]
    configure_union(conv, prompt_inputs, "prompt variable")
    configure_string_or(conv, s.PromptVariable, str, prompt_inputs, "a string or an input")
    configure_string_or(
        conv,
        Union[s.McpToolApprovalFilter, Literal["always", "never"]],
        Literal["always", "never"],
        s.McpToolApprovalFilter,
        "'always', 'never' or an approval filter",
    )
    tool_names = conv.get_structure_hook(list[str])
    tool_filter = conv.get_structure_hook(s.McpToolFilter)

    def structure_allowed_tools(value: Any, _: Any) -> Any:
        if value.__class__ is list:
            return tool_names(value, list[str])
        if value.__class__ is dict:
            return tool_filter(value, s.McpToolFilter)
        raise FieldError(f"expected a list of tool names or a filter, got {json_kind(value)}")

    conv.register_structure_hook(Union[list[str], s.McpToolFilter], structure_allowed_tools)

    # The events themselves: an unknown type is an Unknown*Event in both variants.
    server = configure_union(conv, _server.ServerEvent, "server event", default=UnknownServerEvent)
    client = configure_union(conv, _client.ClientEvent, "client event", default=UnknownClientEvent)
    return ProtocolConverter(
        converter=conv, structure_server_event=server, structure_client_event=client
    )


LENIENT: Lazy[ProtocolConverter] = Lazy(lambda: _build(lenient=True))
"""For server events, encoding and the REST answers: unknown nested types are kept."""

STRICT: Lazy[ProtocolConverter] = Lazy(lambda: _build(lenient=False))
"""For client events decoded by a server: unknown nested types are errors."""


class _LenientConverter:
    """The lenient converter's ``structure`` and ``unstructure``, built on first use."""

    __slots__ = ()

    def structure(self, obj: Any, cl: type[T]) -> T:
        """Structure ``obj`` as ``cl`` (see :meth:`cattrs.Converter.structure`)."""
        return LENIENT.get().converter.structure(obj, cl)

    def unstructure(self, obj: Any, unstructure_as: Any = None) -> Any:
        """Unstructure ``obj`` (see :meth:`cattrs.Converter.unstructure`)."""
        return LENIENT.get().converter.unstructure(obj, unstructure_as=unstructure_as)


converter = _LenientConverter()
"""For the package's REST helpers; others use the four functions of the events package."""
