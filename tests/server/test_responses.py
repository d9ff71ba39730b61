"""Responses: event sequences, audio, cancellation, function calls and responders."""

from __future__ import annotations

import base64
import time

from realtime_client.testing._server import (
    AudioReply,
    ErrorReply,
    FunctionCallReply,
    ResponseRequest,
    TextReply,
)

from .conftest import MAX_EVENTS, Peer, types


def _user_text(peer: Peer, text: str) -> None:
    peer.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }
    )
    assert ["conversation.item.added", "conversation.item.done"] == types(
        peer.until("conversation.item.done")
    )


TEXT_SEQUENCE = [
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


class TestText:
    def test_sequence_and_default_reply(self, peer: Peer) -> None:
        """A text response streams the full sequence and quotes the user's message."""
        _user_text(peer, "Hello there")
        peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        events = peer.until("rate_limits.updated")
        assert [*TEXT_SEQUENCE, "rate_limits.updated"] == types(events)
        deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        assert 'You said: "Hello there"' == deltas
        done = events[-2]["response"]
        assert "completed" == done["status"]
        assert done["usage"]["total_tokens"] > 0
        assert done["output"][0]["content"] == [{"type": "output_text", "text": deltas}]

    def test_out_of_band_with_metadata(self, peer: Peer) -> None:
        """conversation 'none' adds nothing to the conversation and echoes metadata."""
        _user_text(peer, "hi")
        peer.send(
            {
                "type": "response.create",
                "response": {
                    "conversation": "none",
                    "metadata": {"topic": "summary"},
                    "output_modalities": ["text"],
                },
            }
        )
        events = peer.until("response.done")
        assert "conversation.item.added" not in types(events)
        assert {"topic": "summary"} == events[-1]["response"]["metadata"]
        assert events[-1]["response"].get("conversation_id") is None

    def test_second_create_while_active(self, make_server, make_peer) -> None:
        """A response.create during a response gets the real error."""
        server = make_server(speed=1.0)
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send({"type": "response.create"})
        peer.until("response.created")
        peer.send({"type": "response.create", "event_id": "second"})
        error = next(e for e in peer.until("error") if e["type"] == "error")
        assert "conversation_already_has_active_response" == error["error"]["code"]
        peer.send({"type": "response.cancel"})
        done = peer.until("response.done")[-1]
        assert ("cancelled", "client_cancelled") == (
            done["response"]["status"],
            done["response"]["status_details"]["reason"],
        )

    def test_cancel_without_response(self, peer: Peer) -> None:
        """response.cancel with nothing active is an error."""
        peer.send({"type": "response.cancel"})
        assert "response_cancel_not_active" == peer.recv()["error"]["code"]

    def test_max_output_tokens(self, peer: Peer) -> None:
        """A small token limit cuts the reply: status incomplete, reason max_output_tokens."""
        _user_text(peer, "a long message " * 10)
        peer.send(
            {
                "type": "response.create",
                "response": {"output_modalities": ["text"], "max_output_tokens": 2},
            }
        )
        done = peer.until("response.done")[-1]["response"]
        assert ("incomplete", "max_output_tokens") == (
            done["status"],
            done["status_details"]["reason"],
        )


class TestAudio:
    def test_sequence_chunks_and_transcript(self, peer: Peer) -> None:
        """An audio response: transcript deltas with audio deltas of realistic size."""
        _user_text(peer, "Say something")
        peer.send({"type": "response.create"})
        events = peer.until("response.done")
        seq = [t for t in types(events) if not t.endswith(".delta")]
        assert [
            "response.created",
            "response.output_item.added",
            "conversation.item.added",
            "response.content_part.added",
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ] == seq
        chunks = [
            base64.b64decode(e["delta"])
            for e in events
            if e["type"] == "response.output_audio.delta"
        ]
        assert 40 * 48 == len(chunks[0])
        assert all(len(c) % 2 == 0 for c in chunks)
        transcript = "".join(
            e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
        )
        assert 'You said: "Say something"' == transcript
        audio = b"".join(chunks)
        assert len(audio) > 24000  # over half a second of speech
        assert (
            max(
                abs(int.from_bytes(audio[i : i + 2], "little", signed=True))
                for i in range(0, 4000, 2)
            )
            > 0
        )

    def test_pcmu_output(self, peer: Peer) -> None:
        """With audio/pcmu output, deltas are 8 kHz G.711: one byte per sample."""
        peer.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"output": {"format": {"type": "audio/pcmu"}}},
                },
            }
        )
        peer.until("session.updated")
        peer.send({"type": "response.create"})
        events = peer.until("response.done")
        first = base64.b64decode(
            next(e["delta"] for e in events if e["type"] == "response.output_audio.delta")
        )
        assert 40 * 8 == len(first)

    def test_truncate_beyond_audio(self, peer: Peer) -> None:
        """Truncating past the audio sent is the real error; within it, truncated."""
        peer.send({"type": "response.create"})
        events = peer.until("response.done")
        item_id = events[-1]["response"]["output"][0]["id"]
        peer.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 999999,
            }
        )
        error = peer.until("error")[-1]
        sent_ms = sum(
            len(base64.b64decode(e["delta"])) // 48
            for e in events
            if e["type"] == "response.output_audio.delta"
        )
        assert (
            f"audio content of {sent_ms} ms is already shorter than 999999 ms"
            == error["error"]["message"]
        )
        peer.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": 100,
            }
        )
        truncated = peer.recv()
        assert ("conversation.item.truncated", 100) == (
            truncated["type"],
            truncated["audio_end_ms"],
        )


WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "examples": [3]}},
        "required": ["city", "days"],
    },
}


class TestFunctionCalls:
    def test_message_naming_a_tool_calls_it(self, peer: Peer) -> None:
        """The default rule: naming a tool calls it, with key=value arguments and examples."""
        peer.send({"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER]}})
        peer.until("session.updated")
        _user_text(peer, 'Use get_weather with city="New York" please')
        peer.send({"type": "response.create"})
        events = peer.until("response.done")
        assert [
            "response.created",
            "response.output_item.added",
            "conversation.item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ] == types(events)
        done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert {"city": "New York", "days": 3} == __import__("json").loads(done["arguments"])
        peer.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": done["call_id"],
                    "output": "sunny",
                },
            }
        )
        peer.until("conversation.item.done")
        peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        text = peer.until("response.output_text.done")[-1]["text"]
        assert "The get_weather tool returned: sunny" == text

    def test_no_second_call_after_the_round_trip(self, peer: Peer) -> None:
        """After the call, its output and the answer, another response is text, not a call."""
        peer.send({"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER]}})
        peer.until("session.updated")
        _user_text(peer, "get_weather city=Oslo")
        peer.send({"type": "response.create"})
        done = peer.until("response.function_call_arguments.done")[-1]
        peer.until("response.done")
        peer.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": done["call_id"],
                    "output": "sunny",
                },
            }
        )
        peer.until("conversation.item.done")
        text = {"type": "response.create", "response": {"output_modalities": ["text"]}}
        peer.send(text)
        peer.until("response.done")
        peer.send(text)
        output = peer.until("response.done")[-1]["response"]["output"]
        assert ["message"] == [item["type"] for item in output]


class TestResponder:
    def test_canned_replies_in_order(self, make_server, make_peer) -> None:
        """A list of replies is used in order, then the default model answers."""
        server = make_server(responder=[TextReply(text="one"), "two", ErrorReply(message="boom")])
        peer = make_peer(server.url)
        peer.until("conversation.created")
        texts = []
        for _ in range(2):
            peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
            events = peer.until("rate_limits.updated")
            texts.extend(e["text"] for e in events if e["type"] == "response.output_text.done")
        assert ["one", "two"] == texts
        peer.send({"type": "response.create"})
        done = peer.until("response.done")[-1]["response"]
        assert ("failed", "boom") == (done["status"], done["status_details"]["error"]["message"])

    def test_callable_sees_the_request(self, make_server, make_peer) -> None:
        """A callable responder gets the context and may return several items."""
        seen: list[ResponseRequest] = []

        def responder(request: ResponseRequest):
            seen.append(request)
            return [
                AudioReply(transcript="hi", audio=b"\x01\x00" * 2400),
                FunctionCallReply(name="f", arguments={"a": 1}),
            ]

        server = make_server(responder=responder)
        peer = make_peer(server.url)
        peer.until("conversation.created")
        _user_text(peer, "hey")
        peer.send({"type": "response.create", "response": {"instructions": "be nice"}})
        output = peer.until("response.done")[-1]["response"]["output"]
        assert ["message", "function_call"] == [o["type"] for o in output]
        assert "be nice" == seen[0].instructions
        assert "hey" == seen[0].user_text()

    def test_raising_responder_fails_the_response(self, make_server, make_peer) -> None:
        """A responder bug fails the response and is kept on the handle."""

        def responder(request: ResponseRequest):
            raise ValueError("bug")

        server = make_server(responder=responder)
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send({"type": "response.create"})
        assert "failed" == peer.until("response.done")[-1]["response"]["status"]
        assert isinstance(server.wait_for_connection().errors[0], ValueError)


class TestPacing:
    def test_second_audio_item_is_paced_after_the_first(self, make_server, make_peer) -> None:
        """Audio streams at the server's speed across items: the second item waits its turn."""
        speed = 5.0
        second = AudioReply(transcript="two", audio=b"\x01\x00" * 24000)  # 1 s each
        server = make_server(
            speed=speed,
            responder=lambda _: [AudioReply(transcript="one", audio=second.audio), second],
        )
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send({"type": "response.create"})
        arrivals: list[tuple[float, dict]] = []
        for _ in range(MAX_EVENTS):
            arrivals.append((time.monotonic(), peer.recv()))
            if arrivals[-1][1]["type"] == "response.done":
                break
        created = next(t for t, e in arrivals if e["type"] == "response.created")
        deltas = [(t, e) for t, e in arrivals if e["type"] == "response.output_audio.delta"]
        # Each delta is due when the audio before it has played (at the server's speed).
        before_last_ms = sum(len(base64.b64decode(e["delta"])) / 48 for _, e in deltas[:-1])
        assert 1800 <= before_last_ms  # both items' audio, less the last chunk
        assert deltas[-1][0] - created >= before_last_ms / 1000 / speed - 0.03
