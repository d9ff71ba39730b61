"""The four public codec functions: frames to typed events and back."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, NoReturn, get_args

from ._base import UnknownClientEvent, UnknownServerEvent, wire_type
from ._converter import format_error, json_kind
from ._errors import ProtocolError
from ._protocol import LENIENT, STRICT
from .client import ClientEvent
from .server import ServerEvent

__all__ = [
    "CLIENT_EVENT_TYPES",
    "SERVER_EVENT_TYPES",
    "decode_client_event",
    "decode_server_event",
    "encode_client_event",
    "encode_server_event",
]

CLIENT_EVENT_TYPES: Final = MappingProxyType({wire_type(c): c for c in get_args(ClientEvent)})
"""Every GA client event class, by wire type."""

SERVER_EVENT_TYPES: Final = MappingProxyType({wire_type(c): c for c in get_args(ServerEvent)})
"""Every GA server event class, by wire type."""

_SERVER_UNION: Any = ServerEvent
_CLIENT_UNION: Any = ClientEvent
_RAW_KEPT: Final = 200  # characters of a bad frame kept on the exception, for debugging

Direction = Literal["server", "client"]


class _BadNumber(ValueError):
    pass


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _BadNumber(f"number {text[:20]}... is out of range")
    return value


def _parse_constant(name: str) -> NoReturn:
    raise _BadNumber(f"{name} is not a JSON number")


# Built once: json.loads() with hooks would build a new decoder for every frame.
_DECODER: Final = json.JSONDecoder(parse_float=_parse_float, parse_constant=_parse_constant)
_raw_decode: Final = _DECODER.raw_decode


def _parse(text: str) -> Any:
    """``_DECODER.decode(text)``, without its two whitespace matches for a bare object.

    A frame is one JSON object with nothing around it: ``raw_decode`` alone reads
    it. Anything else (whitespace around it, an error) takes the full path, which
    raises the usual errors.
    """
    try:
        data, end = _raw_decode(text)
    except Exception:  # the full path below raises the right error
        return _DECODER.decode(text)
    if end != len(text):
        return _DECODER.decode(text)
    return data


# The converters are built on first use. Until then these two names hold functions that
# build them and put the real hooks in their place, so that decoding costs no lookup.


def _first_server_event(data: dict[str, Any], union: Any) -> Any:
    global _structure_server  # noqa: PLW0603 - rebound once, on the first frame
    _structure_server = LENIENT.get().structure_server_event
    return _structure_server(data, union)


def _first_client_event(data: dict[str, Any], union: Any) -> Any:
    global _structure_client  # noqa: PLW0603 - rebound once, on the first frame
    _structure_client = STRICT.get().structure_client_event
    return _structure_client(data, union)


_structure_server: Callable[[dict[str, Any], Any], Any] = _first_server_event
_structure_client: Callable[[dict[str, Any], Any], Any] = _first_client_event


def _raw(frame: object, direction: Direction = "server") -> str | None:
    if direction == "client":
        return None  # a client frame can carry credentials (an MCP tool's authorization)
    if isinstance(frame, str):
        return frame[:_RAW_KEPT]
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return bytes(frame[:_RAW_KEPT]).decode("utf-8", "replace")
    return ""


def _load_object(frame: str | bytes, direction: Direction) -> dict[str, Any]:
    """Parse a frame into a JSON object with a string ``type``, or raise ProtocolError."""
    if frame.__class__ is str:  # the usual case first
        text = frame
    elif isinstance(frame, (bytes, bytearray, memoryview)):
        try:
            text = bytes(frame).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                f"{direction} frame is not UTF-8 text ({exc.reason} at byte {exc.start})",
                raw=_raw(frame, direction),
            ) from None
    elif isinstance(frame, str):
        text = frame
    else:
        raise ProtocolError(f"{direction} frame must be str or bytes, got {type(frame).__name__}")
    try:
        data = _parse(text)
    except RecursionError:
        raise ProtocolError(
            f"{direction} frame is nested too deeply", raw=_raw(frame, direction)
        ) from None
    except _BadNumber as exc:
        raise ProtocolError(
            f"{direction} frame has a bad number: {exc}", raw=_raw(frame, direction)
        ) from None
    except ValueError as exc:  # JSONDecodeError, and integers of more than 4300 digits
        raise ProtocolError(
            f"{direction} frame is not valid JSON: {exc}", raw=_raw(frame, direction)
        ) from None
    if data.__class__ is not dict:
        raise ProtocolError(
            f"{direction} frame must be a JSON object, got {json_kind(data)}",
            raw=_raw(frame, direction),
        )
    kind = data.get("type")
    if kind.__class__ is not str:
        problem = (
            "has no 'type'" if "type" not in data else f"has a 'type' that is {json_kind(kind)}"
        )
        raise ProtocolError(f"{direction} event {problem}", raw=_raw(frame, direction))
    return data


def _invalid(direction: Direction, kind: str, exc: Exception, frame: object) -> ProtocolError:
    details = format_error(exc)
    return ProtocolError(
        f"invalid {direction} event {kind!r}: " + "; ".join(details),
        raw=_raw(frame, direction),
        details=details,
    )


def decode_server_event(frame: str | bytes) -> ServerEvent | UnknownServerEvent:
    """Decode one frame from the server into a typed event.

    Args:
        frame: One WebSocket text frame, as text or as UTF-8 bytes.

    Returns:
        The event's class from :data:`ServerEvent`, or :class:`UnknownServerEvent`
        for a well-formed event of a type this version does not know.

    Raises:
        ProtocolError: The frame is not a valid event: not UTF-8, not JSON, not
            an object, without a string ``type``, nested too deeply, or a known
            type with a missing or ill-typed field. The message names the event
            type and the field path. No other exception escapes.
    """
    data = _load_object(frame, "server")
    try:
        return _structure_server(data, _SERVER_UNION)  # type: ignore[no-any-return]
    except Exception as exc:
        raise _invalid("server", data["type"], exc, frame) from exc


def decode_client_event(frame: str | bytes) -> ClientEvent | UnknownClientEvent:
    """Decode one frame from a client into a typed event: the server side's decoder.

    Args:
        frame: One WebSocket text frame, as text or as UTF-8 bytes.

    Returns:
        The event's class from :data:`ClientEvent`, or :class:`UnknownClientEvent`.

    Raises:
        ProtocolError: As :func:`decode_server_event`.
    """
    data = _load_object(frame, "client")
    try:
        # Strict: a server rejects nested types it cannot honour.
        return _structure_client(data, _CLIENT_UNION)  # type: ignore[no-any-return]
    except Exception as exc:
        raise _invalid("client", data["type"], exc, frame) from exc


def _encode(event: Any, known: Mapping[str, type], direction: Direction) -> str:
    unknown_class = UnknownClientEvent if direction == "client" else UnknownServerEvent
    if isinstance(event, unknown_class):
        if event.type in known:
            raise ProtocolError(
                f"{unknown_class.__name__} cannot carry the known type {event.type!r}: "
                f"build a {known[event.type].__name__}"
            )
        return _dumps({**event.raw, "type": event.type}, direction, event.type)
    if type(event) not in known.values():
        raise ProtocolError(f"expected a {direction} event, got {type(event).__name__}")
    kind: str = getattr(event, "type")  # noqa: B009 - every event class has one
    try:
        # Unstructure, then structure back and encode that: the types are checked as
        # decoding checks them, so a bad event fails here, where it was built, and
        # what is written is exactly what the model holds.
        converter = LENIENT.get().converter
        checked = converter.structure(converter.unstructure(event), type(event))
        data = converter.unstructure(checked)
    except RecursionError:
        raise ProtocolError(f"{direction} event {kind!r} is nested too deeply") from None
    except Exception as exc:  # every failure becomes a ProtocolError
        details = format_error(exc)
        raise ProtocolError(
            f"cannot encode {direction} event {kind!r}: " + "; ".join(details), details=details
        ) from exc
    return _dumps(data, direction, kind)


def _dumps(data: dict[str, Any], direction: Direction, kind: str) -> str:
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise ProtocolError(f"{direction} event {kind!r} is nested too deeply") from None
    except (TypeError, ValueError) as exc:  # a set in free-form data, NaN, ...
        raise ProtocolError(f"cannot encode {direction} event {kind!r}: {exc}") from exc


def encode_client_event(event: ClientEvent | UnknownClientEvent) -> str:
    """Encode a client event as one JSON text frame.

    Unset fields are omitted; fields explicitly set to ``None`` where the
    protocol gives ``null`` a meaning are written as ``null``.

    Raises:
        ProtocolError: ``event`` is not a client event, or a field holds a value
            of the wrong type (the message names the event type and the field).
    """
    return _encode(event, CLIENT_EVENT_TYPES, "client")


def encode_server_event(event: ServerEvent | UnknownServerEvent) -> str:
    """Encode a server event as one JSON text frame: the server side's encoder.

    Raises:
        ProtocolError: As :func:`encode_client_event`.
    """
    return _encode(event, SERVER_EVENT_TYPES, "server")
