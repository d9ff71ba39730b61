"""Every frame the offline server sends validates against the official schemas.

The spec's own known defects are taken out first by the events tests' helper,
``neutralize_known_defects`` (see the protocol reference's README).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from realtime_client.testing import FakeRealtimeServer
from tests.schema_validation import neutralize_known_defects

from .conftest import Peer, speech_fixture

Validators = dict[str, jsonschema.Draft202012Validator]

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


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
    peer.until("conversation.item.done")


def _text_turn(peer: Peer) -> None:
    _user_text(peer, "Hello")
    peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    peer.until("rate_limits.updated")


def _audio_turn(peer: Peer) -> None:
    _user_text(peer, "Say something")
    peer.send({"type": "response.create", "response": {"output_modalities": ["audio"]}})
    done = peer.until("response.done")[-1]
    peer.until("rate_limits.updated")
    item_id = done["response"]["output"][0]["id"]
    truncate = {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0}
    peer.send({**truncate, "audio_end_ms": 10})
    peer.until("conversation.item.truncated")
    peer.send({"type": "conversation.item.retrieve", "item_id": item_id})
    peer.until("conversation.item.retrieved")
    peer.send({"type": "conversation.item.delete", "item_id": item_id})
    peer.until("conversation.item.deleted")


def _function_call(peer: Peer) -> None:
    peer.send({"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER]}})
    peer.until("session.updated")
    _user_text(peer, "get_weather city=Oslo")
    peer.send({"type": "response.create"})
    call = peer.until("response.function_call_arguments.done")[-1]
    peer.until("rate_limits.updated")
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
    peer.send({"type": "conversation.item.create", "item": output})
    peer.until("conversation.item.done")
    peer.send({"type": "response.create"})
    peer.until("rate_limits.updated")


def _vad_turn(peer: Peer) -> None:
    transcription = {"transcription": {"model": "gpt-4o-transcribe"}}
    peer.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": transcription}},
        }
    )
    peer.until("session.updated")
    peer.append(speech_fixture(lead_ms=300, speech_ms=800, tail_ms=800))
    peer.until("rate_limits.updated")
    peer.send({"type": "input_audio_buffer.clear"})
    peer.until("input_audio_buffer.cleared")


def _errors(peer: Peer) -> None:
    frames = [
        "not json",
        '{"type": "response.explode", "event_id": "e1"}',
        '{"type": "response.create", "bogus": 1}',
        '{"type": "conversation.item.retrieve", "item_id": "missing"}',
        '{"type": "conversation.item.truncate", "item_id": "missing", "content_index": 0, '
        '"audio_end_ms": 5}',
        '{"type": "response.cancel", "event_id": "e2"}',
        '{"type": "input_audio_buffer.commit"}',
        '{"type": "output_audio_buffer.clear"}',
    ]
    for frame in frames:
        peer.ws.send(frame)
        assert "error" == peer.recv()["type"]
    peer.send({"type": "response.create", "response": {"output_modalities": ["audio"]}})
    peer.until("response.created")
    peer.send({"type": "response.create"})  # one is active already
    peer.send({"type": "response.cancel"})
    peer.until("rate_limits.updated")


def _transcription_session(server: FakeRealtimeServer) -> None:
    peer = Peer(server.url + "?intent=transcription")
    try:
        peer.until("session.created")
        peer.append(speech_fixture(lead_ms=300, speech_ms=800, tail_ms=800))
        peer.until("conversation.item.input_audio_transcription.completed")
    finally:
        peer.close()


def _sent_frames(server: FakeRealtimeServer) -> list[dict[str, Any]]:
    frames = []
    for conn in server.connections:
        assert conn.wait_closed()
        frames += [json.loads(e.frame) for e in conn.traffic if e.sender == "server" and e.frame]
    return frames


def test_every_sent_frame_validates(validators: Validators, make_server) -> None:
    """Text, audio, function call, VAD, transcription and error turns: all schema-valid."""
    server = make_server()
    peer = Peer(server.url + "?model=gpt-realtime")
    try:
        peer.until("conversation.created")
        for scenario in (_text_turn, _audio_turn, _function_call, _vad_turn, _errors):
            scenario(peer)
    finally:
        peer.close()
    _transcription_session(server)

    frames = _sent_frames(server)
    kinds = {frame["type"] for frame in frames}
    for expected in (
        "response.output_text.delta",
        "response.output_audio.delta",
        "response.function_call_arguments.done",
        "input_audio_buffer.speech_stopped",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.truncated",
        "error",
    ):
        assert expected in kinds
    assert len(frames) > 100
    failures = []
    for frame in frames:
        for error in validators[frame["type"]].iter_errors(neutralize_known_defects(frame)):
            failures.append(f"{frame['type']}: {error.message[:200]} at {list(error.path)}")
    assert [] == failures
