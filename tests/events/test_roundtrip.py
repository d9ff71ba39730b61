"""Every event type decodes from a realistic frame to its class and encodes back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_client import ProtocolError
from realtime_client import events as ev

from .frames import CLIENT_FRAMES, SERVER_FRAMES


def drop_nulls(value: Any) -> Any:
    """The frame with null-valued keys removed at every depth."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def _cases(frames: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return [
        pytest.param(kind, frame, id=f"{kind}-{i}")
        for kind, group in frames.items()
        for i, frame in enumerate(group)
    ]


class TestFixturesCoverTheProtocol:
    def test_every_server_type_has_a_frame(self) -> None:
        """The realistic frames cover all 46 server event types."""
        assert sorted(ev.SERVER_EVENT_TYPES) == sorted(SERVER_FRAMES)

    def test_every_client_type_has_a_frame(self) -> None:
        """The realistic frames cover all 11 client event types."""
        assert sorted(ev.CLIENT_EVENT_TYPES) == sorted(CLIENT_FRAMES)


class TestServerFrames:
    @pytest.mark.parametrize(("kind", "frame"), _cases(SERVER_FRAMES))
    def test_decodes_to_its_class(self, kind: str, frame: dict[str, Any]) -> None:
        """A frame decodes to the class registered for its wire type."""
        event = ev.decode_server_event(json.dumps(frame))

        assert type(event) is ev.SERVER_EVENT_TYPES[kind]
        assert kind == event.type

    @pytest.mark.parametrize(("kind", "frame"), _cases(SERVER_FRAMES))
    def test_round_trip_keeps_everything_but_nulls(self, kind: str, frame: dict[str, Any]) -> None:
        """encode(decode(frame)) equals the frame once null-valued keys are dropped."""
        text = json.dumps(frame)

        again = json.loads(ev.encode_server_event(ev.decode_server_event(text)))

        assert drop_nulls(frame) == drop_nulls(again)

    @pytest.mark.parametrize(("kind", "frame"), _cases(SERVER_FRAMES))
    def test_bytes_input_decodes_like_text(self, kind: str, frame: dict[str, Any]) -> None:
        """A frame given as UTF-8 bytes decodes to the same event as the text."""
        text = json.dumps(frame)

        assert ev.decode_server_event(text) == ev.decode_server_event(text.encode())


class TestClientFrames:
    @pytest.mark.parametrize(("kind", "frame"), _cases(CLIENT_FRAMES))
    def test_round_trip_is_exact(self, kind: str, frame: dict[str, Any]) -> None:
        """Client frames survive decode and encode exactly, explicit nulls included."""
        event = ev.decode_client_event(json.dumps(frame))

        assert type(event) is ev.CLIENT_EVENT_TYPES[kind]
        assert frame == json.loads(ev.encode_client_event(event))


class TestAudio:
    def test_output_audio_delta_is_bytes(self) -> None:
        """The audio of response.output_audio.delta arrives as decoded PCM bytes."""
        frame = SERVER_FRAMES["response.output_audio.delta"][0]

        event = ev.decode_server_event(json.dumps(frame))

        assert isinstance(event, ev.ResponseOutputAudioDeltaEvent)
        assert 4800 == len(event.delta)  # 100 ms of 24 kHz 16-bit mono

    def test_append_audio_is_base64_on_the_wire(self) -> None:
        """input_audio_buffer.append takes bytes and writes standard base64."""
        frame = ev.encode_client_event(ev.InputAudioBufferAppendEvent(audio=b"\x00\x01\xff\xfe"))

        assert {"type": "input_audio_buffer.append", "audio": "AAH//g=="} == json.loads(frame)


