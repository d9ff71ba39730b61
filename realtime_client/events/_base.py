"""Pieces every model module shares: the UNSET sentinel and the unknown events."""

from __future__ import annotations

import enum
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
