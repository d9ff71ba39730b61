"""Callback registration and safe invocation.

Callbacks take exactly one object: an event, an exception or a
:class:`CloseInfo`. A callback that raises is logged and reported to the error
callbacks; it never stops the thread that ran it, and an error callback's own
failure is only logged.
"""

from __future__ import annotations

import logging
import threading
import typing
from collections.abc import Callable
from typing import Any, TypeVar, overload

import attrs

from .errors import RealtimeError
from .events import SERVER_EVENT_TYPES, UnknownServerEvent

__all__ = ["CallbackRegistry", "CloseInfo", "EventKey"]

_log = logging.getLogger("realtime_client")

F = TypeVar("F", bound=Callable[..., Any])
EventKey = type | str
"""An event class, or a wire type string (which also matches unknown events)."""


@typing.final
@attrs.frozen(kw_only=True)
class CloseInfo:
    """How a session ended, handed to ``on_close`` callbacks.

    Attributes:
        code: The WebSocket close code the server sent, when it sent one.
        reason: The close reason the server sent.
        error: The terminal error, or ``None`` when the session ended cleanly
            (closed by the client, or by the server with code 1000).

    .. versionadded:: 0.1
    """

    code: int | None = None
    reason: str = ""
    error: RealtimeError | None = None


def _wire_key(key: EventKey) -> str:
    if isinstance(key, str):
        if not key:
            raise ValueError("event type must not be empty")
        return key
    if isinstance(key, type):
        for wire, cls in SERVER_EVENT_TYPES.items():
            if cls is key:
                return wire
        if key is UnknownServerEvent:
            raise TypeError(
                "register UnknownServerEvent callbacks by their wire type string, or use on_any"
            )
    raise TypeError(f"expected a server event class or a wire type string, got {key!r}")


@typing.final
class CallbackRegistry:
    """Callbacks by event type, plus catch-all, error and close callbacks.

    Registration may happen from any thread at any time; each dispatch sees a
    consistent snapshot (the lists are replaced, never mutated).

    Args:
        wire_key: The wire type a key (event class or string) registers for;
            raises TypeError or ValueError for a key of another protocol. By
            default the conversation protocol's.
    """

    def __init__(self, wire_key: Callable[[EventKey], str] | None = None) -> None:
        self._wire_key = wire_key or _wire_key
        self._lock = threading.Lock()
        self._by_type: dict[str, tuple[Callable[[Any], object], ...]] = {}
        self._any: tuple[Callable[[Any], object], ...] = ()
        self._errors: tuple[Callable[[BaseException], object], ...] = ()
        self._closes: tuple[Callable[[CloseInfo], object], ...] = ()

    @overload
    def on(self, key: EventKey, fn: None = None) -> Callable[[F], F]: ...

    @overload
    def on(self, key: EventKey, fn: F) -> F: ...

    def on(self, key: EventKey, fn: F | None = None) -> F | Callable[[F], F]:
        """Call ``fn(event)`` for every event of ``key``; returns ``fn``.

        Without ``fn``, a decorator that registers its function (``@on(key)``);
        ``key`` is checked at once either way.
        """
        wire = self._wire_key(key)
        if fn is None:
            return lambda f: self._add(wire, f)
        return self._add(wire, fn)

    def _add(self, wire: str, fn: F) -> F:
        _check_callable(fn)
        with self._lock:
            self._by_type[wire] = (*self._by_type.get(wire, ()), fn)
        return fn

    def on_any(self, fn: F) -> F:
        """Call ``fn(event)`` for every event; returns ``fn``."""
        _check_callable(fn)
        with self._lock:
            self._any = (*self._any, fn)
        return fn

    def on_error(self, fn: F) -> F:
        """Call ``fn(exception)`` for every reported error; returns ``fn``."""
        _check_callable(fn)
        with self._lock:
            self._errors = (*self._errors, fn)
        return fn

    def on_close(self, fn: F) -> F:
        """Call ``fn(close_info)`` once, when the session has closed; returns ``fn``."""
        _check_callable(fn)
        with self._lock:
            self._closes = (*self._closes, fn)
        return fn

    def remove(self, fn: Callable[..., Any]) -> bool:
        """Unregister ``fn`` everywhere; whether it was registered."""
        with self._lock:
            found = False
            for wire, fns in list(self._by_type.items()):
                kept = tuple(f for f in fns if f is not fn)
                found |= len(kept) != len(fns)
                self._by_type[wire] = kept
            for name in ("_any", "_errors", "_closes"):
                fns = getattr(self, name)
                kept = tuple(f for f in fns if f is not fn)
                found |= len(kept) != len(fns)
                setattr(self, name, kept)
        return found

    @property
    def has_event_callbacks(self) -> bool:
        """Whether any event callback is registered."""
        return bool(self._any) or any(self._by_type.values())

    def wants(self, event: Any) -> bool:
        """Whether any callback runs for ``event``."""
        return bool(self._any) or bool(self._by_type.get(event.type))

    def dispatch(self, event: Any) -> None:
        """Run the callbacks of ``event``'s type, then the catch-all ones."""
        typed = self._by_type.get(event.type)
        if typed:
            for fn in typed:
                self._call(fn, event)
        for fn in self._any:
            self._call(fn, event)

    def _call(self, fn: Callable[[Any], object], arg: Any) -> None:
        try:
            fn(arg)
        except Exception as exc:
            _log.exception("callback %s failed on %s", _name(fn), _what(arg))
            self.report_error(exc)

    def report_error(self, exc: BaseException) -> None:
        """Hand ``exc`` to the error callbacks; their own failures are only logged."""
        for fn in self._errors:
            try:
                fn(exc)
            except Exception:
                _log.exception("error callback %s failed", _name(fn))

    def fire_close(self, info: CloseInfo) -> None:
        """Run the close callbacks (the caller makes sure this happens once)."""
        for fn in self._closes:
            try:
                fn(info)
            except Exception as exc:
                _log.exception("close callback %s failed", _name(fn))
                self.report_error(exc)


def _check_callable(fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"callback must be callable, got {type(fn).__name__}")


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _what(arg: Any) -> str:
    return str(getattr(arg, "type", type(arg).__name__))
