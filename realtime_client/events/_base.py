"""Pieces every model module shares: the UNSET sentinel, the unknown events and the base class."""

from __future__ import annotations

import enum
import operator
import reprlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs
from attrs import field, frozen

__all__ = [
    "UNSET",
    "UnknownClientEvent",
    "UnknownContentPart",
    "UnknownItem",
    "UnknownServerEvent",
    "UnknownTool",
    "Unset",
    "unknown_fields",
    "wire_type",
]


class Unset(enum.Enum):
    """The type of :data:`UNSET`: a field the caller did not set.

    Most optional fields use ``None`` for "absent". The few fields where the
    protocol gives an explicit JSON ``null`` a meaning of its own (for example
    ``turn_detection: null`` selects manual turns) default to :data:`UNSET`
    instead, so that "not set" (omitted from the frame) and "set to null"
    (written as ``null``) stay distinct.
    """

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False


UNSET: Final = Unset.UNSET
"""Marks a nullable field as not set: the encoder omits it."""


def wire_type(cls: type) -> str:
    """The wire ``type`` string of a model class: the default of its ``type`` field."""
    default = attrs.fields_dict(cls)["type"].default
    if not isinstance(default, str):  # pragma: no cover - guarded by tests/events/test_registry.py
        raise TypeError(f"{cls.__name__} has no fixed wire type")
    return default


@frozen(kw_only=True, eq=False, repr=False)
class WireObject:
    """The base of every model class: unknown fields, equality, hashing and ``repr``.

    A decoded object holds the keys of its JSON object that none of its fields
    names, untouched, and encoding writes them back: a proxy or a recorder that
    decodes and re-encodes loses nothing. The mapping is left out of equality,
    hashing and ``repr``, and carried over by :func:`attrs.evolve`. Read it with
    :func:`unknown_fields`.

    The model classes are declared ``@frozen(kw_only=True, eq=False, repr=False)``
    and inherit ``__eq__``, ``__hash__`` and ``__repr__`` from here. They behave as
    attrs' own (same class, then the fields with ``eq=True`` in order; the fields
    with ``repr=True``, as ``Name(field=value, ...)``) but are written once instead
    of compiled for each of the 130 classes when the package is imported: that
    halves the time to build the model (see ``benchmarks/import_time.py``).
    """

    _extra: Mapping[str, Any] | None = field(default=None, alias="_extra", eq=False, repr=False)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = _eq_key(self.__class__)
        return bool(key(self) == key(other))

    def __hash__(self) -> int:
        return hash((self.__class__, _eq_key(self.__class__)(self)))

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in _repr_names(self.__class__)
        )
        return f"{self.__class__.__qualname__}({shown})"


def _eq_key(cls: type) -> Callable[[Any], Any]:
    """What equality and hashing compare: the values of the fields with ``eq=True``."""
    key = _EQ_KEYS.get(cls)
    if key is None:
        names = [a.name for a in attrs.fields(cls) if a.eq]
        key = _EQ_KEYS[cls] = operator.attrgetter(*names) if names else _no_fields
    return key


def _no_fields(_: object) -> tuple[()]:
    return ()


def _repr_names(cls: type) -> tuple[str, ...]:
    names = _REPR_NAMES.get(cls)
    if names is None:
        names = _REPR_NAMES[cls] = tuple(a.name for a in attrs.fields(cls) if a.repr)
    return names


_EQ_KEYS: dict[type, Callable[[Any], Any]] = {}
_REPR_NAMES: dict[type, tuple[str, ...]] = {}


def unknown_fields(obj: object) -> Mapping[str, Any]:
    """The fields of a decoded object that this version does not model, read-only.

    Decoding keeps every key of an event or nested object (a session, an item, a
    content part, a response, usage, ...) that none of its fields names, and
    encoding writes them back, so a new field the server sends survives a decode
    and an encode. Encoding writes a field of the model, when set, in place of an
    unknown field of the same name.

    Args:
        obj: An event or a nested object of :mod:`realtime_client.events`.

    Returns:
        The unknown fields, by wire name, as JSON values; empty when there are none
        (and for objects that are not model classes, such as :class:`UnknownItem`,
        whose ``raw`` holds everything).

    .. versionadded:: 0.2
    """
    extra = obj._extra if isinstance(obj, WireObject) else None
    return MappingProxyType(extra) if extra else _EMPTY


_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})


@frozen(kw_only=True)
class UnknownServerEvent:
    """A well-formed server event whose ``type`` this version does not know.

    The protocol grows: new event types reach old clients. They decode to this
    class, keeping the type and the whole frame, instead of raising or being
    forced into a wrong class.

    .. versionadded:: 0.1
    """

    type: str
    """The wire type, as received."""
    raw: dict[str, Any] = field(eq=True, repr=False)
    """The decoded JSON object, untouched."""


@frozen(kw_only=True)
class UnknownClientEvent:
    """A well-formed client event whose ``type`` this version does not know.

    The mirror of :class:`UnknownServerEvent`, for servers (such as the offline
    one in :mod:`realtime_client.testing`) that decode client frames.

    .. versionadded:: 0.1
    """

    type: str
    """The wire type, as received."""
    raw: dict[str, Any] = field(eq=True, repr=False)
    """The decoded JSON object, untouched."""


@frozen(kw_only=True)
class UnknownItem:
    """A conversation item of a type this version does not know.

    Decoding a server event keeps it, with the whole object in ``raw``, instead of
    failing the event: a ``response.done`` whose output has a new kind of item still
    ends its turn. Encoding writes ``raw`` back with its ``type``.

    .. versionadded:: 0.1
    """

    type: str
    raw: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str | None:
        """The item's id, when it has a string one."""
        value = self.raw.get("id")
        return value if isinstance(value, str) else None


@frozen(kw_only=True)
class UnknownContentPart:
    """A message content part of a type this version does not know (see :class:`UnknownItem`).

    .. versionadded:: 0.1
    """

    type: str
    raw: dict[str, Any] = field(repr=False)


@frozen(kw_only=True)
class UnknownTool:
    """A tool of a type this version does not know, as a server reports it in a session.

    .. versionadded:: 0.1
    """

    type: str
    raw: dict[str, Any] = field(repr=False)
