"""Connect retries: which handshake failures are retried, and how long the client waits."""

from __future__ import annotations

import logging
import random
import ssl

import pytest

from realtime_client._retry import Backoff, connect_with_retries, is_transient, retry_after
from realtime_client.errors import (
    AuthenticationError,
    ConnectError,
    RealtimeTimeoutError,
)


def _refused() -> ConnectError:
    error = ConnectError("cannot connect to 127.0.0.1:1: [Errno 111] Connection refused")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


def _status(code: int, headers: dict[str, str] | None = None) -> ConnectError:
    cls = AuthenticationError if code in (401, 403) else ConnectError
    return cls(f"handshake failed: HTTP {code}", status_code=code, headers=headers)


class Script:
    """Raises the scripted errors in turn, then returns "connected"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "connected"


class TestIsTransient:
    @pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504])
    def test_retryable_statuses(self, code: int) -> None:
        """HTTP 408, 409, 429 and every 5xx are retried, as openai-python retries them."""
        assert is_transient(_status(code))

    @pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
    def test_client_errors_fail_at_once(self, code: int) -> None:
        """A wrong key (401/403) or any other 4xx is not retried: it will not get better."""
        assert not is_transient(_status(code))

    def test_no_answer_is_transient(self) -> None:
        """A refused or reset connection and a handshake timeout are retried."""
        assert is_transient(_refused())
        assert is_transient(RealtimeTimeoutError("connecting took longer than 10 s"))

    def test_bad_certificate_is_final(self) -> None:
        """A certificate that does not verify is never retried."""
        error = ConnectError("TLS with example.com:443 failed")
        error.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
        assert not is_transient(error)


class TestRetryAfter:
    def test_milliseconds_win(self) -> None:
        """retry-after-ms is read first, in milliseconds."""
        assert retry_after({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5

    def test_seconds_and_dates(self) -> None:
        """Retry-After is seconds or an HTTP date, header names in any case."""
        assert retry_after({"Retry-After": "2"}) == 2.0
        now = 784111777.0  # Sun, 06 Nov 1994 08:49:37 GMT
        assert retry_after({"retry-after": "Sun, 06 Nov 1994 08:49:40 GMT"}, now=now) == 3.0

    @pytest.mark.parametrize("value", ["0", "-1", "61", "soon", "nan", "inf"])
    def test_unusable_hints_are_ignored(self, value: str) -> None:
        """A hint that is unreadable, not positive or over a minute falls back to backoff."""
        assert retry_after({"Retry-After": value}) is None
        assert retry_after(None) is None


class TestBackoff:
    def test_doubles_up_to_the_cap_with_jitter(self) -> None:
        """Waits double from 0.5 s, stop growing at 8 s, and lose at most 25 % to jitter."""
        backoff = Backoff()
        rng = random.Random(7)
        for retry, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 8.0]):
            wait = backoff.delay(retry, rng=rng)
            assert 0.75 * base <= wait <= base

    def test_hint_wins(self) -> None:
        """The server's hint replaces the computed wait."""
        assert Backoff().delay(5, hint=0.25) == 0.25


class TestConnectWithRetries:
    def test_two_transient_failures_then_success(self) -> None:
        """With the default two retries, two transient failures still connect."""
        waits: list[float] = []
        script = Script(_refused(), _status(503))
        assert "connected" == connect_with_retries(
            script, max_retries=2, target="127.0.0.1:1", sleep=waits.append
        )
        assert 3 == script.calls
        assert 2 == len(waits)

    def test_401_fails_at_once(self) -> None:
        """A 401 is raised on the first attempt, with no wait and no retry."""
        waits: list[float] = []
        script = Script(_status(401))
        with pytest.raises(AuthenticationError) as caught:
            connect_with_retries(script, max_retries=2, target="h", sleep=waits.append)
        assert (1, [], 1) == (script.calls, waits, caught.value.attempts)
        assert "attempts" not in str(caught.value)

    def test_final_error_counts_attempts(self) -> None:
        """When retries run out, the last error says how many attempts were made."""
        script = Script(_status(500), _status(502), _status(503))
        with pytest.raises(ConnectError) as caught:
            connect_with_retries(script, max_retries=2, target="h", sleep=lambda _: None)
        assert 503 == caught.value.status_code
        assert 3 == caught.value.attempts
        assert str(caught.value).endswith("(gave up after 3 attempts)")

    def test_zero_turns_retries_off(self) -> None:
        """max_retries=0 makes one attempt only."""
        script = Script(_refused())
        with pytest.raises(ConnectError):
            connect_with_retries(script, max_retries=0, target="h", sleep=lambda _: None)
        assert 1 == script.calls

    def test_retry_after_is_honoured(self) -> None:
        """A 429 with retry-after-ms waits exactly what the server asked."""
        waits: list[float] = []
        script = Script(_status(429, {"retry-after-ms": "250"}))
        connect_with_retries(script, max_retries=2, target="h", sleep=waits.append)
        assert [0.25] == waits

    def test_each_retry_is_logged_at_info(self, caplog: pytest.LogCaptureFixture) -> None:
        """Each retry is one INFO line naming the host and the failure, not the error body."""
        caplog.set_level(logging.INFO, logger="realtime_client")
        script = Script(_status(429, {"Retry-After": "1"}))
        connect_with_retries(script, max_retries=2, target="api.example:443", sleep=lambda _: None)
        (record,) = caplog.records
        assert logging.INFO == record.levelno
        assert "api.example:443" in record.getMessage()
        assert "HTTP 429" in record.getMessage()
