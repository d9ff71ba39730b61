"""The official openai SDK (sync and async ``client.realtime.connect``) against the offline server.

Every event is received through the SDK's own connection and parsing; the
fixtures validate every frame with the SDK's types after each test.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from realtime_client.testing import FakeRealtimeServer

from .conftest import KEY, WEATHER_TOOL, long_audio_server, speech_b64

MAX_EVENTS = 3000  # bound on every receive loop
WAIT = 10.0
CLOSING_AUDIO = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def _client(server: FakeRealtimeServer) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=KEY,
        base_url=server.base_url.replace("ws://", "http://"),
        websocket_base_url=server.base_url,
        max_retries=0,
    )


def _until(connection: Any, event_type: str) -> list[Any]:
    out = []
    for _ in range(MAX_EVENTS):
        out.append(connection.recv())
        if out[-1].type == event_type:
            return out
    raise AssertionError(f"no {event_type} in {MAX_EVENTS} events")


def _types(events: list[Any]) -> list[str]:
    collapsed: list[str] = []
    for event in events:
        if not (collapsed and collapsed[-1] == event.type and event.type.endswith(".delta")):
            collapsed.append(event.type)
    return collapsed


def _say(connection: Any, text: str) -> None:
    connection.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )


@pytest.fixture
def sync_connection(server: FakeRealtimeServer) -> Iterator[Any]:
    with _client(server).realtime.connect(model="gpt-realtime") as connection:
        assert "session.created" == connection.recv().type
        yield connection


class TestSync:
    def test_text_turn_retrieve_and_error(self, sync_connection: Any) -> None:
        """A text turn streams what response.done reports; retrieve works; errors parse."""
        conn = sync_connection
        _say(conn, "Hello there")
        user_id = _until(conn, "conversation.item.done")[-1].item.id
        conn.response.create(response={"output_modalities": ["text"]})
        events = _until(conn, "response.done")
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        done = events[-1].response
        assert ("completed", text) == (done.status, done.output[0].content[0].text)
        conn.conversation.item.retrieve(item_id=user_id)
        assert user_id == _until(conn, "conversation.item.retrieved")[-1].item.id
        conn.conversation.item.retrieve(item_id="item_missing")
        error = _until(conn, "error")[-1].error
        assert "item_retrieve_invalid_item_id" == error.code

    def test_tool_round_trip(self, sync_connection: Any) -> None:
        """A function call's arguments stream and complete; its output gets an answer."""
        conn = sync_connection
        conn.session.update(
            session={"type": "realtime", "tools": [WEATHER_TOOL], "output_modalities": ["text"]}
        )
        _until(conn, "session.updated")
        _say(conn, "Use get_weather with city=Paris")
        conn.response.create()
        events = _until(conn, "response.done")
        call = events[-1].response.output[0]
        assert ("function_call", "get_weather") == (call.type, call.name)
        conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": '{"c": 20}'}
        )
        conn.response.create()
        answer = _until(conn, "response.done")[-1].response
        assert ("completed", "message") == (answer.status, answer.output[0].type)

    def test_server_vad_audio_turn_and_retrieved_audio(self, sync_connection: Any) -> None:
        """Spoken input: speech_started/stopped, committed, an audio reply; retrieve has its audio."""
        conn = sync_connection
        for chunk in speech_b64():
            conn.input_audio_buffer.append(audio=chunk)
        events = _until(conn, "response.done")
        order = _types(events)
        assert (
            order.index("input_audio_buffer.speech_started")
            < order.index("input_audio_buffer.speech_stopped")
            < order.index("input_audio_buffer.committed")
            < order.index("response.created")
        )
        item_id = events[-1].response.output[0].id
        audio = b"".join(
            base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
        )
        conn.conversation.item.retrieve(item_id=item_id)
        item = _until(conn, "conversation.item.retrieved")[-1].item
        assert audio == base64.b64decode(item.content[0].audio)


