"""Retrying a failed WebSocket handshake: which failures are transient, how long to wait.

The rules follow what openai-python does for its HTTP requests, so that an app moving
between the two sees the same behaviour: two retries by default, exponential backoff
from 0.5 s capped at 8 s with up to 25 % jitter taken off, and a server's
``retry-after-ms`` or ``Retry-After`` hint honoured when it asks for at most a minute.

Transient: no answer at all (refused, reset, unreachable, a handshake that timed out)
and HTTP 408, 409, 429 and 5xx. Everything else fails at once: 401 and 403 (a wrong
key does not get better), any other 4xx, and a TLS certificate that does not verify.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

import attrs

from .errors import AuthenticationError, ConnectError, RealtimeTimeoutError

__all__ = ["Backoff", "connect_with_retries", "is_transient", "retry_after"]

_log = logging.getLogger("realtime_client")

T = TypeVar("T")

_TRANSIENT_STATUS: Final = frozenset({408, 409, 429})
_LONGEST_HINT: Final = 60.0  # a longer Retry-After is not waited for: the caller decides


@attrs.frozen(kw_only=True)
class Backoff:
    """Exponential backoff with jitter: ``min(initial * 2**n, maximum)`` less up to 25 %."""

    initial: float = 0.5
    maximum: float = 8.0

    def delay(
        self, retry: int, *, hint: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry).

        A server's hint wins when there is one.
        """
        if hint is not None:
            return hint
        base = min(self.initial * math.pow(2.0, retry), self.maximum)
        jitter = 1.0 - 0.25 * (rng or random).random()
        return base * jitter


def retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """The wait a server asked for, in seconds, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP date. Hints that cannot be read, that are
    not positive, or that ask for more than a minute are ignored (None).
    """
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    seconds: float | None = None
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            seconds = float(millis) / 1000.0
        except ValueError:
            seconds = None
    if seconds is None and (value := lowered.get("retry-after")) is not None:
        try:
            seconds = float(value)
        except ValueError:
            import email.utils  # lazy: an HTTP date is rare, and email costs its import

            when = email.utils.parsedate_tz(value)
            if when is not None:
                seconds = email.utils.mktime_tz(when) - (time.time() if now is None else now)
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= _LONGEST_HINT:
        return None
    return seconds


def is_transient(error: BaseException) -> bool:
    """Whether a failed handshake is worth trying again."""
    if isinstance(error, RealtimeTimeoutError):
        return True
    if isinstance(error, AuthenticationError) or not isinstance(error, ConnectError):
        return False
    if error.status_code is None:
        # No HTTP answer: refused, reset or unreachable is transient; a certificate
        # that does not verify will not verify next time either.
        import ssl  # lazy: loaded by then, with the connection that failed

        return not isinstance(error.__cause__, ssl.SSLCertVerificationError)
    return error.status_code in _TRANSIENT_STATUS or error.status_code >= 500


def connect_with_retries(
    attempt: Callable[[], T],
    *,
    max_retries: int,
    target: str,
    backoff: Backoff = Backoff(),
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Call ``attempt`` until it succeeds, a failure is not transient, or retries run out.

    Args:
        attempt: Opens the connection; raises ConnectError or RealtimeTimeoutError.
        max_retries: Retries after the first attempt (0: no retry).
        target: Where the connection goes, for the log (a host, never a URL with secrets).
        backoff: The waits between attempts, unless the server gives a hint.
        sleep: How to wait (tests pass a recorder).

    Raises:
        ConnectError: The last failure, its ``attempts`` set to the attempts made.
        RealtimeTimeoutError: Likewise, when the last attempt timed out.
    """
    retry = 0
    while True:
        try:
            return attempt()
        except (ConnectError, RealtimeTimeoutError) as error:
            attempts = retry + 1
            if retry >= max_retries or not is_transient(error):
                if attempts > 1:
                    error.attempts = attempts
                    error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
                raise
            hint = retry_after(error.headers) if isinstance(error, ConnectError) else None
            wait = backoff.delay(retry, hint=hint)
            _log.info(
                "connecting to %s failed (%s); retrying in %.2f s (retry %d of %d)",
                target,
                _short(error),
                wait,
                retry + 1,
                max_retries,
            )
            sleep(wait)
            retry += 1


def _short(error: BaseException) -> str:
    status = getattr(error, "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    if isinstance(error, RealtimeTimeoutError):
        return "timed out"
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else type(error).__name__
