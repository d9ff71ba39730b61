"""Argument checks shared by the client and the session, run before anything
is opened: a wrong type raises :class:`TypeError`, a bad value
:class:`ValueError`, and the message names the argument."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["check_callable", "check_instance", "check_seconds", "check_text", "encode_event"]


def check_seconds(
    name: str, value: object, *, allow_none: bool = False, allow_zero: bool = False
) -> None:
    """A duration in seconds: a real number (not a bool), finite, positive
    (or zero with ``allow_zero``), or ``None`` with ``allow_none``."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        expected = "a number of seconds" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {value!r}"
        )


def check_text(name: str, value: object, *, allow_none: bool = True) -> None:
    """A non-empty string (or ``None``)."""
    if value is None and allow_none:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")


def check_instance(name: str, value: object, cls: type | tuple[type, ...]) -> None:
    """``value`` is ``None`` or an instance of ``cls``."""
    if value is not None and not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be {names} (or None), got {type(value).__name__}")


def check_callable(name: str, value: Callable[..., Any] | None) -> None:
    """``value`` is ``None`` or callable."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable (or None), got {type(value).__name__}")


def encode_event(event: object, encode: Callable[[Any], str] | None = None) -> str:
    """Encode a client event the application built, as the caller's error.

    A field of the wrong type is the caller's mistake, not the server's: it
    raises :class:`ValueError` (the message names the event and the field),
    and an object that is not a client event :class:`TypeError`. The
    converter's :class:`~realtime_client.ProtocolError` stays for server frames.
    ``encode`` is the protocol's encoder (default: the conversation's).
    """
    from . import events as ev
    from .errors import ProtocolError

    if not attrs.has(type(event)) or not str(getattr(event, "type", "")):
        raise TypeError(f"expected a client event, got {type(event).__name__}")
    try:
        return (encode or ev.encode_client_event)(event)  # type: ignore[arg-type]
    except ProtocolError as exc:
        raise ValueError(str(exc)) from exc
