"""Carrying a session over a new connection: after a drop, at expiry, and before the limit.

:class:`Reconnector` is the part of a :class:`~realtime_client._session_core.SessionCore`
that exists only with ``ConversationOptions(reconnect=...)``. It routes the
session's sends (to the connection, or to an :class:`AwayBuffer` while there is
none), watches ``session.created`` for the session limit and voice activity for
the user speaking, and runs each reconnection on a short-lived thread
(``realtime-reconnect-<n>``) that ends once the new connection is started:

1. the old connection is shut (for a rollover, only once the new handshake
   succeeded, so a failed rollover loses nothing);
2. requests sent but not started go back to the front of the response queue;
   a response cut by the drop is finished as ``incomplete`` (reason
   ``connection_lost``);
3. the new connection's queue gets, in order: every ``session.update`` the
   session sent (its configuration and tools), the conversation's items
   (``conversation.item.create``, audio without bytes as its transcript), then
   what was sent while away;
4. the new connection starts; its reader first delivers the cut responses'
   ``response.done`` and a :class:`~realtime_client.SessionReconnected` event.

If no attempt succeeds, the session ends with the original error.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import typing
from collections.abc import Callable, Sequence
from typing import Any, Final

from . import events as ev
from ._checks import encode_event
from ._connection import ABORT_GRACE, Connection, EndCause, Ending
from ._reconnect_policy import ReconnectPolicy, SessionReconnected
from ._retry import Backoff, is_transient, retry_after
from ._transport import Transport
from .conversation import ConversationState
from .errors import (
    ConnectError,
    ConnectionClosedError,
    RealtimeTimeoutError,
    SendQueueFullError,
    SessionClosedError,
)

if typing.TYPE_CHECKING:
    from ._session_conversation import ConversationLayer
    from ._session_core import SessionCore

__all__ = ["AwayBuffer", "Reconnector"]

_log = logging.getLogger("realtime_client")

_AUDIO_PREFIX: Final = '{"type":"input_audio_buffer.append"'
_UPDATE_PREFIX: Final = '{"type":"session.update"'
_COMMIT_PREFIXES: Final = (
    '{"type":"input_audio_buffer.commit"',
    '{"type":"input_audio_buffer.clear"',
)
_FRAME_OVERHEAD: Final = len('{"type":"input_audio_buffer.append","audio":""}')
_KEPT_UPDATES: Final = 32  # session.update frames replayed at most (the first one always)
_RETRYABLE_CODES: Final = frozenset({1001, 1006, 1011, 1012, 1013, 1014})
_CUT_REASON: Final = "connection_lost"
_TURN_POLL: Final = 0.01  # how often a rollover looks whether the last turn has finished
_numbers = itertools.count(1)


def _audio_bytes(frame: str) -> int:
    """The audio bytes an encoded append frame carries (base64: 3 bytes per 4 characters)."""
    return max(len(frame) - _FRAME_OVERHEAD, 0) * 3 // 4


@typing.final
class AwayBuffer:
    """What the app sends while the session has no connection, within bounds.

    Audio appends are kept up to ``audio_limit`` bytes, the rest dropped and
    counted; other frames up to ``max_frames``, beyond which a send fails with
    :class:`~realtime_client.SendQueueFullError` having kept nothing.
    """

    def __init__(self, *, audio_limit: int, max_frames: int) -> None:
        self._lock = threading.Lock()
        self.frames: list[str] = []
        self._audio = 0
        self._audio_limit = audio_limit
        self._max_frames = max_frames
        self._others = 0
        self.dropped_bytes = 0

    def put(self, frames: Sequence[str]) -> None:
        with self._lock:
            others = sum(1 for f in frames if not f.startswith(_AUDIO_PREFIX))
            if others and self._others + others > self._max_frames:
                raise SendQueueFullError(
                    f"the session is reconnecting and already holds {self._others} events "
                    f"to send once reconnected (the most it keeps); nothing was queued"
                )
            self._others += others
            for frame in frames:
                if frame.startswith(_AUDIO_PREFIX):
                    size = _audio_bytes(frame)
                    if self._audio + size > self._audio_limit:
                        self.dropped_bytes += size
                        continue
                    self._audio += size
                self.frames.append(frame)


@typing.final
class Reconnector:
    """Reconnection, replay and rollover for one session (see the module docs).

    Contract: :meth:`send` from any thread; :meth:`observe` on the reader
    thread; :meth:`rollover_due` on the writer thread; :meth:`begin` from the
    reader (a drop) or the writer (a rollover); :meth:`stop` from the closing
    thread. Lock order: the session's lock, then the route lock, then an away
    buffer's.
    """

    def __init__(
        self,
        core: SessionCore[ConversationLayer],
        policy: ReconnectPolicy,
        connect: Callable[[], Transport],
        *,
        audio_bytes_per_second: int,
        turn_limit: float,
        manual_turns: bool = False,
    ) -> None:
        self._core = core
        self._turn_limit = turn_limit
        self.policy = policy
        self._connect = connect
        self._audio_limit = int(policy.away_audio_seconds * audio_bytes_per_second)
        self._bytes_per_ms = max(audio_bytes_per_second // 1000, 1)
        self._route = threading.Condition(threading.Lock())
        self._away: AwayBuffer | None = None
        self._thread: threading.Thread | None = None
        self._again: tuple[Connection, str] | None = None  # a drop seen while busy
        self._stop = threading.Event()
        self._updates: list[str] = []
        self.retiring: Connection | None = None
        self._rollover_at: float | None = None
        self._speaking = False
        self._manual = manual_turns
        self._uncommitted = False  # manual turns: audio appended since the last commit/clear
        self.pending_events: list[Any] = []  # for the new reader to deliver first
        self.reconnects = 0

    # --- sending (any thread) --------------------------------------------------------------

    def send(self, frames: list[str], timeout: float | None) -> None:
        """Send over the current connection, or keep for the next one while away.

        In the instant between a connection failing and the reconnection
        starting, a send waits for the switch up to its own ``timeout`` (so an
        audio callback's ``timeout=0`` never waits: it gets SendQueueFullError,
        nothing queued, as with a full queue).
        """
        for frame in frames:
            if frame.startswith(_UPDATE_PREFIX):
                self._remember_update(frame)
            elif self._manual:
                if frame.startswith(_AUDIO_PREFIX):
                    self._uncommitted = True
                elif frame.startswith(_COMMIT_PREFIXES):
                    self._uncommitted = False
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in range(3):
            with self._route:
                away = self._away
                conn = self._core.conn
            if away is not None:
                away.put(frames)
                return
            try:
                conn.send(frames, timeout)
                return
            except (ConnectionClosedError, SessionClosedError):
                if not self._core.is_open():
                    raise
                # The connection ended under us: wait for the reader to start
                # the reconnection (or end the session), then route again.
                wait = ABORT_GRACE
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                with self._route:
                    if self._away is None and self._core.conn is conn:
                        if wait <= 0:
                            raise SendQueueFullError(
                                "the connection just ended and the session is about to "
                                "reconnect; nothing was queued"
                            ) from None
                        self._route.wait(wait)
        raise ConnectionClosedError("the connection ended and the session did not reconnect")

    def _remember_update(self, frame: str) -> None:
        with self._route:
            updates = self._updates
            updates.append(frame)
            if len(updates) > _KEPT_UPDATES:
                del updates[1]  # keep the first configuration and the latest changes

    # --- observing (reader thread) ---------------------------------------------------------

    def observe(self, event: Any) -> None:
        kind = type(event)
        if kind is ev.SessionCreatedEvent:
            expires_at = getattr(event.session, "expires_at", None)
            if isinstance(expires_at, (int, float)) and expires_at > 0:
                now = time.monotonic()
                left = expires_at - time.time()
                # Never sooner than half-way through: a margin longer than the
                # whole session must not roll over at once, again and again.
                self._rollover_at = now + max(left - self.policy.rollover_margin, left / 2)
                self._core.conn.wake()
        elif kind is ev.InputAudioBufferSpeechStartedEvent:
            self._speaking = True
        elif kind in (ev.InputAudioBufferSpeechStoppedEvent, ev.InputAudioBufferClearedEvent):
            self._speaking = False

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        return

    # --- deciding --------------------------------------------------------------------------

    @staticmethod
    def wants(ending: Ending | None) -> bool:
        """Whether a connection that ended this way is worth reconnecting."""
        if ending is None or ending.error is None:
            return False  # closed by the app, or by the server with 1000
        if ending.cause in (EndCause.BROKEN, EndCause.UNRESPONSIVE, EndCause.EXPIRED):
            return True
        error = ending.error
        return isinstance(error, ConnectionClosedError) and (
            error.code is None or error.code in _RETRYABLE_CODES
        )

    def rollover_due(self, now: float) -> float | None:
        """Writer thread: start a rollover when the limit nears and the session is
        between turns; returns when to look again."""
        due = self._rollover_at
        if due is None or not self.policy.rollover or self._thread is not None:
            return None
        if now < due:
            return due
        if self._speaking or self._uncommitted or not self._core.layer.gate.idle:
            return now + 0.05  # between turns only: look again shortly
        self._rollover_at = None
        self.begin(self._core.conn, "rollover", planned=True)
        return None

    # --- reconnecting ----------------------------------------------------------------------

    def owns(self, thread: threading.Thread) -> bool:
        return thread is self._thread

    def begin(self, old: Connection, reason: str, *, planned: bool) -> None:
        """Start a reconnection: sends are kept from now on (for a rollover, from
        when the new connection is open: the old one carries them until then)."""
        with self._route:
            if not planned:
                self._go_away()  # also when a rollover is under way: it carries on
            if self._thread is not None:
                if not planned:
                    # A connection ended while a reconnection is finishing: if it is
                    # the one that reconnection installed, go again once it is done.
                    self._again = (old, reason)
                return
            # Started under the lock: stop() never sees a thread that is not running yet.
            self._thread = threading.Thread(
                target=self._run,
                args=(old, reason, planned, time.monotonic()),
                name=f"realtime-reconnect-{next(_numbers)}",
                daemon=True,
            )
            self._thread.start()
            self._route.notify_all()
        if planned:
            _log.info("rolling the session over to a new connection before its limit")
        else:
            _log.warning("connection lost (%s); reconnecting", reason)

    def _go_away(self) -> None:
        """With the route lock held: keep sends for the next connection."""
        if self._away is not None:
            return
        self._away = AwayBuffer(audio_limit=self._audio_limit, max_frames=self.policy.away_frames)
        self._route.notify_all()

    def stop(self, deadline: float) -> None:
        """The session is closing: stop reconnecting and drop what was kept."""
        self._stop.set()
        with self._route:
            thread, retiring = self._thread, self.retiring
        current = threading.current_thread()
        # Not the reconnect thread itself, nor a callback of the connection it is
        # moving away from (it joins that thread when it shuts that connection:
        # waiting for it here would wait for ourselves). That connection is shut by
        # the close itself, and the reconnection, stopped, installs nothing.
        leaving = retiring if retiring is not None else self._core.conn
        if thread is not None and thread is not current and not leaving.owns(current):
            thread.join(max(deadline - time.monotonic(), 0.0))
        with self._route:
            self._away = None
            self._route.notify_all()

    def _run(self, old: Connection, reason: str, planned: bool, since: float) -> None:
        transport: Transport | None = None
        try:
            if planned:
                transport, attempt = self._open_new()
                if transport is None:
                    return  # carry on over the old connection (the server ends it at
                    # its limit, and then the session reconnects)
                with self._route:
                    self._go_away()
                    self.retiring = old
                since = time.monotonic()
                self._let_the_turn_finish(old)
                old.shut(time.monotonic() + self._core.close_timeout, started=True)
            else:
                old.shut(time.monotonic() + ABORT_GRACE, started=True)
                transport, attempt = self._open_new()
                if transport is None:
                    self._give_up()
                    return
            if self._switch(transport, attempt, reason, planned, since):
                transport = None
        except Exception:
            _log.exception("reconnecting failed")
            self._give_up()
        finally:
            if transport is not None:
                transport.abort()
                transport.shutdown()
            with self._route:
                self._thread = None
                self.retiring = None
                again, self._again = self._again, None
            if again is not None and again[0] is self._core.conn and self._core.is_open():
                self.begin(again[0], again[1], planned=False)

    def _let_the_turn_finish(self, old: Connection) -> None:
        """Rollover: new requests are held from now on; a turn the old connection
        started (while the new one opened) finishes there first, up to the
        response start limit or the old connection's end (then it is cut as
        after a drop)."""
        gate = self._core.layer.gate
        limit = time.monotonic() + self._turn_limit
        while (
            time.monotonic() < limit and not self._stop.is_set() and old.termination.ending is None
        ):
            with self._route:
                held = set(self._away.frames) if self._away is not None else set()
            if not gate.started_elsewhere(held):
                return
            self._stop.wait(_TURN_POLL)

    def _open_new(self) -> tuple[Transport | None, int]:
        policy = self.policy
        backoff = Backoff(initial=policy.backoff_initial, maximum=policy.backoff_max)
        for attempt in range(1, policy.max_attempts + 1):
            if self._stop.is_set() or not self._core.is_open():
                return None, attempt
            try:
                return self._connect(), attempt
            except (ConnectError, RealtimeTimeoutError) as error:
                if attempt == policy.max_attempts or not is_transient(error):
                    _log.warning("reconnecting failed after %d attempts: %s", attempt, error)
                    return None, attempt
                hint = retry_after(error.headers) if isinstance(error, ConnectError) else None
                wait = backoff.delay(attempt - 1, hint=hint)
                _log.info(
                    "reconnection attempt %d of %d failed (%s); next in %.2f s",
                    attempt,
                    policy.max_attempts,
                    error,
                    wait,
                )
                if self._stop.wait(wait):
                    return None, attempt
        return None, policy.max_attempts

    def _give_up(self) -> None:
        """No new connection: the session ends with the original error."""
        with self._route:
            self._away = None
            self._route.notify_all()
        self._core.close(None)

    def _switch(
        self, transport: Transport, attempt: int, reason: str, planned: bool, since: float
    ) -> bool:
        """Install a connection over ``transport`` and start it; whether it was installed."""
        core = self._core
        frames, replayed = self._replay_frames()
        new = core.new_connection(transport)
        with core.lock:
            if not core.is_open_locked():
                return False  # the app is closing the session
            with self._route:
                away, self._away = self._away, None
                kept = away.frames if away is not None else []
                held = set(kept)
                # Requests whose frames are held go out with them; the others
                # (sent on the old connection, never started) are queued again.
                cut, before = core.layer.gate.requeue_in_flight(held)
                lost = [f for f in _lost(before, core.layer.state) if f not in held]
                new.send([*frames, *lost, *kept], force=True)
                core.conn = new
                self.retiring = None
                self._route.notify_all()
        done = [_cut_response(rid) for rid in cut]
        dropped = away.dropped_bytes if away is not None else 0
        if dropped:
            _log.warning(
                "dropped %d ms of audio sent while reconnecting (more than %g s)",
                dropped // self._bytes_per_ms,
                self.policy.away_audio_seconds,
            )
        self.reconnects += 1
        notice = SessionReconnected(
            attempt=attempt,
            items_replayed=replayed,
            seconds_away=time.monotonic() - since,
            audio_dropped_ms=dropped // self._bytes_per_ms,
            reason=reason,
            rollover=planned,
        )
        self.pending_events = [*done, notice]
        if not done:
            core.layer.gate.resume()  # nothing cut: the queued request goes now
        new.start()
        _log.info(
            "reconnected (attempt %d, %d items replayed, %.3f s away)",
            attempt,
            replayed,
            notice.seconds_away,
        )
        return True

    def _replay_frames(self) -> tuple[list[str], int]:
        """The new connection's first frames: configuration, then the items."""
        with self._route:
            frames = list(self._updates)
        state = self._core.layer.state
        items: list[ev.ConversationItem | dict[str, Any]] = list(state.items)
        limit = self.policy.max_replay_items
        summarize = self.policy.summarize
        if limit is not None and summarize is not None and len(items) > limit:
            cut = len(items) - limit + 1
            oldest = state.export()[:cut]  # JSON-ready, for the app's summarizer
            items = items[cut:]
            summary = summarize(oldest)
            if summary:
                items.insert(
                    0,
                    {
                        "type": "message",
                        "role": "system",
                        "content": [{"type": "input_text", "text": summary}],
                    },
                )
            for entry in oldest:  # the server no longer holds them: neither does the state
                item_id = entry.get("id")
                if isinstance(item_id, str):
                    state.feed(ev.ConversationItemDeletedEvent(event_id="", item_id=item_id))
        # Typed items need no decoding: only the summary (a dict) is checked.
        # Nothing is cached between replays, so a long session holds no second
        # copy of its conversation; encoding is about 0.1-0.2 ms per item.
        events = ConversationState.seed_events(items)
        frames.extend(encode_event(event) for event in events)
        return frames, len(events)


def _lost(frames: list[str], state: ConversationState) -> list[str]:
    """The item frames sent with requeued requests that the server never reported:
    sent again (only those that name their item, so nothing is created twice)."""
    lost = []
    for frame in frames:
        try:
            item_id = json.loads(frame).get("item", {}).get("id")
        except (ValueError, AttributeError):
            continue
        if isinstance(item_id, str) and item_id not in state:
            lost.append(frame)
    return lost


def _cut_response(response_id: str) -> ev.ResponseDoneEvent:
    details = ev.ResponseStatusDetails(type="incomplete", reason=_CUT_REASON)
    response = ev.Response(id=response_id, status="incomplete", status_details=details)
    return ev.ResponseDoneEvent(event_id="", response=response)
