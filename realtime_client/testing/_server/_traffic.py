"""What both kinds of server connection record, and the waits on it.

:class:`~realtime_client.testing.FakeConnection` (conversations) and
:class:`~realtime_client.testing._server._translation.TranslationConnection`
keep the same log: the decoded events both ways, every frame with its timing,
where a replay differed, and whether the connection ended. The log, its
copies for tests and the waits on it live here once; each connection fills it
from its own thread and adds its protocol's controls.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Final, Generic, TypeVar

from ._record import TrafficEntry, save_traffic

__all__ = ["DEFAULT_WAIT", "TrafficLog"]

DEFAULT_WAIT: Final = 5.0
R = TypeVar("R")
S = TypeVar("S")


class TrafficLog(Generic[R, S]):
    """The traffic of one connection: received events ``R``, sent events ``S``.

    Contract: the connection appends under ``_cond`` and notifies it, and sets
    ``_closed`` when it has ended; tests read copies and wait from any thread.

    Args:
        path: The request path with its query.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._cond = threading.Condition()
        self._received: list[R] = []
        self._sent: list[S] = []
        self._traffic: list[TrafficEntry] = []
        self._replay_mismatches: list[str] = []
        self._closed = threading.Event()
        self._opened = time.monotonic()

    @property
    def path(self) -> str:
        """The request path with its query, for example ``/v1/realtime?model=gpt-realtime``."""
        return self._path

    @property
    def received(self) -> list[R]:
        """Every client event received and decoded, in order (a copy)."""
        with self._cond:
            return list(self._received)

    @property
    def sent(self) -> list[S]:
        """Every event sent, in order (a copy); raw frames from ``send_raw`` excluded."""
        with self._cond:
            return list(self._sent)

    @property
    def traffic(self) -> list[TrafficEntry]:
        """All frames both ways and the close, with timing (a copy)."""
        with self._cond:
            return list(self._traffic)

    @property
    def replay_mismatches(self) -> list[str]:
        """When replaying: where the client's frames differed from the recording."""
        with self._cond:
            return list(self._replay_mismatches)

    def wait_for_received(
        self, event_type: str, *, count: int = 1, timeout: float = DEFAULT_WAIT
    ) -> R:
        """Wait until ``count`` client events of a type have been received; return the last.

        Raises:
            TimeoutError: They did not arrive in time, or the connection ended first.
        """
        found: R = self._wait(self._received, event_type, count, timeout, "received")
        return found

    def wait_for_sent(
        self, event_type: str, *, count: int = 1, timeout: float = DEFAULT_WAIT
    ) -> S:
        """Wait until ``count`` events of a type have been sent; return the last.

        Raises:
            TimeoutError: They were not sent in time, or the connection ended first.
        """
        found: S = self._wait(self._sent, event_type, count, timeout, "sent")
        return found

    def _wait(
        self, source: list[Any], event_type: str, count: int, timeout: float, what: str
    ) -> Any:
        def matches() -> list[Any]:
            return [e for e in source if e.type == event_type]

        with self._cond:
            if not self._cond.wait_for(
                lambda: len(matches()) >= count or self._closed.is_set(), timeout
            ):
                raise TimeoutError(f"no {count} {event_type!r} {what} within {timeout} s")
            found = matches()
            if len(found) < count:
                raise TimeoutError(f"connection closed before {count} {event_type!r} were {what}")
            return found[count - 1]

    def wait_closed(self, timeout: float = DEFAULT_WAIT) -> bool:
        """Wait for the connection to end; False if it is still open after ``timeout``."""
        return self._closed.wait(timeout)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this connection's traffic so far as JSONL (replayable)."""
        save_traffic(path, self.traffic, request_path=self._path)

    # --- the connection's side ----------------------------------------------------------------

    def _now(self) -> float:
        """Seconds since the connection opened, for the traffic's timing."""
        return time.monotonic() - self._opened

    def _record(self, entry: TrafficEntry) -> None:
        with self._cond:
            self._traffic.append(entry)
            self._cond.notify_all()

    def _note_received(self, event: R) -> None:
        with self._cond:
            self._received.append(event)
            self._cond.notify_all()

    def _note_sent(self, event: S) -> None:
        with self._cond:
            self._sent.append(event)
            self._cond.notify_all()

    def _compare(self, expected: str, got: str | bytes) -> None:
        """Replaying: note a client frame whose type is not the recording's."""

        def kind(frame: str | bytes) -> object:
            try:
                data = json.loads(frame)
            except ValueError:
                return None
            return data.get("type") if isinstance(data, dict) else None

        if kind(expected) != kind(got):
            with self._cond:
                self._replay_mismatches.append(
                    f"expected a {kind(expected)!r} frame from the client, got {kind(got)!r}"
                )
