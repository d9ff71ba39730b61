"""Responses without races: one ``response.create`` at a time, and a handle per request.

The server refuses a ``response.create`` while a response is active
(``conversation_already_has_active_response``). :class:`ResponseGate` keeps
the session's own requests in a queue and sends the next one only when no
response is active: it counts every response the server starts, including
those voice activity detection starts, from ``response.created`` and
``response.done``. Each request is tagged (its ``event_id`` and a metadata
entry), so the response the server starts for it, and an error refusing it,
are matched to it exactly. The caller gets a :class:`ResponseHandle` whose
:meth:`~ResponseHandle.result` is the finished :class:`~realtime_client.messages.Turn`.

Private: :mod:`realtime_client.session` re-exports :class:`ResponseHandle`.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Final, Literal, final

import attrs

from . import events as ev
from ._checks import encode_event
from ._response_handle import ReaderRef, ResponseHandle
from ._turns import Turn
from .errors import (
    RealtimeError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
)

__all__ = ["REQUEST_TAG", "ResponseGate", "ResponseHandle", "function_tool_names"]

_log = logging.getLogger("realtime_client")

REQUEST_TAG: Final = "realtime_client.request"
"""The metadata key the session tags its own ``response.create`` requests with."""

_MAX_METADATA: Final = 16  # pairs the API accepts
_MAX_RETRIES: Final = 3  # refusals for an active response before the request fails
_ACTIVE_CODE: Final = "conversation_already_has_active_response"
_numbers = itertools.count(1)
DEFAULT_START_TIMEOUT: Final = 30.0

Conflict = Literal["wait", "cancel", "error"]


def function_tool_names(tools: Iterable[object]) -> frozenset[str]:
    """The names of the function tools among ``tools``."""
    return frozenset(t.name for t in tools if isinstance(t, ev.FunctionTool) and t.name)


class _Request:
    """One ``response.create`` of the session, from queueing to its response's end."""

    __slots__ = (
        "before",
        "cancelled",
        "deadline",
        "frame",
        "handle",
        "retries",
        "tag",
        "tool_names",
        "want_turn",
    )

    def __init__(
        self,
        tag: str,
        frame: str,
        handle: ResponseHandle,
        want_turn: bool,
        tool_names: frozenset[str] = frozenset(),
    ) -> None:
        self.tag = tag
        self.frame = frame
        self.handle = handle
        self.want_turn = want_turn
        self.tool_names = tool_names  # function tools given in the request's own options
        self.retries = 0
        self.cancelled = False
        self.before: tuple[str, ...] = ()  # frames sent with it (the user's message)
        self.deadline = 0.0  # set when sent: the server must start or refuse it by then