class TestSyncInterruption:
    def test_cancel_closes_the_open_part(self, make_server: Any) -> None:
        """response.cancel mid-audio: every .done of the open part, then response.done cancelled."""
        server = long_audio_server(make_server)
        with _client(server).realtime.connect(model="gpt-realtime") as conn:
            conn.response.create()
            _until(conn, "response.output_audio.delta")
            conn.response.cancel()
            events = _until(conn, "response.done")
            assert CLOSING_AUDIO == _types(events)[-6:]
            assert "cancelled" == events[-1].response.status

    def test_truncate_while_streaming(self, make_server: Any) -> None:
        """conversation.item.truncate on the item still streaming: truncated, and the audio stops."""
        server = long_audio_server(make_server)
        with _client(server).realtime.connect(model="gpt-realtime") as conn:
            conn.response.create()
            item_id = _until(conn, "response.output_audio.delta")[-1].item_id
            conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=20)
            events = _until(conn, "response.done")
            cut = _types(events).index("conversation.item.truncated")
            assert not any(t.endswith(".delta") for t in _types(events)[cut:])
            assert CLOSING_AUDIO == _types(events)[-6:]

    def test_barge_in_announces_speech_first(self, make_server: Any) -> None:
        """Server VAD barge-in: speech_started, then the cancelled response's closing events."""
        server = long_audio_server(make_server)
        with _client(server).realtime.connect(model="gpt-realtime") as conn:
            conn.response.create()
            _until(conn, "response.output_audio.delta")
            for chunk in speech_b64(lead_ms=0, speech_ms=300, tail_ms=0):
                conn.input_audio_buffer.append(audio=chunk)
            events = _until(conn, "response.done")
            assert ["input_audio_buffer.speech_started", *CLOSING_AUDIO] == _types(events)[-7:]
            assert "turn_detected" == events[-1].response.status_details.reason


async def _async_until(connection: Any, event_type: str) -> list[Any]:
    out = []
    for _ in range(MAX_EVENTS):
        out.append(await asyncio.wait_for(connection.recv(), WAIT))
        if out[-1].type == event_type:
            return out
    raise AssertionError(f"no {event_type} in {MAX_EVENTS} events")


def _async_client(server: FakeRealtimeServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=KEY,
        base_url=server.base_url.replace("ws://", "http://"),
        websocket_base_url=server.base_url,
        max_retries=0,
    )


class TestAsync:
    def test_text_and_tool_turns(self, server: FakeRealtimeServer) -> None:
        """The async connection: a text turn, then a tool call, each ending completed."""

        async def run() -> None:
            async with _async_client(server).realtime.connect(model="gpt-realtime") as conn:
                await conn.session.update(
                    session={
                        "type": "realtime",
                        "tools": [WEATHER_TOOL],
                        "output_modalities": ["text"],
                    }
                )
                await _async_until(conn, "session.updated")
                await conn.response.create()
                first = (await _async_until(conn, "response.done"))[-1].response
                await conn.conversation.item.create(
                    item={
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "get_weather city=Oslo"}],
                    }
                )
                await conn.response.create()
                second = (await _async_until(conn, "response.done"))[-1].response
                assert ("completed", "function_call") == (second.status, second.output[0].type)
                assert "completed" == first.status

        asyncio.run(run())

    def test_truncate_then_cancel(self, make_server: Any) -> None:
        """Truncate then cancel, as interrupting apps send them: no error, the reply ends."""
        server = long_audio_server(make_server)

        async def run() -> None:
            async with _async_client(server).realtime.connect(model="gpt-realtime") as conn:
                await conn.response.create()
                item_id = (await _async_until(conn, "response.output_audio.delta"))[-1].item_id
                await conn.conversation.item.truncate(
                    item_id=item_id, content_index=0, audio_end_ms=20
                )
                await conn.response.cancel()
                events = await _async_until(conn, "response.done")
                assert "conversation.item.truncated" in _types(events)
                assert CLOSING_AUDIO == _types(events)[-6:]
                # the cancel may land after the cut item ended the response: then the
                # service's "no active response" error, and nothing else, follows
                await conn.conversation.item.retrieve(item_id=item_id)
                after = await _async_until(conn, "conversation.item.retrieved")
                assert {e.type for e in after} <= {
                    "error",
                    "rate_limits.updated",
                    "conversation.item.retrieved",
                }
                assert "" == after[-1].item.content[0].transcript

        asyncio.run(run())