class TestUnknownTypes:
    def test_unknown_server_type_keeps_type_and_raw(self) -> None:
        """An unknown but well-formed server event decodes to UnknownServerEvent."""
        frame = {"type": "response.reasoning.delta", "event_id": "e1", "delta": "hm", "n": [1, 2]}

        event = ev.decode_server_event(json.dumps(frame))

        assert ev.UnknownServerEvent(type="response.reasoning.delta", raw=frame) == event
        assert frame == json.loads(ev.encode_server_event(event))

    def test_beta_names_are_unknown(self) -> None:
        """Beta-era names (shut down) are unknown events, not their GA namesakes."""
        event = ev.decode_server_event('{"type":"response.audio.delta","delta":"AAAA"}')

        assert isinstance(event, ev.UnknownServerEvent)
        assert "response.audio.delta" == event.type

    def test_unknown_client_type(self) -> None:
        """The client decoder mirrors the server decoder for unknown types."""
        event = ev.decode_client_event('{"type":"session.close"}')

        assert ev.UnknownClientEvent(type="session.close", raw={"type": "session.close"}) == event
        assert '{"type":"session.close"}' == ev.encode_client_event(event)

    def test_extra_fields_are_ignored(self) -> None:
        """Fields this version does not model are ignored, not errors."""
        frame = {**SERVER_FRAMES["input_audio_buffer.cleared"][0], "new_field": {"x": 1}}

        event = ev.decode_server_event(json.dumps(frame))

        assert ev.InputAudioBufferClearedEvent(event_id=frame["event_id"]) == event


class TestUnknownNestedTypes:
    def test_new_item_type_keeps_the_event(self) -> None:
        """A new kind of output item does not fail response.done: it is an UnknownItem."""
        item = {"type": "reasoning", "id": "rs_1", "summary": [{"text": "thinking"}]}
        frame = {
            "type": "response.done",
            "event_id": "e",
            "response": {"id": "resp_1", "status": "completed", "output": [item]},
        }

        event = ev.decode_server_event(json.dumps(frame))

        assert isinstance(event, ev.ResponseDoneEvent)
        assert event.response.output == [ev.UnknownItem(type="reasoning", raw=item)]
        assert "rs_1" == event.response.output[0].id
        assert frame == json.loads(ev.encode_server_event(event))

    def test_new_content_part_and_tool_types(self) -> None:
        """New content part and tool types decode to placeholders that keep everything."""
        part = {"type": "input_file", "file_id": "file_1"}
        tool = {"type": "web_search", "search_context_size": "low"}
        frame = {
            "type": "session.updated",
            "event_id": "e",
            "session": {"type": "realtime", "tools": [tool]},
        }
        added = {
            "type": "conversation.item.added",
            "event_id": "e2",
            "item": {"type": "message", "role": "user", "content": [part]},
        }

        session_event = ev.decode_server_event(json.dumps(frame))
        item_event = ev.decode_server_event(json.dumps(added))

        assert isinstance(session_event, ev.SessionUpdatedEvent)
        assert isinstance(session_event.session, ev.RealtimeSessionConfig)
        assert [ev.UnknownTool(type="web_search", raw=tool)] == session_event.session.tools
        assert isinstance(item_event, ev.ConversationItemAddedEvent)
        assert isinstance(item_event.item, ev.UserMessageItem)
        assert [ev.UnknownContentPart(type="input_file", raw=part)] == item_event.item.content
        assert frame == json.loads(ev.encode_server_event(session_event))
        assert added == json.loads(ev.encode_server_event(item_event))

    def test_new_status_reason_keeps_the_event(self) -> None:
        """A status reason this version does not list still decodes."""
        event = ev.decode_server_event(
            '{"type":"response.done","event_id":"e","response":{"status":"incomplete",'
            '"status_details":{"type":"incomplete","reason":"token_budget"}}}'
        )

        assert isinstance(event, ev.ResponseDoneEvent)
        assert event.response.status_details is not None
        assert "token_budget" == event.response.status_details.reason

    def test_client_decoding_stays_strict(self) -> None:
        """A server decoding client frames rejects nested types it does not know."""
        frame = '{"type":"conversation.item.create","item":{"type":"reasoning","id":"x"}}'

        with pytest.raises(ProtocolError) as info:
            ev.decode_client_event(frame)

        assert (
            "invalid client event 'conversation.item.create': unknown conversation item type "
            "'reasoning'; expected one of 'function_call', 'function_call_output', "
            "'mcp_approval_request', 'mcp_approval_response', 'mcp_call', 'mcp_list_tools', "
            "'message' @ $.item"
        ) == str(info.value)

    def test_unknown_item_can_be_sent(self) -> None:
        """An UnknownItem built by the caller is an escape hatch for new item types."""
        event = ev.ConversationItemCreateEvent(
            item=ev.UnknownItem(type="reasoning", raw={"id": "x"})
        )

        assert {
            "type": "conversation.item.create",
            "item": {"id": "x", "type": "reasoning"},
        } == json.loads(ev.encode_client_event(event))
