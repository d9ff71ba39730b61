"""JSON Schema from a Python signature and Google docstring, and argument conversion back.

Private: :mod:`realtime_client.tools` is the public face.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["ArgumentError", "Signature", "describe", "parse_docstring"]

_SECTION: Final = re.compile(r"^\s*([A-Z][A-Za-z ]*):\s*$")
_ARG_LINE: Final = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_JSON_PRIMITIVES: Final[dict[type, str]] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
}


class ArgumentError(ValueError):
    """The model's arguments do not fit the function; the message says which and why."""


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and its ``Args:`` descriptions.

    Args:
        doc: The docstring, or ``None``.

    Returns:
        The summary (the first paragraph, joined into one line) and a mapping
        of parameter name to description (continuation lines joined).
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line):
            break
        summary.append(line.strip())
    args: dict[str, str] = {}
    in_args = False
    current: str | None = None
    base_indent = 0
    for line in lines:
        section = _SECTION.match(line)
        if section and (len(line) - len(line.lstrip())) == 0:
            in_args = section.group(1) in ("Args", "Arguments", "Parameters")
            current = None
            continue
        if not in_args or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(line.strip())
        if match and (current is None or indent <= base_indent):
            current = match.group(1).lstrip("*")
            base_indent = indent
            args[current] = match.group(3).strip()
        elif current is not None:
            args[current] = f"{args[current]} {line.strip()}".strip()
    return " ".join(summary), args


