"""pipecat's OpenAIRealtimeLLMService against the offline server.

pipecat is independent of the openai SDK's event code: it parses the protocol
with its own pydantic models (``pipecat.services.openai.realtime.events``) and
treats any ``error`` event (but two) as fatal. It runs here inside a minimal
pipeline of its own kind (source, the service, a sink that records frames), as
its own test helpers build one.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.realtime.events import SessionProperties, parse_server_event
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService
from pipecat.utils.types import NOT_GIVEN
from pipecat.workers.runner import WorkerRunner

from realtime_client.testing import FakeRealtimeServer

from .conftest import KEY, long_audio_server, speech_b64

WAIT = 10.0


class _Recorder(FrameProcessor):
    """Passes frames on and keeps those flowing one way, for the test to wait on."""

    def __init__(self, direction: FrameDirection) -> None:
        super().__init__(enable_direct_mode=True)
        self._direction = direction
        self.frames: asyncio.Queue[Frame] = asyncio.Queue()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == self._direction:
            await self.frames.put(frame)
        await self.push_frame(frame, direction)


async def _next_of(recorder: _Recorder, kind: type[Frame], seen: list[Frame]) -> Frame:
    """Wait for the next frame of a kind, keeping every frame passed on the way."""
    for _ in range(5000):
        frame = await asyncio.wait_for(recorder.frames.get(), WAIT)
        seen.append(frame)
        if isinstance(frame, kind):
            return frame
    raise AssertionError(f"no {kind.__name__} in 5000 frames")


async def _with_pipeline(
    server: FakeRealtimeServer,
    body: Callable[[PipelineWorker, OpenAIRealtimeLLMService, _Recorder], Awaitable[None]],
    **service_options: Any,
) -> None:
    llm = OpenAIRealtimeLLMService(api_key=KEY, base_url=server.url, **service_options)
    upstream, downstream = _Recorder(FrameDirection.UPSTREAM), _Recorder(FrameDirection.DOWNSTREAM)
    worker = PipelineWorker(
        Pipeline([upstream, llm, downstream]),
        cancel_on_idle_timeout=False,
        params=PipelineParams(),
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: Any, _frame: Any) -> None:
        started.set()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.ensure_future(runner.run())
    try:
        await asyncio.wait_for(started.wait(), WAIT)
        await body(worker, llm, downstream)
    finally:
        await worker.queue_frame(EndFrame())
        await asyncio.wait_for(running, WAIT)
    errors = [f for f in _drain(upstream) if isinstance(f, ErrorFrame)]
    assert errors == [], errors


def _drain(recorder: _Recorder) -> list[Frame]:
    out: list[Frame] = []
    while not recorder.frames.empty():
        out.append(recorder.frames.get_nowait())
    return out


def _ask(text: str, tools: ToolsSchema | None = None) -> LLMContextFrame:
    """The first context of a conversation: the service sets it up and asks for a response."""
    context = LLMContext(messages=[{"role": "user", "content": text}], tools=tools or NOT_GIVEN)
    return LLMContextFrame(context=context)


class TestPipecat:
    def test_every_frame_parses_with_pipecats_models(self, server: FakeRealtimeServer) -> None:
        """A spoken reply to a text message: pipecat plays it and ends the response."""

        async def body(worker: PipelineWorker, _llm: Any, down: _Recorder) -> None:
            await worker.queue_frame(_ask("Hello there"))
            seen: list[Frame] = []
            await _next_of(down, LLMFullResponseEndFrame, seen)
            assert any(isinstance(f, TTSAudioRawFrame) for f in seen)

        asyncio.run(_with_pipeline(server, body))
        frames = [e.frame for e in server.connections[0].traffic if e.sender == "server"]
        unparsed = [f for f in frames if f and parse_server_event(f) is None]
        assert unparsed == []

    def test_spoken_turn_with_server_vad(self, server: FakeRealtimeServer) -> None:
        """Microphone frames in: server VAD ends the turn and pipecat plays the spoken reply."""

        async def body(worker: PipelineWorker, _llm: Any, down: _Recorder) -> None:
            for chunk in speech_b64():
                audio = base64.b64decode(chunk)
                await worker.queue_frame(
                    InputAudioRawFrame(audio=audio, sample_rate=24000, num_channels=1)
                )
            seen: list[Frame] = []
            await _next_of(down, TTSAudioRawFrame, seen)
            connection = server.wait_for_connection()
            await asyncio.to_thread(connection.wait_for_sent, "response.done")
            sent = [e.type for e in connection.sent]
            assert sent.index("input_audio_buffer.speech_stopped") < sent.index("response.created")

        asyncio.run(_with_pipeline(server, body))

    def test_text_reply(self, server: FakeRealtimeServer) -> None:
        """Text output: the reply's text reaches the pipeline as LLMTextFrames."""
        settings = OpenAIRealtimeLLMService.Settings(
            session_properties=SessionProperties(output_modalities=["text"])
        )

        async def body(worker: PipelineWorker, _llm: Any, down: _Recorder) -> None:
            await worker.queue_frame(_ask("Hello there"))
            seen: list[Frame] = []
            await _next_of(down, LLMFullResponseEndFrame, seen)
            text = "".join(f.text for f in seen if isinstance(f, LLMTextFrame))
            assert "Hello there" in text

        asyncio.run(_with_pipeline(server, body, settings=settings))

    def test_interruption_truncates_without_error(self, make_server: Any) -> None:
        """pipecat's interruption mid-reply truncates the streaming item; no error comes back."""
        server = long_audio_server(make_server)

        async def body(worker: PipelineWorker, _llm: Any, down: _Recorder) -> None:
            await worker.queue_frame(_ask("Tell me a long story"))
            await _next_of(down, TTSAudioRawFrame, [])
            await worker.queue_frame(InterruptionFrame())
            connection = server.wait_for_connection()
            await asyncio.to_thread(connection.wait_for_sent, "conversation.item.truncated")
            await asyncio.to_thread(connection.wait_for_sent, "response.done")

        asyncio.run(_with_pipeline(server, body))
        sent = [e.type for e in server.connections[0].sent]
        assert "error" not in sent

    def test_tool_call_and_retrieval(self, server: FakeRealtimeServer) -> None:
        """A tool call runs pipecat's registered function, whose result reaches the server;
        retrieve_conversation_item returns the server's item."""
        calls: list[dict[str, Any]] = []

        async def get_weather(params: FunctionCallParams) -> None:
            calls.append(dict(params.arguments))
            await params.result_callback({"forecast": "sunny"})

        weather = FunctionSchema(
            name="get_weather",
            description="Weather for a city",
            properties={"city": {"type": "string"}},
            required=["city"],
        )

        async def body(worker: PipelineWorker, llm: Any, _down: _Recorder) -> None:
            llm.register_function("get_weather", get_weather)
            await worker.queue_frame(
                _ask("Use get_weather with city=Paris", ToolsSchema(standard_tools=[weather]))
            )
            connection = server.wait_for_connection()
            output = await asyncio.to_thread(
                connection.wait_for_received, "conversation.item.create", count=2
            )
            call_id = output.item.call_id  # type: ignore[union-attr]
            done = await asyncio.to_thread(connection.wait_for_sent, "response.done")
            item = done.response.output[0]  # type: ignore[union-attr]
            assert (item.call_id, "function_call_output") == (call_id, output.item.type)  # type: ignore[union-attr]
            retrieved = await asyncio.wait_for(llm.retrieve_conversation_item(item.id), WAIT)
            assert item.id == retrieved.id

        asyncio.run(_with_pipeline(server, body))
        assert [{"city": "Paris"}] == calls
