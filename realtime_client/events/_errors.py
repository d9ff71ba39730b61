"""The codec's exception, and the root it shares with every realtime_client exception.

They live here, in the model, so that :mod:`realtime_client.events` imports nothing
from the package above it. Their public home is :mod:`realtime_client.errors`, which
re-exports both (the same classes, so ``except realtime_client.ProtocolError`` catches
what the codec raises); ``__module__`` names that home, for tracebacks and pickles.
"""

from __future__ import annotations

from typing import final

__all__ = ["ProtocolError", "RealtimeError"]


class RealtimeError(Exception):
    """The root of every exception realtime_client raises."""

    __module__ = "realtime_client.errors"


@final
class ProtocolError(RealtimeError):
    """A frame that is not a valid event, or an event that cannot be encoded.

    The message names the event type (when known) and the field path.

    Args:
        message: What was wrong.
        raw: The offending frame (truncated for display), when there was one.
        details: One line per problem found, each with its field path.
    """

    __module__ = "realtime_client.errors"

    def __init__(
        self, message: str, *, raw: str | None = None, details: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.raw = raw
        self.details = details
