"""Interoperability: clients this project did not write drive the offline server.

These tests run in the tox env ``interop``, which installs the clients (pinned
there). Elsewhere they are not collected, so the default test env needs none of
them; with ``REALTIME_INTEROP=1`` (set by that env) a missing client is an error,
never a silent skip.

Every frame every server sent is validated, at teardown, by the official SDK's
own pydantic types (``openai.types.realtime.RealtimeServerEvent``), strictly:
a field the SDK does not know fails the test. The order checker of the
server's own tests runs over the same frames.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from realtime_client.testing import FakeRealtimeServer
from tests.server.conftest import speech_fixture
from tests.server.protocol_order import assert_order

_CLIENTS = ("openai", "agents", "pipecat", "websockets")
if os.environ.get("REALTIME_INTEROP") != "1" and not all(
    importlib.util.find_spec(name) for name in _CLIENTS
):
    collect_ignore_glob = ["test_*.py"]

KEY = "sk-interop-test"
SECOND = b"\x10\x00" * 24000  # one second of quiet PCM16 at 24 kHz
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}

# Fields the service sends that the SDK's types do not declare (the protocol
# reference's README, "Where the spec disagrees with what the server sends", 4).
_KNOWN_EXTRAS = {("session", "id"), ("session", "object"), ("session", "expires_at")}


def _extras(value: Any, path: str, out: list[str]) -> None:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for name in value.model_extra or {}:
            if (path.rsplit(".", 1)[-1], name) not in _KNOWN_EXTRAS:
                out.append(f"{path}.{name}")
        for name in type(value).model_fields:
            _extras(getattr(value, name), f"{path}.{name}", out)
    elif isinstance(value, (list, tuple)):
        for index, each in enumerate(value):
            _extras(each, f"{path}[{index}]", out)
    elif isinstance(value, dict):
        for key, each in value.items():
            _extras(each, f"{path}.{key}", out)


@functools.cache
def _adapter() -> Any:
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    return TypeAdapter(RealtimeServerEvent)


def validate_frame(frame: str) -> Any:
    """Parse one server frame with the SDK's types; fail on an unknown field.

    Returns:
        The SDK's event object.
    """
    event = _adapter().validate_json(frame)
    unknown: list[str] = []
    _extras(event, str(json.loads(frame).get("type")), unknown)
    assert unknown == [], f"fields the SDK does not know: {unknown}"
    return event


@pytest.fixture
def make_server() -> Iterator[Callable[..., FakeRealtimeServer]]:
    """Servers that are stopped, then checked: every frame valid and in order."""
    servers: list[FakeRealtimeServer] = []

    def make(**options: Any) -> FakeRealtimeServer:
        options.setdefault("speed", 50.0)
        options.setdefault("speech_engine", "synthetic")
        options.setdefault("api_key", KEY)
        server = FakeRealtimeServer(**options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    for server in servers:
        for connection in server.connections:
            frames = [
                e.frame for e in connection.traffic if e.sender == "server" and e.frame is not None
            ]
            for frame in frames:
                validate_frame(frame)
            assert_order([json.loads(frame) for frame in frames])


@pytest.fixture
def server(make_server: Callable[..., FakeRealtimeServer]) -> FakeRealtimeServer:
    """A fast server (50x) with the default model."""
    return make_server()


def long_audio_server(
    make_server: Callable[..., FakeRealtimeServer], seconds: int = 4
) -> FakeRealtimeServer:
    """A server at real speed whose replies are ``seconds`` of audio: time to interrupt."""
    from realtime_client.testing import AudioReply

    reply = AudioReply(transcript="one two three four five six seven", audio=SECOND * seconds)
    return make_server(speed=1.0, responder=lambda _: reply)


def speech_b64(lead_ms: int = 300, speech_ms: int = 600, tail_ms: int = 700) -> list[str]:
    """A spoken turn (silence, voice, silence) as base64 chunks of 100 ms of 24 kHz PCM16."""
    pcm = speech_fixture(lead_ms=lead_ms, speech_ms=speech_ms, tail_ms=tail_ms)
    step = 4800
    return [base64.b64encode(pcm[i : i + step]).decode() for i in range(0, len(pcm), step)]
