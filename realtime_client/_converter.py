"""The one cattrs converter: every structuring and unstructuring rule, in one place.

Rules, in the order they are registered:

1. Primitives are strict: a string field takes only a JSON string, an integer
   field only a JSON integer (not a boolean), a number field an integer or a
   float. cattrs' defaults coerce (``int("3")``), which would hide bad frames.
2. ``bytes`` is base64 on the wire (audio), checked strictly when decoding.
3. Lists, dicts and attrs classes check their JSON shape before cattrs' own
   code runs, so a wrong shape is reported as such and never iterated.
4. ``Literal`` fields accept only their listed values, of the listed type.
5. Fields typed ``X | None | Unset`` structure as ``X | None``: :data:`UNSET`
   is the default, never a wire value.
6. Attrs classes unstructure with "omit if default": ``None`` (absent) and
   :data:`UNSET` (not set) are left out, and an explicit ``None`` on a
   nullable field, whose default is UNSET, is written as ``null``. The fixed
   ``type`` (and ``role``) discriminators are always written.
7. Polymorphic unions dispatch on ``type`` (messages also on ``role``) with
   hooks of this module, which look member hooks up when first used: the
   registration order cannot silently change what a union does.
8. The remaining mixed unions (a string or an object) get explicit hooks.
"""

from __future__ import annotations

import binascii
import contextvars
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Final, Literal, Union, get_args, get_origin

import attrs
import cattrs
import pybase64
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .events import client as _client
from .events import items as _items
from .events import responses as _responses
from .events import server as _server
from .events import sessions as _sessions
from .events._base import (
    UnknownClientEvent,
    UnknownContentPart,
    UnknownItem,
    UnknownServerEvent,
    UnknownTool,
    Unset,
    wire_type,
)

__all__ = ["FieldError", "converter", "format_error"]

StructureHook = Callable[[Any, Any], Any]

_JSON_NAMES = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


class FieldError(ValueError):
    """A value of the wrong JSON shape; its message is shown as is."""


