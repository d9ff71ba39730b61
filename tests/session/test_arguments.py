"""Arguments are checked before any socket opens: wrong types raise TypeError,
bad values ValueError, each naming the argument, and the server never sees a
connection for a call that fails its checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.client import ConversationClient
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeTransport
from tests.session._peers import PeerConnection, RawPeer


def _weather(city: str) -> str:
    """The weather in a city."""
    return city


def _opaque(x: object) -> str:
    """Takes anything."""
    return str(x)


def _idle(connection: PeerConnection) -> None:
    try:
        for _ in range(100):  # bounded: until the client closes
            connection.read_event()
    except (ConnectionError, OSError):
        return


CLIENT_CASES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"ping_interval": 0}, ValueError, "ping_interval"),
    ({"ping_interval": "20"}, TypeError, "ping_interval"),
    ({"pong_timeout": -1.0}, ValueError, "pong_timeout"),
    ({"pong_timeout": math.nan}, ValueError, "pong_timeout"),
    ({"close_timeout": math.inf}, ValueError, "close_timeout"),
    ({"connect_timeout": True}, TypeError, "connect_timeout"),
    ({"request_timeout": 0}, ValueError, "request_timeout"),
    ({"ssl_context": "yes"}, TypeError, "ssl_context"),
    ({"transport_factory": 3}, TypeError, "transport_factory"),
]

START_CASES: list[tuple[Callable[[ConversationClient], object], type[Exception], str]] = [
    (lambda c: c.start_conversation(model=42), TypeError, "model"),  # type: ignore[arg-type]
    (lambda c: c.start_conversation(model=""), ValueError, "model"),
    (lambda c: c.start_conversation(options="x"), TypeError, "options"),  # type: ignore[arg-type]
    (lambda c: c.start_conversation(session={"x": 1}), TypeError, "session"),  # type: ignore[arg-type]
    (lambda c: c.start_conversation(on_error=5), TypeError, "on_error"),  # type: ignore[arg-type]
    (lambda c: c.start_conversation(on_close="f"), TypeError, "on_close"),  # type: ignore[arg-type]
    (lambda c: c.start_conversation(items=[{"type": "bogus"}]), ValueError, "item"),
    (
        lambda c: c.start_transcription(session=ev.RealtimeSessionConfig()),  # type: ignore[arg-type]
        TypeError,
        "session",
    ),
    (lambda c: c.attach_call(42), TypeError, "call_id"),  # type: ignore[arg-type]
    (lambda c: c.attach_call(""), ValueError, "call_id"),
]


class TestBeforeConnecting:
    @pytest.mark.parametrize(("kwargs", "error", "name"), CLIENT_CASES)
    def test_client_settings(self, kwargs, error, name):
        """A bad client setting fails in the constructor, naming the argument."""
        with pytest.raises(error, match=name):
            ConversationClient(api_key="sk-test", base_url="ws://127.0.0.1:9/v1", **kwargs)

    def test_no_socket_is_opened_for_a_bad_call(self):
        """Every failing start_*/attach_call raises before connecting: the server
        counts no connection until a valid call opens one."""
        with RawPeer(_idle) as peer:
            client = ConversationClient(base_url=peer.base_url, api_key="sk-test")
            for call, error, name in START_CASES:
                with pytest.raises(error, match=name):
                    call(client)
            with client.start_conversation() as session:
                assert not session.closed
            assert 1 == peer.accepted

    @pytest.mark.parametrize(
        ("kwargs", "error", "name"),
        [
            ({"ping_interval": -1}, ValueError, "ping_interval"),
            ({"options": "x"}, TypeError, "options"),
            ({"on_close": 1}, TypeError, "on_close"),
            ({"close_timeout": "5"}, TypeError, "close_timeout"),
        ],
    )
    def test_session_constructor(self, kwargs, error, name):
        """A session built directly checks the same arguments, before any thread starts."""
        with pytest.raises(error, match=name):
            ConversationSession(transport=FakeTransport(), **kwargs)

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [({"send_queue_bytes": 0}, ValueError), ({"send_queue_bytes": 1.5}, TypeError)],
    )
    def test_options(self, kwargs, error):
        """Options check their values where they are made."""
        with pytest.raises(error, match="send_queue_bytes"):
            ConversationOptions(**kwargs)

    @pytest.mark.parametrize(
        ("tools", "error", "match"),
        [
            ([_opaque], TypeError, "parameter 'x'"),  # a type JSON Schema cannot describe
            ([lambda: None], ValueError, "lambda"),  # not a valid tool name
            (["not a function"], TypeError, "callable"),
            ([_weather, _weather], ValueError, "_weather"),  # registered twice
        ],
    )
    def test_tools_are_checked_where_the_options_are_made(self, tools, error, match):
        """A tool the model could not be told about fails in ConversationOptions,
        naming it, not after a connection opened."""
        with pytest.raises(error, match=match):
            ConversationOptions(tools=tools)
        assert ConversationOptions(tools=[_weather]).tools == (_weather,)
        assert ConversationOptions(tools=iter([_weather])).tools == (_weather,)  # kept
