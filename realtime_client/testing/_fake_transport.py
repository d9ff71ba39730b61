"""FakeTransport: an in-memory connection for testing code built on sessions.

It plays the server's side of the transport interface. The test pushes what
the server would send; the session's reader thread blocks in ``recv`` just as
it would on a socket; what the session sends is recorded, decoded.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import events as ev
from .._transport import TICK
from ..errors import ConnectionClosedError, RealtimeError, TransportError

__all__ = ["FakeTransport"]


@attrs.frozen
class _Close:
    code: int | None
    reason: str


_ABORTED = _Close(None, "")


@typing.final
class FakeTransport:
    """An in-memory transport: the test acts as the server.

    Example::

        fake = FakeTransport()
        with ConversationSession(transport=fake) as session:
            session.send_text("hi")
            fake.push(ev.ResponseDoneEvent(event_id="e1", response=ev.Response(id="r1")))
            assert fake.sent[0]["type"] == "conversation.item.create"

    Args:
        echo_close: Answer the client's close frame with one of its own (as a
            well-behaved server does). ``False`` makes the session fall back to
            cutting the connection.
        answer_pings: Answer pings at once (as a live server does). ``False``
            plays a dead connection: the session's pong timeout closes it.

    .. versionadded:: 0.1
    """

    def __init__(self, *, echo_close: bool = True, answer_pings: bool = True) -> None:
        self._answer_pings = answer_pings
        self._last_received = time.monotonic()
        self._incoming: queue.SimpleQueue[str | bytes | _Close] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._sent: list[dict[str, Any]] = []
        self._raw_sent: list[str] = []
        self._fail_next: BaseException | None = None
        self._paused = False
        self._aborted = False
        self._echo_close = echo_close
        self._client_close: tuple[int, str] | None = None
        self._pings = 0
        self._shut_down = False
        self._server_closed = False

    # --- the test's side: acting as the server -------------------------------------------------

    def push(
        self, event: ev.ServerEvent | ev.UnknownServerEvent | Mapping[str, Any] | str | bytes
    ) -> None:
        """Deliver something from the "server".

        Args:
            event: A typed server event (encoded as the server would), a dict
                (sent as JSON, so it may be invalid on purpose), or a raw frame.
        """
        if isinstance(event, (str, bytes)):
            frame: str | bytes = event
        elif isinstance(event, Mapping):
            frame = json.dumps(dict(event))
        else:
            frame = ev.encode_server_event(event)
        self._incoming.put(frame)

    def close_from_server(self, code: int | None = 1000, reason: str = "") -> None:
        """Make the "server" close the connection with ``code`` and ``reason``.

        ``code=None`` simulates a broken connection (no close frame).
        """
        with self._cond:
            self._server_closed = True
        self._incoming.put(_Close(code, reason))

    def fail_next_send(self, exc: BaseException) -> None:
        """Make the next ``send`` raise ``exc`` (and send nothing)."""
        with self._cond:
            self._fail_next = exc

    def pause_sends(self) -> None:
        """Make ``send`` block (like a socket whose peer stopped reading) until
        :meth:`resume_sends`, or until the transport is aborted."""
        with self._cond:
            self._paused = True

    def resume_sends(self) -> None:
        """Let blocked and later sends through again."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Every frame the client sent, decoded as JSON, oldest first (a copy)."""
        with self._cond:
            return list(self._sent)

    @property
    def sent_frames(self) -> list[str]:
        """Every frame the client sent, as the exact text (a copy)."""
        with self._cond:
            return list(self._raw_sent)

    def sent_types(self) -> list[str]:
        """The ``type`` of every frame sent, oldest first."""
        return [frame.get("type", "") for frame in self.sent]

    def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` frames were sent; return them all.

        Raises:
            TimeoutError: Fewer frames came within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._sent) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} sent frames within {timeout} s, got {len(self._sent)}"
                    )
                self._cond.wait(remaining)
            return list(self._sent)

    def wait_for_type(self, event_type: str, timeout: float = 5.0) -> dict[str, Any]:
        """Block until a frame of ``event_type`` was sent; return the first one.

        Raises:
            TimeoutError: None came within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for frame in self._sent:
                    if frame.get("type") == event_type:
                        return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {event_type!r} frame was sent within {timeout} s")
                self._cond.wait(remaining)

    @property
    def pings(self) -> int:
        """How many pings the client sent."""
        return self._pings

    def wait_for_pings(self, count: int, timeout: float = 5.0) -> int:
        """Block until at least ``count`` pings were sent; return how many.

        Raises:
            TimeoutError: Fewer pings came within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._pings >= count, timeout):
                raise TimeoutError(f"expected {count} pings within {timeout} s, got {self._pings}")
            return self._pings

    @property
    def client_close(self) -> tuple[int, str] | None:
        """The client's close frame (code, reason), once it sent one."""
        return self._client_close

    @property
    def aborted(self) -> bool:
        """Whether the client cut the connection (``abort``)."""
        return self._aborted

    @property
    def is_shut_down(self) -> bool:
        """Whether the client released the transport (``shutdown``)."""
        return self._shut_down

    # --- the client's side: the Transport interface ------------------------------------------

    def frame_ready(self) -> bool:
        """Whether :meth:`recv` would return without waiting (like the real transport's)."""
        return not self._incoming.empty()

    def last_received(self) -> float:
        """When the last frame (or ping answer) arrived (the Transport interface)."""
        return self._last_received

    def recv(self) -> str | bytes:
        """Block until the "server" sends something (the Transport interface)."""
        item = self._incoming.get()
        self._last_received = time.monotonic()
        if isinstance(item, _Close):
            self._incoming.put(item)  # stay closed for any later recv
            if item is _ABORTED:
                raise ConnectionClosedError("the connection was aborted")
            if item.code is None:
                raise ConnectionClosedError("the connection broke")
            raise ConnectionClosedError(
                f"the server closed the connection (code {item.code})",
                code=item.code,
                reason=item.reason,
            )
        return item

    def send(self, frame: str, stalled: Callable[[], bool] | None = None) -> None:
        """Record one frame (the Transport interface).

        While sends are paused (a peer that stopped reading), ``stalled()`` is
        asked every ``TICK`` (0.25) seconds, as the
        real transport does; when it answers ``True`` the send fails.
        """
        with self._cond:
            while self._paused and not self._aborted:
                if not self._cond.wait(TICK) and stalled is not None and stalled():
                    self._aborted = True
                    self._incoming.put(_ABORTED)
                    raise TransportError("sending stalled: the peer stopped reading")
            if self._aborted or self._client_close is not None:
                raise TransportError("the connection is closed")
            if self._fail_next is not None:
                exc, self._fail_next = self._fail_next, None
                if isinstance(exc, RealtimeError):
                    raise exc
                raise TransportError(f"sending failed: {exc!r}") from exc
            self._sent.append(json.loads(frame))
            self._raw_sent.append(frame)
            self._cond.notify_all()

    def ping(self, stalled: Callable[[], bool] | None = None) -> None:
        """Count a ping, and answer it unless ``answer_pings=False`` (the Transport interface)."""
        with self._cond:
            if self._aborted:
                raise TransportError("the connection is closed")
            self._pings += 1
            if self._answer_pings:
                self._last_received = time.monotonic()
            self._cond.notify_all()

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Record the client's close frame; echo it if so configured."""
        with self._cond:
            if self._client_close is not None or self._aborted:
                return
            self._client_close = (code, reason)
            echo = self._echo_close and not self._server_closed
        if echo:
            self._incoming.put(_Close(code, reason))

    def abort(self) -> None:
        """Cut the connection: blocked ``recv`` and ``send`` calls fail at once."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()
        self._incoming.put(_ABORTED)

    def shutdown(self) -> None:
        """Release the transport."""
        with self._cond:
            self._shut_down = True
