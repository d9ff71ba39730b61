"""What every session facade offers: the lifecycle, callbacks and iteration.

:class:`~realtime_client.ConversationSession` and
:class:`~realtime_client.TranslationSession` are thin facades over a
:class:`~realtime_client._session_core.SessionCore`; the part of their
surface that does not depend on the protocol lives here, once. The base owns
exactly the state it uses (the core and the callback registry, handed in by
the subclass's constructor); the subclasses add their protocol's sending and
reading methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, overload

from ._callbacks import CallbackRegistry, CloseInfo, EventKey
from ._checks import check_callable, check_seconds
from ._session_core import SessionCore, SessionState
from .errors import SessionClosedError

__all__ = ["SessionFacade", "checked_callbacks"]

F = TypeVar("F", bound=Callable[..., object])
E = TypeVar("E")
S = TypeVar("S", bound="SessionFacade[Any]")


def checked_callbacks(
    *,
    ping_interval: float,
    pong_timeout: float | None,
    close_timeout: float,
    on_error: Callable[[BaseException], object] | None,
    on_close: Callable[[CloseInfo], object] | None,
    wire_key: Callable[[EventKey], str] | None = None,
) -> CallbackRegistry:
    """Check the arguments every session takes; the registry with ``on_error``/``on_close``.

    Raises:
        TypeError: An argument has the wrong type (the message names it).
        ValueError: A timeout is not a positive number of seconds.
    """
    check_seconds("ping_interval", ping_interval)
    check_seconds("pong_timeout", pong_timeout, allow_none=True)
    check_seconds("close_timeout", close_timeout, allow_zero=True)
    check_callable("on_error", on_error)
    check_callable("on_close", on_close)
    callbacks = CallbackRegistry(wire_key)
    if on_error is not None:
        callbacks.on_error(on_error)
    if on_close is not None:
        callbacks.on_close(on_close)
    return callbacks


class SessionFacade(Generic[E]):
    """The lifecycle, callbacks and iteration of a session, whatever its protocol.

    Args:
        core: The session's parts.
        callbacks: The registry the core runs.
    """

    def __init__(self, core: SessionCore[Any], callbacks: CallbackRegistry) -> None:
        self._core = core
        self._callbacks = callbacks

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._core.state.value} id={self.session_id!r}>"

    # --- lifecycle -----------------------------------------------------------------------------

    def open(self: S) -> S:
        """Start the reader and writer threads; returns the session.

        Raises:
            SessionClosedError: The session was already closed (sessions
                cannot be reopened).
            UsageError: The session is already open.
        """
        self._core.open()
        return self

    def __enter__(self: S) -> S:
        """Open the session if it is new; a closed session cannot be entered.

        Raises:
            SessionClosedError: The session has closed (its terminal error, if
                any, is the ``__cause__``).
        """
        state = self._core.state
        if state is SessionState.NEW:
            self.open()
        elif state is SessionState.CLOSED:
            info = self._core.close_info
            raise SessionClosedError("a closed session cannot be reopened") from (
                info.error if info is not None else None
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def state(self) -> SessionState:
        """The lifecycle state."""
        return self._core.state

    @property
    def closed(self) -> bool:
        """Whether the session is closing or closed."""
        return self._core.state in (SessionState.CLOSING, SessionState.CLOSED)

    @property
    def close_info(self) -> CloseInfo | None:
        """How the session ended, once it has (``None`` before)."""
        return self._core.close_info

    @property
    def session_id(self) -> str | None:
        """The server's session id, from ``session.created`` (``None`` before)."""
        return self._core.watch.session_id

    def wait_created(self, timeout: float) -> None:
        """Wait for the server's ``session.created``, its first event on a new connection.

        The client's ``start_*`` methods call it, so a session they return is
        one the server has set up.

        Raises:
            RealtimeTimeoutError: It did not come within ``timeout`` seconds.
            ConnectionClosedError: The connection ended first (the server's
                reason, e.g. an unknown model, is in the message).
            SessionClosedError: The session was closed first.
        """
        self._core.wait_created(timeout)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the session has closed; whether it had within ``timeout``."""
        return self._core.closed_event.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Close the session: idempotent, safe from any thread, bounded in time.

        Frames already queued are sent first. A translation session then sends
        ``session.close`` and waits for the server's ``session.closed`` (the
        last translated output arrives before it). Then the closing handshake
        runs and the threads are joined; a peer that does not answer within
        ``timeout`` seconds is cut off. Events received before the close stay
        available to iteration, which then ends. ``on_close`` runs once, last.
        Called from a callback (the reader thread), it does the same without
        waiting for its own thread.

        When another thread is already closing the session (for example the
        reader, after the server closed the connection), this call waits for
        that close to finish, within about ``timeout`` seconds, so the session
        is closed and its threads are gone when it returns. Called from a
        thread that close is waiting for (a callback, a tool function, the
        closing thread itself), it returns at once instead of deadlocking.

        Args:
            timeout: Upper bound in seconds for the polite part (default: the
                session's ``close_timeout``); after it, the connection is cut.
        """
        self._core.close(timeout)

    def on_close(self, fn: F) -> F:
        """Call ``fn(close_info)`` once the session has closed (immediately if it has)."""
        self._core.on_close(fn)
        return fn

    # --- receiving: callbacks and iteration -----------------------------------------------------

    @overload
    def on(self, key: EventKey) -> Callable[[F], F]: ...

    @overload
    def on(self, key: EventKey, fn: F) -> F: ...

    def on(self, key: EventKey, fn: F | None = None) -> F | Callable[[F], F]:
        """Call ``fn(event)`` on the reader thread for every event of ``key``.

        Usable directly (``session.on(ev.ErrorEvent, fn)``) or as a decorator
        (``@session.on("response.done")``). Callbacks run in registration order,
        before the event is queued for iteration; one that raises is logged and
        reported to ``on_error``, and the others still run.

        Args:
            key: A server event class of the session's protocol
                (``ev.ResponseDoneEvent``; ``tev.SessionOutputAudioDeltaEvent``
                for a translation session) or a wire type string (which also
                matches events this version does not know).
            fn: The callback; omitted when used as a decorator.

        Returns:
            ``fn`` (or a decorator that registers and returns its function).

        Raises:
            TypeError: ``key`` is not a server event class of the session's
                protocol or a string.
        """
        return self._callbacks.on(key, fn)

    def on_any(self, fn: F) -> F:
        """Call ``fn(event)`` for every event, after the type-specific callbacks."""
        return self._callbacks.on_any(fn)

    def on_error(self, fn: F) -> F:
        """Call ``fn(exception)`` for every error reported (see the class docs)."""
        return self._callbacks.on_error(fn)

    def remove_callback(self, fn: Callable[..., object]) -> bool:
        """Unregister ``fn`` from every event, error and close; whether it was registered."""
        return self._callbacks.remove(fn)

    def events(self, timeout: float | None = None) -> Iterator[E]:
        """Iterate over received events, in order, until the session ends.

        Args:
            timeout: Seconds to wait for each next event (``None``: forever).

        Yields:
            Each event, typed (or the protocol's unknown-event class); with
            reconnection on, also the local
            :class:`~realtime_client.SessionReconnected`.

        Raises:
            WaitTimeoutError: No event came within ``timeout`` seconds.
            ConnectionClosedError: The connection ended unexpectedly (raised
                after every event received before it was yielded);
                :class:`~realtime_client.SessionExpiredError` at the server's
                maximum session duration.
            SessionClosedError: The session had already closed and nothing
                remained to read.
            UsageError: The session was made with ``buffer_events=False``.
        """
        events: Iterator[E] = self._core.events(timeout)
        return events

    def __iter__(self) -> Iterator[E]:
        """Same as :meth:`events` without a timeout."""
        return self.events()
