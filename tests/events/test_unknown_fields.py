"""Unknown fields of known events and nested objects survive decode and encode."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import attrs
import pytest

from realtime_client import ProtocolError
from realtime_client import events as ev

from .frames import CLIENT_FRAMES, SERVER_FRAMES

NEW = {"future_field": {"nested": [1, "two", None]}, "another_one": None}
"""Fields no version of the model knows: an object, a list, and an explicit null."""


FREE_FORM = {"parameters", "headers", "metadata", "variables", "input_schema", "annotations"}
"""Fields whose objects are JSON maps of the caller's own keys, not model objects."""


def add_unknown(value: Any) -> Any:
    """The JSON value with NEW's fields added to every model object, at every depth."""
    if isinstance(value, dict):
        return {
            **{k: v if k in FREE_FORM else add_unknown(v) for k, v in value.items()},
            **NEW,
        }
    if isinstance(value, list):
        return [add_unknown(v) for v in value]
    return value


def drop_known_nulls(value: Any) -> Any:
    """The value without null-valued keys (absent, for the model), except NEW's own."""
    if isinstance(value, dict):
        return {k: drop_known_nulls(v) for k, v in value.items() if v is not None or k in NEW}
    if isinstance(value, list):
        return [drop_known_nulls(v) for v in value]
    return value


def _frames(frames: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return [
        pytest.param(frame, id=f"{kind}-{i}")
        for kind, group in frames.items()
        for i, frame in enumerate(group)
    ]


class TestRoundTrip:
    @pytest.mark.parametrize("frame", _frames(SERVER_FRAMES))
    def test_server_events_keep_unknown_fields_everywhere(self, frame: dict[str, Any]) -> None:
        """A proxy re-encoding a server event writes every unknown field back, at any depth."""
        with_new = add_unknown(frame)

        again = json.loads(ev.encode_server_event(ev.decode_server_event(json.dumps(with_new))))

        assert drop_known_nulls(with_new) == drop_known_nulls(again)

    @pytest.mark.parametrize("frame", _frames(CLIENT_FRAMES))
    def test_client_events_keep_unknown_fields_everywhere(self, frame: dict[str, Any]) -> None:
        """A proxy between an app and the server forwards client events whole."""
        with_new = add_unknown(frame)

        event = ev.decode_client_event(json.dumps(with_new))

        assert with_new == json.loads(ev.encode_client_event(event))

    def test_nested_objects_each_keep_their_own(self) -> None:
        """Session, item, content part, response and usage each hold their own unknown fields."""
        frame = {
            "type": "response.done",
            "event_id": "event_1",
            "trace": "t-1",
            "response": {
                "id": "resp_1",
                "status": "completed",
                "reasoning_summary": "short",
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "id": "item_1",
                        "annotations": [],
                        "content": [{"type": "output_text", "text": "hi", "logprobs": [0.5]}],
                    }
                ],
                "usage": {"total_tokens": 3, "reasoning_tokens": 1},
            },
        }

        event = ev.decode_server_event(json.dumps(frame))

        assert isinstance(event, ev.ResponseDoneEvent)
        item = event.response.output[0]
        assert isinstance(item, ev.AssistantMessageItem)
        assert event.response.usage is not None
        assert {"trace": "t-1"} == ev.unknown_fields(event)
        assert {"reasoning_summary": "short"} == ev.unknown_fields(event.response)
        assert {"annotations": []} == ev.unknown_fields(item)
        assert {"logprobs": [0.5]} == ev.unknown_fields(item.content[0])
        assert {"reasoning_tokens": 1} == ev.unknown_fields(event.response.usage)
        assert frame == json.loads(ev.encode_server_event(event))

    def test_session_config_keeps_unknown_fields(self) -> None:
        """A new session setting, at the top or inside audio and turn detection, is kept."""
        frame = {
            "type": "session.updated",
            "event_id": "event_1",
            "session": {
                "type": "realtime",
                "id": "sess_1",
                "video": {"fps": 2},
                "audio": {
                    "input": {
                        "echo_cancellation": True,
                        "turn_detection": {"type": "server_vad", "sensitivity": "low"},
                    }
                },
                "tools": [{"type": "function", "name": "f", "strict": True}],
            },
        }

        event = ev.decode_server_event(json.dumps(frame))

        assert isinstance(event, ev.SessionUpdatedEvent)
        assert isinstance(event.session, ev.RealtimeSessionConfig)
        assert {"video": {"fps": 2}} == ev.unknown_fields(event.session)
        assert frame == json.loads(ev.encode_server_event(event))