def json_kind(value: object) -> str:
    """Name a JSON value's kind for an error message: "a string", "null", ..."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- 1. primitives ------------------------------------------------------------------------


def _structure_str(value: Any, _: Any) -> str:
    if value.__class__ is str:
        return value
    raise FieldError(f"expected a string, got {json_kind(value)}")


_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _structure_int(value: Any, _: Any) -> int:
    if value.__class__ is int:
        if _INT_MIN <= value <= _INT_MAX:
            return value
        raise FieldError("integer out of the 64-bit range")
    raise FieldError(f"expected an integer, got {json_kind(value)}")


def _structure_float(value: Any, _: Any) -> float:
    if value.__class__ is float or value.__class__ is int:
        try:
            number = float(value)
        except OverflowError:
            raise FieldError("number out of range") from None
        if math.isfinite(number):
            return number
        raise FieldError(f"expected a finite number, got {number}")
    raise FieldError(f"expected a number, got {json_kind(value)}")


def _structure_bool(value: Any, _: Any) -> bool:
    if value.__class__ is bool:
        return value
    raise FieldError(f"expected a boolean, got {json_kind(value)}")


def _structure_any(value: Any, _: Any) -> Any:
    return value


# --- 2. bytes as base64 ---------------------------------------------------------------------


def _structure_bytes(value: Any, _: Any) -> bytes:
    if value.__class__ is not str:
        raise FieldError(f"expected base64 text, got {json_kind(value)}")
    try:
        return pybase64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FieldError(f"invalid base64 ({exc})") from None


def _unstructure_bytes(value: bytes) -> str:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise FieldError(f"audio must be bytes, got {type(value).__name__}")
    return pybase64.b64encode_as_string(value)


# --- 3. containers and classes -----------------------------------------------------------------


def _is_list(t: Any) -> bool:
    return get_origin(t) is list


def _is_dict(t: Any) -> bool:
    return get_origin(t) is dict


def _list_hook_factory(t: Any, conv: cattrs.Converter) -> StructureHook:
    inner = list_structure_factory(t, conv)

    def structure_list(value: Any, cl: Any) -> list[Any]:
        if value.__class__ is not list:
            raise FieldError(f"expected an array, got {json_kind(value)}")
        return inner(value, cl)  # type: ignore[no-any-return]

    return structure_list


def _dict_hook_factory(t: Any, conv: cattrs.Converter) -> StructureHook:
    value_type = get_args(t)[1]
    if value_type is Any:

        def structure_json_object(value: Any, _: Any) -> dict[str, Any]:
            if value.__class__ is not dict:
                raise FieldError(f"expected an object, got {json_kind(value)}")
            return value

        return structure_json_object

    value_hook = conv.get_structure_hook(value_type)

    def structure_dict(value: Any, _: Any) -> dict[str, Any]:
        if value.__class__ is not dict:
            raise FieldError(f"expected an object, got {json_kind(value)}")
        out = {}
        for key, item in value.items():
            try:
                out[key] = value_hook(item, value_type)
            except FieldError as exc:
                raise FieldError(f"[{key!r}]: {exc}") from None
        return out

    return structure_dict


def _attrs_structure_factory(cls: Any, conv: cattrs.Converter) -> StructureHook:
    inner = make_dict_structure_fn(cls, conv, _cattrs_detailed_validation=True)

    def structure_object(value: Any, _: Any) -> Any:
        if value.__class__ is not dict:
            raise FieldError(f"expected an object, got {json_kind(value)}")
        return inner(value, cls)

    return structure_object


def _attrs_unstructure_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any], Any]:
    options: dict[str, Any] = {
        a.name: override(omit_if_default=False) for a in attrs.fields(cls) if not a.init
    }
    options.update(_cattrs_omit_if_default=True, _cattrs_include_init_false=True)
    return make_dict_unstructure_fn(cls, conv, **options)


# --- 4. literals ------------------------------------------------------------------------------


def _is_literal(t: Any) -> bool:
    return get_origin(t) is Literal


def _literal_hook_factory(t: Any, _conv: cattrs.Converter) -> StructureHook:
    allowed = frozenset((a.__class__, a) for a in get_args(t))
    shown = ", ".join(repr(a) for a in get_args(t))

    def structure_literal(value: Any, _: Any) -> Any:
        try:
            if (value.__class__, value) in allowed:
                return value
        except TypeError:  # unhashable: a list or an object
            pass
        raise FieldError(f"expected one of {shown}, got {_short(value)}")

    return structure_literal


# --- 5. optional and nullable unions -----------------------------------------------------------


def _is_union(t: Any) -> bool:
    return get_origin(t) in (Union, types.UnionType)


def _is_optional_union(t: Any) -> bool:
    return _is_union(t) and any(a is type(None) or a is Unset for a in get_args(t))


def _optional_hook_factory(t: Any, conv: cattrs.Converter) -> StructureHook:
    rest = tuple(a for a in get_args(t) if a is not type(None) and a is not Unset)
    inner_type: Any = rest[0] if len(rest) == 1 else Union[rest]
    inner = conv.get_structure_hook(inner_type)

    def structure_optional(value: Any, _: Any) -> Any:
        if value is None:
            return None
        return inner(value, inner_type)

    return structure_optional


# --- 7. tagged unions -------------------------------------------------------------------------


_UNKNOWN_NESTED: Final = (UnknownItem, UnknownContentPart, UnknownTool)

strict_nested: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "realtime_client_strict_nested", default=False
)
"""While true, a nested object of an unknown type is an error instead of an Unknown* value.