class Signature:
    """A function's parameters as a JSON Schema, and the way back from JSON to arguments.

    Args:
        fn: The function.
        tool_name: The tool's name, for error messages.
        descriptions: Parameter descriptions, by name.

    Raises:
        TypeError: A parameter cannot be described (``*args``, ``**kwargs``, no
            annotation, or an unsupported type); the message names it.
    """

    def __init__(
        self, fn: Callable[..., Any], *, tool_name: str, descriptions: Mapping[str, str]
    ) -> None:
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except (NameError, TypeError) as exc:
            raise TypeError(f"tool {tool_name!r}: cannot resolve type hints: {exc}") from exc
        self._tool = tool_name
        self._params: dict[str, tuple[Any, bool]] = {}  # name -> (type, positional only)
        self._required: list[str] = []
        properties: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"tool {tool_name!r}: parameter {param.name!r} is variadic; "
                    "give each parameter a name and a type, or pass parameters= explicitly"
                )
            if param.name not in hints:
                raise TypeError(
                    f"tool {tool_name!r}: parameter {param.name!r} has no type annotation"
                )
            tp = hints[param.name]
            where = f"tool {tool_name!r}, parameter {param.name!r}"
            schema = describe(tp, where=where)
            if param.name in descriptions and "description" not in schema:
                schema["description"] = descriptions[param.name]
            if param.default is param.empty:
                self._required.append(param.name)
            else:
                default = (
                    param.default.value
                    if isinstance(param.default, enum.Enum)
                    else (param.default)
                )
                if default is None or isinstance(default, (str, int, float, bool)):
                    schema["default"] = default
            properties[param.name] = schema
            self._params[param.name] = (tp, param.kind is param.POSITIONAL_ONLY)
        self.schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": list(self._required),
            "additionalProperties": False,
        }

    def bind(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Check and convert the model's arguments into a call's positional and keyword lists.

        Raises:
            ArgumentError: An argument is missing, unexpected or of the wrong type.
        """
        unexpected = sorted(set(arguments) - set(self._params))
        if unexpected:
            raise ArgumentError(f"unexpected argument(s): {', '.join(unexpected)}")
        missing = [name for name in self._required if name not in arguments]
        if missing:
            raise ArgumentError(f"missing required argument(s): {', '.join(missing)}")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name, (tp, positional) in self._params.items():
            if name not in arguments:
                continue
            value = convert(arguments[name], tp, where=name)
            if positional:
                args.append(value)
            else:
                kwargs[name] = value
        return args, kwargs


def _strip_annotated(tp: Any) -> tuple[Any, str | None]:
    if typing.get_origin(tp) is typing.Annotated:
        base, *extras = typing.get_args(tp)
        text = next((e for e in extras if isinstance(e, str)), None)
        return base, text
    return tp, None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def describe(tp: Any, *, where: str) -> dict[str, Any]:
    """The JSON Schema of a Python type.

    Supports ``str``, ``int``, ``float``, ``bool``, ``Literal``, ``Enum``,
    ``list[...]`` (and ``tuple[X, ...]``, ``set[...]``), ``dict[str, ...]``,
    ``X | None`` / ``Optional[X]``, ``Any`` and ``Annotated[X, "description"]``.

    Raises:
        TypeError: The type has no JSON Schema here; the message says where.
    """
    tp, text = _strip_annotated(tp)
    schema = _describe(tp, where)
    if text is not None:
        schema["description"] = text
    return schema


def _describe(tp: Any, where: str) -> dict[str, Any]:
    if tp is Any:
        return {}
    if tp in _JSON_PRIMITIVES:
        return {"type": _JSON_PRIMITIVES[tp]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [member.value for member in tp]
        return {**_literal_type(values, where), "enum": values}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return {**_literal_type(list(args), where), "enum": list(args)}
    if _is_union(tp):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1 and len(members) < len(args):
            inner = describe(members[0], where=where)
            kind = inner.get("type")
            if isinstance(kind, str):
                inner["type"] = [kind, "null"]
                if "enum" in inner:
                    inner["enum"] = [*inner["enum"], None]
                return inner
            return {"anyOf": [inner, {"type": "null"}]}
        return {"anyOf": [describe(a, where=where) for a in args]}
    if origin in (list, set, frozenset) or (origin is tuple and len(args) == 2 and args[1] is ...):
        item = args[0] if args else Any
        return {"type": "array", "items": describe(item, where=where)}
    if tp in (list, set, frozenset, tuple):
        return {"type": "array"}
    if origin is dict or tp is dict:
        if args and args[0] is not str:
            raise TypeError(f"{where}: JSON object keys are strings, not {args[0]!r}")
        if args:
            return {"type": "object", "additionalProperties": describe(args[1], where=where)}
        return {"type": "object"}
    raise TypeError(f"{where}: cannot describe type {tp!r} as JSON Schema")


def _literal_type(values: list[Any], where: str) -> dict[str, Any]:
    kinds = {_JSON_PRIMITIVES.get(type(v)) for v in values}
    if None in kinds or not kinds:
        raise TypeError(f"{where}: choices must be strings, numbers or booleans, got {values!r}")
    return {"type": kinds.pop()} if len(kinds) == 1 else {}


def convert(value: Any, tp: Any, *, where: str) -> Any:
    """Check a JSON value against a Python type and convert it (enums, tuples, sets).

    Raises:
        ArgumentError: The value does not fit; the message names the argument.
    """
    tp, _ = _strip_annotated(tp)
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ArgumentError(f"{where}: expected a number, got {_show(value)}")
    if tp in _JSON_PRIMITIVES:
        if type(value) is tp:
            return value
        raise ArgumentError(f"{where}: expected {_JSON_PRIMITIVES[tp]}, got {_show(value)}")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in tp)
            raise ArgumentError(
                f"{where}: expected one of {choices}, got {_show(value)}"
            ) from None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        choices = ", ".join(repr(a) for a in args)
        raise ArgumentError(f"{where}: expected one of {choices}, got {_show(value)}")
    if _is_union(tp):
        if value is None and type(None) in args:
            return None
        problems = []
        for member in (a for a in args if a is not type(None)):
            try:
                return convert(value, member, where=where)
            except ArgumentError as exc:
                problems.append(str(exc))
        raise ArgumentError("; ".join(problems) or f"{where}: got {_show(value)}")
    container = origin or tp
    if container in (list, set, frozenset, tuple):
        if not isinstance(value, list):
            raise ArgumentError(f"{where}: expected an array, got {_show(value)}")
        item = args[0] if args else Any
        items = [convert(v, item, where=f"{where}[{i}]") for i, v in enumerate(value)]
        return items if container is list else container(items)
    if container is dict:
        if not isinstance(value, dict):
            raise ArgumentError(f"{where}: expected an object, got {_show(value)}")
        if len(args) == 2:
            return {k: convert(v, args[1], where=f"{where}.{k}") for k, v in value.items()}
        return value
    return value  # pragma: no cover - describe() rejects every other type first


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