@final
class ResponseGate:
    """Sends the session's ``response.create`` requests one at a time.

    Contract: callers on any thread use :meth:`request`; the reader thread
    calls :meth:`on_created`, :meth:`on_done` and :meth:`on_error` in the order
    events arrive. Nothing here blocks on a response: a request that must wait
    is queued and sent from the reader thread when the active response ends.
    ``send`` queues encoded frames for the writer.

    A sent request the server neither starts nor refuses within
    ``start_timeout`` seconds fails with
    :class:`~realtime_client.RealtimeTimeoutError` and the queue moves on, so a
    lost frame can never hold the queue forever. The session's writer thread
    enforces it by calling :meth:`expire` at each timed wake-up.

    Args:
        send: Queues frames for sending (the session's send queue).
        conflict: ``"wait"`` (queue behind the active response), ``"cancel"``
            (cancel the active responses, then send), or ``"error"`` (send at
            once; the server refuses it if a response is active).
        reader: The reader thread, on which handles refuse to block (or a
            function returning the current one: a reconnection replaces it).
        start_timeout: Seconds a sent request may wait for ``response.created``
            (or a refusal) before it fails.
        wake: Tells the owner's clock (the writer) of a new start limit; a
            frame the caller writes itself wakes no one.
    """

    def __init__(
        self,
        *,
        send: Callable[[list[str]], None],
        conflict: Conflict,
        reader: ReaderRef,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        wake: Callable[[], None] | None = None,
    ) -> None:
        if not start_timeout > 0:
            raise ValueError(f"start_timeout must be positive, got {start_timeout!r}")
        self._send = send
        self._conflict = conflict
        self._reader = reader
        self._start_timeout = start_timeout
        self._wake = wake
        self._lock = threading.Lock()
        self._pending: collections.deque[_Request] = collections.deque()
        self._in_flight: dict[str, _Request] = {}  # sent; no response.created yet
        self._active: dict[str, _Request | None] = {}  # response id -> our request or None
        self._cancelling: set[str] = set()
        self._echoes = False  # the server was seen echoing a request's tag
        self._guessed: dict[str, str] = {}  # tag -> response id matched by order, not tag
        self._closed = False

    @property
    def active(self) -> tuple[str, ...]:
        """The ids of the responses the server has started and not finished."""
        with self._lock:
            return tuple(self._active)

    def request(
        self,
        options: ev.ResponseOptions | None,
        *,
        want_turn: bool,
        before: Sequence[str] = (),
    ) -> ResponseHandle:
        """Queue a ``response.create``; it is sent as soon as no response is active.

        ``before`` (encoded frames, such as the user's message) is sent now, in
        one piece with the request when that can go at once, so no other
        thread's frames come between them.

        Raises:
            ValueError: The options do not encode (the message names the field).
            ValueError: ``options.metadata`` already holds 16 pairs, leaving no
                room for the session's tag.
            SessionClosedError: The session is closed.
        """
        tag = f"rc-{next(_numbers)}"
        base = options or ev.ResponseOptions()
        metadata = dict(base.metadata) if isinstance(base.metadata, dict) else {}
        if len(metadata) >= _MAX_METADATA and REQUEST_TAG not in metadata:
            raise ValueError(
                f"response metadata holds {len(metadata)} pairs, the most the API accepts: "
                f"the session needs one for its {REQUEST_TAG!r} tag"
            )
        metadata[REQUEST_TAG] = tag
        event = ev.ResponseCreateEvent(
            event_id=tag, response=attrs.evolve(base, metadata=metadata)
        )
        frame = encode_event(event)
        handle = ResponseHandle(
            tag=tag,
            out_of_band=base.conversation == "none",
            reader=self._reader,
            cancel=self._cancel,
        )
        tool_names = function_tool_names(base.tools or ())
        request = _Request(tag, frame, handle, want_turn, tool_names)
        request.before = tuple(before)
        with self._lock:
            if self._closed:
                raise SessionClosedError("the session is closed: nothing more can be sent")
            frames = list(before)
            if self._conflict == "error":
                self._send_now(request)
                frames.append(frame)
            else:
                self._pending.append(request)
                if self._conflict == "cancel":
                    frames.extend(self._cancel_active())
                frames.extend(self._next())
            timed = bool(self._in_flight)  # a start limit the writer must keep
        if frames:
            self._send(frames)
            if timed and self._wake is not None:
                self._wake()  # the writer keeps the start limit of what just went out
        return handle

    def is_out_of_band(self, response_id: str | None) -> bool:
        """Whether this active response is one the session asked for out of band."""
        with self._lock:
            request = self._active.get(response_id) if response_id else None
        return request is not None and request.handle.out_of_band

    def on_created(self, response: ev.Response) -> _Request | None:
        """A response started; returns our request for it, if it is ours.

        The request's tag, where the server echoes the response's metadata,
        names the request. A server that does not echo it (a proxy, a gateway,
        an older deployment) still starts requests in the order they were sent,
        so an untagged response goes to the oldest request in flight, until the
        server is seen echoing tags (then an untagged response is one it
        started on its own, such as voice activity detection's).
        """
        tag = (response.metadata or {}).get(REQUEST_TAG)
        frames: list[str] = []
        with self._lock:
            if tag:
                self._echoes = True
                request = self._in_flight.pop(tag, None)
            elif not self._echoes and self._in_flight:
                request = self._in_flight.pop(next(iter(self._in_flight)))  # the oldest
                if response.id is not None:
                    self._guessed[request.tag] = response.id
            else:
                request = None
            if response.id is not None:
                self._active[response.id] = request
                if request is not None and request.cancelled:
                    frames.extend(self._cancel_ids([response.id]))
        if request is not None and response.id is not None:
            request.handle._started(response.id)
        self._send_quietly(frames)
        return request

    def _unguess(self, tag: str) -> _Request | None:
        """With the lock held: a refused request that an untagged response was
        matched to by order. That response was someone else's (voice activity
        detection started it meanwhile): it stays active, as not ours."""
        rid = self._guessed.pop(tag, None)
        request = self._active.get(rid) if rid is not None else None
        if rid is None or request is None or request.tag != tag:
            return None
        self._active[rid] = None
        return request

    def on_done(self, response: ev.Response) -> _Request | None:
        """A response ended; sends the next queued request. Returns our request, if ours."""
        with self._lock:
            if self._guessed:
                for tag, rid in list(self._guessed.items()):
                    if rid == response.id:
                        del self._guessed[tag]
            request = self._active.pop(response.id, None) if response.id else None
            self._cancelling.discard(response.id or "")
            frames = self._next()
        self._send_quietly(frames)
        return request

    handled_events: Final = frozenset({ev.ErrorEvent})
    """The events :meth:`feed` takes; ``response.created`` and ``response.done``
    come through :meth:`on_created` and :meth:`on_done`, whose answers the
    conversation layer needs."""

    def feed(self, event: object) -> None:
        """An event of :attr:`handled_events` (an ``error``)."""
        if isinstance(event, ev.ErrorEvent):
            self.on_error(event)

    def on_error(self, event: ev.ErrorEvent) -> None:
        """An ``error`` event: if it refuses one of our requests, retry or fail it.

        The error names the refused event by ``event_id``. An error without one
        is taken to refuse the request in flight when exactly one is (sent, and
        no response started for it): the server answers requests in order, so
        it cannot be about a later one, and leaving it would hold the queue.
        """
        error = event.error
        failed: _Request | None = None
        with self._lock:
            if error.event_id:
                request = self._in_flight.pop(error.event_id, None)
                if request is None:
                    request = self._unguess(error.event_id)
            elif len(self._in_flight) == 1:
                request = self._in_flight.pop(next(iter(self._in_flight)))
            elif not self._in_flight and len(self._guessed) == 1 and error.code == _ACTIVE_CODE:
                request = self._unguess(next(iter(self._guessed)))
            else:
                request = None
            if request is None:
                return
            if (
                error.code == _ACTIVE_CODE
                and self._conflict != "error"
                and request.retries < _MAX_RETRIES
                and not request.cancelled
            ):
                request.retries += 1  # a response started meanwhile (VAD): wait for it
                self._pending.appendleft(request)
            else:
                failed = request
            frames = self._next()
        if failed is not None:
            failed.handle._resolve(error=ServerError.from_event(event))
        self._send_quietly(frames)

    def close(self, error: RealtimeError) -> None:
        """Fail every unfinished request with ``error``; refuse new ones."""
        with self._lock:
            self._closed = True
            requests = [*self._pending, *self._in_flight.values()]
            requests += [r for r in self._active.values() if r is not None]
            self._pending.clear()
            self._in_flight.clear()
            self._active.clear()
        for request in requests:
            request.handle._resolve(error=error)

    # --- reconnection -------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No response active, in flight or queued: the session is between turns."""
        with self._lock:
            return not (self._active or self._in_flight or self._pending)

    def started_elsewhere(self, held: Collection[str]) -> bool:
        """Whether a response is active, or a request whose frame is not in
        ``held`` is in flight: the current connection still has a turn going."""
        with self._lock:
            return bool(self._active) or any(r.frame not in held for r in self._in_flight.values())

    def requeue_in_flight(self, kept: Collection[str] = ()) -> tuple[tuple[str, ...], list[str]]:
        """The connection was replaced: requests sent but not started go back to
        the front of the queue (the new connection sends them again), except
        those whose frame is in ``kept`` (held for the new connection already:
        they stay in flight, their start limit counted from now).

        Returns the ids of the responses that were active, which the new
        connection never finishes (the session ends them, then the queue moves
        on), and the frames sent with the requeued requests (the caller resends
        those the server lost).
        """
        with self._lock:
            requests = [r for r in self._in_flight.values() if r.frame not in kept]
            for request in requests:
                del self._in_flight[request.tag]
            deadline = time.monotonic() + self._start_timeout
            for request in self._in_flight.values():
                request.deadline = deadline
            self._guessed.clear()
            self._cancelling.clear()
            self._pending.extendleft(reversed(requests))
            before = [frame for request in requests for frame in request.before]
            return tuple(self._active), before

    def resume(self) -> None:
        """Send the next queued request if nothing is active (after :meth:`requeue_in_flight`)."""
        with self._lock:
            frames = self._next()
        self._send_quietly(frames)

    # --- the start limit (checked from the writer thread's timed wake-up) ---------------

    def expire(self, now: float) -> tuple[list[str], float | None]:
        """Fail the requests the server neither started nor refused by ``now``.

        Called by the session's writer thread at each wake-up, so no thread of
        the gate's own keeps time. Returns the frames to send next (the queued
        request that may now go out) and the next deadline, if any. The failed
        handles' done-callbacks run here, on the writer thread: they must not
        block.
        """
        with self._lock:
            if self._closed or not self._in_flight:
                return [], None
            expired = [r for r in self._in_flight.values() if r.deadline <= now]
            for request in expired:
                del self._in_flight[request.tag]
            frames = self._next() if expired else []
            upcoming = [r.deadline for r in self._in_flight.values()]
        for request in expired:
            _log.warning(
                "the server did not start response request %s within %g s; giving up on it",
                request.tag,
                self._start_timeout,
            )
            request.handle._resolve(
                error=RealtimeTimeoutError(
                    f"the server neither started nor refused the response within "
                    f"{self._start_timeout:g} s"
                )
            )
        return frames, min(upcoming) if upcoming else None

    # --- internals (_next, _send_now, _cancel_active, _cancel_ids: with the lock held) ------

    def _next(self) -> list[str]:
        if self._closed or self._active or self._in_flight or not self._pending:
            return []
        request = self._pending.popleft()
        self._send_now(request)
        return [request.frame]

    def _send_now(self, request: _Request) -> None:
        """Mark ``request`` in flight (its frame is about to be sent; the writer
        keeps its start limit, woken by the queue or by ``wake``)."""
        request.deadline = time.monotonic() + self._start_timeout
        self._in_flight[request.tag] = request

    def _cancel_active(self) -> list[str]:
        return self._cancel_ids([rid for rid in self._active if rid not in self._cancelling])

    def _cancel_ids(self, ids: list[str]) -> list[str]:
        self._cancelling.update(ids)
        return [ev.encode_client_event(ev.ResponseCancelEvent(response_id=rid)) for rid in ids]

    def _cancel(self, handle: ResponseHandle) -> None:
        frames: list[str] = []
        dropped = False
        with self._lock:
            for request in self._pending:
                if request.handle is handle:
                    self._pending.remove(request)
                    dropped = True
                    break
            else:
                for request in self._in_flight.values():
                    if request.handle is handle:
                        request.cancelled = True  # cancelled when the server starts it
                for rid, active in self._active.items():
                    if active is not None and active.handle is handle:
                        if rid not in self._cancelling:
                            frames = self._cancel_ids([rid])
                        break
        if dropped:
            details = ev.ResponseStatusDetails(type="cancelled", reason="client_cancelled")
            turn = Turn(response_id=None, status="cancelled", status_details=details)
            handle._resolve(turn=turn)
        if frames:
            self._send(frames)

    def _send_quietly(self, frames: list[str]) -> None:
        """Send from the reader thread: a closing session is not an error here."""
        if not frames:
            return
        try:
            self._send(frames)
        except RealtimeError as exc:
            _log.debug("not sent, the session is closing: %s", exc)
