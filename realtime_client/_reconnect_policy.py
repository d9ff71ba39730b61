"""How a session reconnects: the policy object and the event the app sees.

:class:`ReconnectPolicy` refines ``ConversationOptions(reconnect=True)``;
:class:`SessionReconnected` is the local event a reconnecting session hands to
callbacks and iterators (``MessageKind.RECONNECTED`` in ``receive_messages()``)
once it carries on over a new connection.

.. versionadded:: 0.2
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

import attrs

__all__ = ["RECONNECTED_TYPE", "ReconnectPolicy", "SessionReconnected", "Summarizer"]

RECONNECTED_TYPE: Final = "session.reconnected"
"""The ``type`` of :class:`SessionReconnected` (for ``session.on(...)``)."""

Summarizer = Callable[[Sequence[dict[str, Any]]], "str | None"]
"""Called with the oldest exported items; returns the text replayed in their place."""


def _positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'' if allow_zero else 'positive and '}finite, got {value!r}"
        )


@typing.final
@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    """How a session reconnects after an unexpected end and rolls over at its limit.

    Attributes:
        max_attempts: Connection attempts per reconnection before the session
            gives up and ends with the original error.
        backoff_initial: Seconds before the second attempt; doubled each time.
        backoff_max: The longest wait between attempts (a server's
            ``Retry-After`` of at most a minute wins).
        away_audio_seconds: Audio sent while away that is kept and sent once
            reconnected, in seconds of the input format; the rest is dropped
            and counted.
        away_frames: Other frames (events) kept while away; beyond it ``send*``
            raises :class:`~realtime_client.SendQueueFullError`.
        rollover: Move to a new connection before the session's ``expires_at``.
        rollover_margin: Seconds before ``expires_at`` at which the session
            rolls over (between turns; never sooner than half-way through a
            connection's life).
        max_replay_items: With ``summarize``: replay at most this many items,
            the oldest of the rest replaced by the hook's summary.
        summarize: ``summarize(oldest_items) -> text``: the summary replayed
            as a system message instead of the oldest items (``None``: replay
            them all).

    .. versionadded:: 0.2
    """

    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    away_audio_seconds: float = 5.0
    away_frames: int = 256
    rollover: bool = True
    rollover_margin: float = 60.0
    max_replay_items: int | None = None
    summarize: Summarizer | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        for name in ("max_attempts", "away_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        _positive("backoff_initial", self.backoff_initial)
        _positive("backoff_max", self.backoff_max)
        _positive("away_audio_seconds", self.away_audio_seconds, allow_zero=True)
        _positive("rollover_margin", self.rollover_margin, allow_zero=True)
        if self.max_replay_items is not None and (
            isinstance(self.max_replay_items, bool)
            or not isinstance(self.max_replay_items, int)
            or self.max_replay_items < 2
        ):
            raise ValueError(
                f"max_replay_items must be an int of at least 2, got {self.max_replay_items!r}"
            )
        if self.summarize is not None and not callable(self.summarize):
            raise TypeError("summarize must be callable")


@typing.final
@attrs.frozen(kw_only=True)
class SessionReconnected:
    """The session carries on over a new connection (a local event, never on the wire).

    Attributes:
        attempt: The connection attempt that succeeded (1 for the first).
        items_replayed: Conversation items recreated on the new connection.
        seconds_away: Seconds from the end of the old connection to the new one.
        audio_dropped_ms: Milliseconds of audio sent while away that were
            dropped (beyond ``away_audio_seconds``).
        reason: Why: ``"rollover"`` (before the session limit), ``"expired"``
            (the server ended it at its limit), or the old connection's error.
        rollover: Planned (the session limit), not a failure.

    .. versionadded:: 0.2
    """

    type: Literal["session.reconnected"] = RECONNECTED_TYPE
    attempt: int = 1
    items_replayed: int = 0
    seconds_away: float = 0.0
    audio_dropped_ms: int = 0
    reason: str = ""
    rollover: bool = False
