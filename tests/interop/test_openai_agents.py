"""openai-agents' RealtimeRunner / RealtimeSession against the offline server.

The agents SDK keeps its own playback and interruption logic: ``interrupt()``
sends ``conversation.item.truncate`` alone when server VAD cancels responses
itself, and it ends playback on ``response.output_audio.done``. These tests
drive it through a text turn, a tool call, a spoken turn and an interruption.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner, RealtimeSession

from realtime_client.testing import FakeRealtimeServer

from .conftest import KEY, long_audio_server, speech_b64

MAX_EVENTS = 3000
WAIT = 10.0


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _raw_type(event: Any) -> str | None:
    """The wire type of a raw server event the session passes on, else None."""
    if event.type != "raw_model_event" or event.data.type != "raw_server_event":
        return None
    data = event.data.data
    return data.get("type") if isinstance(data, dict) else None


async def _until(session: RealtimeSession, wanted: str, count: int = 1) -> list[Any]:
    """Session events up to the ``count``-th of a session event type or raw wire type."""
    out: list[Any] = []
    iterator = session.__aiter__()
    seen = 0
    for _ in range(MAX_EVENTS):
        event = await asyncio.wait_for(iterator.__anext__(), WAIT)
        out.append(event)
        if wanted in (event.type, _raw_type(event)):
            seen += 1
            if seen == count:
                return out
    raise AssertionError(f"no {wanted} in {MAX_EVENTS} events")


def _runner(tools: list[Any] | None = None, modalities: list[str] | None = None) -> RealtimeRunner:
    agent = RealtimeAgent(name="assistant", instructions="Be brief.", tools=tools or [])
    settings: dict[str, Any] = {"model_name": "gpt-realtime"}
    if modalities is not None:
        settings["output_modalities"] = modalities
    return RealtimeRunner(agent, config={"model_settings": settings})  # type: ignore[typeddict-item]


def _model_config(server: FakeRealtimeServer) -> Any:
    return {"url": server.url + "?model=gpt-realtime", "api_key": KEY}


def _errors(events: list[Any]) -> list[Any]:
    return [e for e in events if e.type == "error" or _raw_type(e) == "error"]


class TestAgents:
    def test_text_turn(self, server: FakeRealtimeServer) -> None:
        """send_message gets a completed reply; the history holds both messages."""

        async def run() -> None:
            session = await _runner(modalities=["text"]).run(model_config=_model_config(server))
            async with session:
                await session.send_message("Hello there")
                events = await _until(session, "response.done")
                assert [] == _errors(events)
                roles = [getattr(item, "role", None) for item in session._history]
                assert ["user", "assistant"] == [r for r in roles if r is not None][:2]

        asyncio.run(run())

    def test_tool_call_round_trip(self, server: FakeRealtimeServer) -> None:
        """The agent runs the tool the model calls and the model answers its output."""

        async def run() -> None:
            runner = _runner(tools=[get_weather], modalities=["text"])
            session = await runner.run(model_config=_model_config(server))
            async with session:
                await session.send_message("Please call get_weather city=Paris")
                events = await _until(session, "tool_end")
                tool_end = events[-1]
                assert ("get_weather", "sunny in Paris") == (tool_end.tool.name, tool_end.output)
                events = await _until(session, "response.done")
                assert [] == _errors(events)

        asyncio.run(run())

    def test_spoken_turn_plays_audio(self, server: FakeRealtimeServer) -> None:
        """Audio in (server VAD) gets audio out, ending with audio_end."""

        async def run() -> None:
            session = await _runner().run(model_config=_model_config(server))
            async with session:
                # the agents SDK asks for semantic_vad: 800 ms of silence ends the turn
                for chunk in speech_b64(tail_ms=1200):
                    await session.send_audio(base64.b64decode(chunk))
                events = await _until(session, "audio_end")
                assert any(e.type == "audio" for e in events)
                assert [] == _errors(events)

        asyncio.run(run())

    def test_interrupt_truncates_and_playback_ends(self, make_server: Any) -> None:
        """interrupt() mid-reply: the server accepts the truncate, no error, the audio ends.

        With server VAD (interrupt_response on) the SDK sends the truncate alone;
        the server stops that item's audio and closes it, and the SDK sees its
        output_audio.done (audio_end) before the response's done.
        """
        server = long_audio_server(make_server)

        async def run() -> None:
            session = await _runner().run(model_config=_model_config(server))
            async with session:
                await session.send_message("Tell me a long story")
                events = await _until(session, "audio")
                await session.interrupt()
                events += await _until(session, "response.done")
                raw = [_raw_type(e) for e in events]
                assert "conversation.item.truncated" in raw
                assert raw.index("conversation.item.truncated") < raw.index(
                    "response.output_audio.done"
                )
                assert any(e.type == "audio_interrupted" for e in events)
                assert [] == _errors(events)

        asyncio.run(run())