class TestAccess:
    def test_no_unknown_fields_is_empty(self) -> None:
        """An object decoded without unknown fields, or built in code, reports none."""
        decoded = ev.decode_server_event(
            json.dumps(SERVER_FRAMES["input_audio_buffer.cleared"][0])
        )

        assert {} == ev.unknown_fields(decoded)
        assert {} == ev.unknown_fields(ev.InputAudioBufferClearEvent())

    def test_placeholders_and_other_objects_have_none(self) -> None:
        """Unknown* placeholders keep everything in raw; other objects have no unknown fields."""
        assert {} == ev.unknown_fields(ev.UnknownItem(type="reasoning", raw={"a": 1}))
        assert {} == ev.unknown_fields("text")

    def test_read_only(self) -> None:
        """The mapping cannot be changed through unknown_fields()."""
        event = ev.decode_server_event(
            '{"type":"input_audio_buffer.cleared","event_id":"e","x":1}'
        )

        with pytest.raises(TypeError):
            ev.unknown_fields(event)["x"] = 2  # type: ignore[index]

    def test_not_in_equality_hash_or_repr(self) -> None:
        """Unknown fields do not change what an event equals, hashes to, or shows."""
        plain = ev.InputAudioBufferClearedEvent(event_id="e")
        decoded = ev.decode_server_event(
            '{"type":"input_audio_buffer.cleared","event_id":"e","x":1}'
        )

        assert plain == decoded
        assert hash(plain) == hash(decoded)
        assert repr(plain) == repr(decoded)

    def test_evolve_copy_and_pickle_keep_them(self) -> None:
        """A changed copy (attrs.evolve), a copy and a pickle keep the unknown fields."""
        event = ev.decode_server_event(
            '{"type":"response.output_text.delta","event_id":"e","response_id":"r",'
            '"item_id":"i","output_index":0,"content_index":0,"delta":"a","x":[1]}'
        )
        assert isinstance(event, ev.ResponseOutputTextDeltaEvent)

        for other in (
            attrs.evolve(event, delta="b"),
            copy.copy(event),
            copy.deepcopy(event),
            pickle.loads(pickle.dumps(event)),
        ):
            assert {"x": [1]} == ev.unknown_fields(other)
        assert '"x":[1]' in ev.encode_server_event(attrs.evolve(event, delta="b"))

    def test_a_model_field_wins_over_an_unknown_one(self) -> None:
        """Encoding writes the model's field, not an unknown field of the same name."""
        event = ev.InputAudioBufferCommitEvent(event_id="mine", _extra={"event_id": "x", "y": 2})

        assert {"type": "input_audio_buffer.commit", "event_id": "mine", "y": 2} == json.loads(
            ev.encode_client_event(event)
        )

    def test_non_json_unknown_value_is_refused(self) -> None:
        """An unknown field holding what JSON cannot is a ProtocolError when encoding."""
        event = ev.InputAudioBufferClearEvent(_extra={"x": {1, 2}})

        with pytest.raises(ProtocolError, match="Object of type set is not JSON serializable"):
            ev.encode_client_event(event)


class TestDtmf:
    def test_event_id_is_kept_when_sent(self) -> None:
        """The DTMF event keeps an event_id when the server sends one."""
        frame = {
            "type": "input_audio_buffer.dtmf_event_received",
            "event_id": "event_9",
            "event": "5",
            "received_at": 1764325301,
        }

        event = ev.decode_server_event(json.dumps(frame))

        assert isinstance(event, ev.InputAudioBufferDtmfEventReceivedEvent)
        assert "event_9" == event.event_id
        assert frame == json.loads(ev.encode_server_event(event))

    def test_event_id_is_optional(self) -> None:
        """As the protocol reference gives it, the DTMF event has no event_id."""
        event = ev.decode_server_event(
            '{"type":"input_audio_buffer.dtmf_event_received","event":"#","received_at":1}'
        )

        assert isinstance(event, ev.InputAudioBufferDtmfEventReceivedEvent)
        assert event.event_id is None