``decode_client_event`` sets it: a server must reject what it cannot honour, while a
client must keep going when the server sends something new."""


def _tagged_union(
    conv: cattrs.Converter,
    union: Any,
    what: str,
    *,
    default: Callable[[str, dict[str, Any]], Any] | None = None,
) -> None:
    """Register a hook that picks a member of ``union`` by its ``type`` (and ``role``).

    A member that is one of the Unknown* classes is not a tag: it takes, leniently, an
    object of any type the union does not know (unless :data:`strict_nested` is set).
    """
    by_tag: dict[Any, Any] = {}
    by_role: dict[Any, Any] = {}
    lenient: Any = None
    for member in get_args(union):
        if member in _UNKNOWN_NESTED:
            lenient = member
            continue
        tag = wire_type(member)
        if tag == "message":
            by_role[attrs.fields_dict(member)["role"].default] = member
        else:
            by_tag[tag] = member
    tags = ", ".join(repr(t) for t in sorted([*by_tag, *(["message"] if by_role else [])]))
    hooks: dict[Any, StructureHook] = {}

    def structure_tagged(value: Any, _: Any) -> Any:
        if value.__class__ is not dict:
            raise FieldError(f"expected {what} object, got {json_kind(value)}")
        tag = value.get("type")
        member = by_tag.get(tag) if tag.__class__ is str else None
        if member is None and tag == "message" and by_role:
            role = value.get("role")
            member = by_role.get(role) if role.__class__ is str else None
            if member is None:
                roles = ", ".join(repr(r) for r in by_role)
                raise FieldError(f"message role must be one of {roles}, got {_short(role)}")
        if member is None:
            if "type" not in value:
                raise FieldError(f"{what} has no 'type'")
            if default is not None and tag.__class__ is str:
                return default(tag, value)
            if lenient is not None and tag.__class__ is str and not strict_nested.get():
                return lenient(type=tag, raw=value)
            raise FieldError(f"unknown {what} type {_short(tag)}; expected one of {tags}")
        hook = hooks.get(member)
        if hook is None:
            hook = hooks[member] = conv.get_structure_hook(member)
        return hook(value, member)

    conv.register_structure_hook(union, structure_tagged)


# --- 8. mixed unions ------------------------------------------------------------------------


def _string_or(conv: cattrs.Converter, union: Any, strings: Any, obj: Any, what: str) -> None:
    """Register a hook for ``strings | obj``: a (possibly literal) string, or an object."""
    string_hook = conv.get_structure_hook(strings)

    fixed_type = (
        attrs.fields_dict(obj)["type"].default
        if attrs.has(obj) and "type" in attrs.fields_dict(obj)
        else None
    )

    def structure_string_or_object(value: Any, _: Any) -> Any:
        if value.__class__ is str:
            return string_hook(value, strings)
        if value.__class__ is dict:
            tag = value.get("type", fixed_type)
            if fixed_type is not None and tag != fixed_type:
                raise FieldError(f"expected type {fixed_type!r}, got {_short(tag)}")
            return conv.structure(value, obj)
        raise FieldError(f"expected {what}, got {json_kind(value)}")

    conv.register_structure_hook(union, structure_string_or_object)


def _structure_max_tokens(value: Any, _: Any) -> int | str:
    if value.__class__ is int:
        return _structure_int(value, int)
    if value == "inf":
        return "inf"
    raise FieldError(f"expected an integer or 'inf', got {_short(value)}")


def _copy_json_object(value: dict[str, Any]) -> dict[str, Any]:
    return dict(value)


def _unstructure_unknown(value: Any) -> dict[str, Any]:
    return {**value.raw, "type": value.type}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)

    # 1-2: leaves.
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    # A predicate, not singledispatch: typing.Any is not a class before Python 3.11.
    conv.register_structure_hook_func(lambda t: t is typing.Any, _structure_any)
    conv.register_structure_hook(bytes, _structure_bytes)
    conv.register_unstructure_hook(bytes, _unstructure_bytes)

    # 3-6: shapes.
    conv.register_structure_hook_factory(_is_list, _list_hook_factory)
    conv.register_structure_hook_factory(_is_dict, _dict_hook_factory)
    conv.register_structure_hook_factory(_is_literal, _literal_hook_factory)
    conv.register_structure_hook_factory(_is_optional_union, _optional_hook_factory)
    conv.register_structure_hook_factory(attrs.has, _attrs_structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, _attrs_unstructure_factory)

    # 7: polymorphic unions.
    _tagged_union(conv, _sessions.AudioFormat, "audio format")
    _tagged_union(conv, _sessions.TurnDetection, "turn detection")
    _tagged_union(conv, _sessions.Tool, "tool")
    _tagged_union(conv, _sessions.SessionConfig, "session")
    _tagged_union(conv, _items.UserContent, "user content part")
    _tagged_union(conv, _items.AssistantContent, "assistant content part")
    _tagged_union(conv, _items.McpCallError, "MCP error")
    _tagged_union(conv, _items.ConversationItem, "conversation item")
    _tagged_union(conv, _items.ResponseInputItem, "response input item")
    _tagged_union(conv, _responses.TranscriptionUsage, "transcription usage")
    _tagged_union(
        conv,
        _server.ServerEvent,
        "server event",
        default=lambda tag, raw: UnknownServerEvent(type=tag, raw=raw),
    )
    _tagged_union(
        conv,
        _client.ClientEvent,
        "client event",
        default=lambda tag, raw: UnknownClientEvent(type=tag, raw=raw),
    )
    for unknown in (UnknownServerEvent, UnknownClientEvent, *_UNKNOWN_NESTED):
        conv.register_unstructure_hook(unknown, _unstructure_unknown)

    def structure_unknown_nested(value: Any, cls: Any) -> Any:
        if value.__class__ is not dict or value.get("type").__class__ is not str:
            raise FieldError(f"expected an object with a string 'type', got {json_kind(value)}")
        return cls(type=value["type"], raw=value)

    for unknown in _UNKNOWN_NESTED:
        conv.register_structure_hook(unknown, structure_unknown_nested)

    # 8: a string or an object.
    s = _sessions
    conv.register_structure_hook(_sessions.MaxOutputTokens, _structure_max_tokens)
    _string_or(conv, s.Voice, str, s.VoiceId, "a voice name or {'id': ...}")
    _string_or(
        conv,
        s.ToolChoice,
        Literal["none", "auto", "required"],
        Union[s.ToolChoiceFunction, s.ToolChoiceMcp],
        "'none', 'auto', 'required' or a tool",
    )
    _tagged_union(conv, Union[s.ToolChoiceFunction, s.ToolChoiceMcp], "tool choice")
    _string_or(
        conv,
        s.Truncation,
        Literal["auto", "disabled"],
        s.RetentionRatioTruncation,
        "'auto', 'disabled' or a retention ratio",
    )
    _string_or(
        conv,
        Union[Literal["auto"], s.TracingConfig],
        Literal["auto"],
        s.TracingConfig,
        "'auto' or a tracing configuration",
    )
    prompt_inputs = Union[s.PromptInputText, s.PromptInputImage, s.PromptInputFile]
    _tagged_union(conv, prompt_inputs, "prompt variable")
    _string_or(conv, s.PromptVariable, str, prompt_inputs, "a string or an input")
    _string_or(
        conv,
        Union[s.McpToolApprovalFilter, Literal["always", "never"]],
        Literal["always", "never"],
        s.McpToolApprovalFilter,
        "'always', 'never' or an approval filter",
    )

    def structure_allowed_tools(value: Any, _: Any) -> Any:
        if value.__class__ is list:
            return conv.structure(value, list[str])
        if value.__class__ is dict:
            return conv.structure(value, s.McpToolFilter)
        raise FieldError(f"expected a list of tool names or a filter, got {json_kind(value)}")

    conv.register_structure_hook(Union[list[str], s.McpToolFilter], structure_allowed_tools)

    # JSON-valued fields ("parameters", "metadata", ...) are JSON already: no walk.
    conv.register_unstructure_hook_factory(
        lambda t: _is_dict(t) and get_args(t)[1] is Any, lambda _t, _c: _copy_json_object
    )
    return conv


converter: cattrs.Converter = _make_converter()
"""The converter. Use the four functions of :mod:`realtime_client.events`, not this."""


def format_error(exc: BaseException) -> tuple[str, ...]:
    """Turn a structuring failure into one line per problem, each ending with its path."""

    def describe(err: BaseException, type_: Any) -> str:
        if isinstance(err, FieldError):
            return str(err)
        if isinstance(err, KeyError):
            return "required field missing"
        if isinstance(err, RecursionError):
            return "nested too deeply"
        return cattrs.v.format_exception(err, type_)

    return tuple(cattrs.transform_error(exc, path="$", format_exception=describe))
