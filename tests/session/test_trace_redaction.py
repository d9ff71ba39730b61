"""No credential reaches a log: websocket-client's own trace (enableTrace) of the
handshake and every logger at DEBUG show the headers with their secrets redacted."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import websocket

from realtime_client.client import ConversationClient
from tests.session._peers import PeerConnection, RawPeer

SECRET = "sk-live-SECRETSECRET1234567890"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.payload.sig-TOKEN"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def everything_logged() -> Iterator[_Capture]:
    """websocket.enableTrace(True) and every known logger at DEBUG, captured."""
    capture = _Capture()
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(lg, lg.level) for lg in [root, *loggers]]
    for lg, _ in levels:
        lg.setLevel(logging.DEBUG)
    root.addHandler(capture)
    websocket.enableTrace(True, handler=capture)
    try:
        yield capture
    finally:
        websocket.enableTrace(False)
        root.removeHandler(capture)
        for lg, level in levels:
            lg.setLevel(level)


def _echo(connection: PeerConnection) -> None:
    try:
        for _ in range(100):  # bounded: until the client closes
            connection.read_event()
    except (ConnectionError, OSError):
        return


class TestTraceRedaction:
    def test_api_key_never_in_the_handshake_trace(self, everything_logged):
        """The handshake dump websocket-client prints shows Authorization redacted."""
        with RawPeer(_echo) as peer:
            client = ConversationClient(base_url=peer.base_url, api_key=SECRET)
            with client.start_conversation() as session:
                session.send_text("hello")
        text = "\n".join(everything_logged.lines)
        assert "request header" in text  # the trace did run
        assert "Authorization: [redacted]" in text
        assert SECRET not in text
        assert SECRET[-12:] not in text

    def test_token_provider_and_api_key_headers_redacted(self, everything_logged):
        """A bearer token from token_provider and an api-key header are redacted too."""
        with RawPeer(_echo) as peer:
            client = ConversationClient(base_url=peer.base_url, token_provider=lambda: TOKEN)
            with client.start_conversation():
                pass
            client = ConversationClient(
                base_url=peer.base_url, api_key=None, headers={"api-key": SECRET}
            )
            with client.start_conversation():
                pass
        text = "\n".join(everything_logged.lines)
        assert TOKEN not in text
        assert "sig-TOKEN" not in text
        assert SECRET not in text


@pytest.mark.parametrize(
    "secret", ["sk-proj-SECRET1234567890", "ek_68a1f2c3d4e5SECRET", "rk_live_SECRET12345678"]
)
def test_key_shaped_values_are_redacted_in_any_text(secret):
    """A key pasted where no credential header is expected (a custom header, a URL)
    is still redacted from the trace, with either separator: ephemeral client
    secrets are ``ek_...``."""
    from realtime_client._handshake import REDACTED, redact

    cleaned = redact(f"X-Custom: {secret}\r\nGET /v1/realtime?key={secret}")
    assert secret not in cleaned
    assert 2 == cleaned.count(REDACTED)
