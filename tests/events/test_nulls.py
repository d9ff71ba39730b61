"""Absent is not null: explicit nulls with a meaning survive, unset fields are omitted."""

from __future__ import annotations

import json

from realtime_client import events as ev


def _input_config(frame: str) -> dict[str, object]:
    return json.loads(frame)["session"]["audio"]["input"]  # type: ignore[no-any-return]


class TestClientNulls:
    def test_turn_detection_none_is_written_as_null(self) -> None:
        """turn_detection=None (manual turns) is sent as an explicit null."""
        event = ev.SessionUpdateEvent(
            session=ev.RealtimeSessionConfig(
                audio=ev.AudioConfig(input=ev.AudioInputConfig(turn_detection=None))
            )
        )

        assert {"turn_detection": None} == _input_config(ev.encode_client_event(event))

    def test_unset_turn_detection_is_omitted(self) -> None:
        """A field left unset is not written at all, so the server keeps its value."""
        event = ev.SessionUpdateEvent(
            session=ev.RealtimeSessionConfig(
                audio=ev.AudioConfig(input=ev.AudioInputConfig(format=ev.AudioPCMU()))
            )
        )

        assert {"format": {"type": "audio/pcmu"}} == _input_config(ev.encode_client_event(event))

    def test_null_and_absent_decode_differently(self) -> None:
        """Decoding keeps null (None) and absent (UNSET) apart for nullable fields."""
        with_null = ev.decode_client_event(
            '{"type":"session.update","session":{"type":"realtime","tracing":null,'
            '"audio":{"input":{"noise_reduction":null}}}}'
        )
        without = ev.decode_client_event('{"type":"session.update","session":{"type":"realtime"}}')

        assert isinstance(with_null, ev.SessionUpdateEvent)
        assert isinstance(without, ev.SessionUpdateEvent)
        assert isinstance(with_null.session, ev.RealtimeSessionConfig)
        assert isinstance(without.session, ev.RealtimeSessionConfig)
        assert with_null.session.tracing is None
        assert with_null.session.audio is not None
        assert with_null.session.audio.input is not None
        assert with_null.session.audio.input.noise_reduction is None
        assert without.session.tracing is ev.UNSET
        assert without.session.prompt is ev.UNSET

    def test_prompt_none_clears_the_prompt(self) -> None:
        """prompt=None is sent as null, the protocol's way to clear a stored prompt."""
        event = ev.SessionUpdateEvent(session=ev.RealtimeSessionConfig(prompt=None, tracing=None))

        sent = json.loads(ev.encode_client_event(event))

        assert {"type": "realtime", "prompt": None, "tracing": None} == sent["session"]

    def test_plain_optional_none_is_omitted(self) -> None:
        """Optional fields without a null meaning are omitted when None."""
        event = ev.ResponseCancelEvent(response_id=None, event_id=None)

        assert '{"type":"response.cancel"}' == ev.encode_client_event(event)


class TestServerNulls:
    def test_lenient_nulls_decode_as_absent(self) -> None:
        """The nulls the real server sends against the schema decode as absent."""
        frame = {
            "type": "response.done",
            "event_id": "e",
            "response": {
                "id": "resp_1",
                "status": "completed",
                "status_details": None,
                "usage": None,
                "conversation_id": None,
                "output": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_audio", "transcript": None}],
                    }
                ],
            },
        }

        event = ev.decode_server_event(json.dumps(frame))

        assert isinstance(event, ev.ResponseDoneEvent)
        response = event.response
        assert (None, None, None) == (
            response.status_details,
            response.usage,
            response.conversation_id,
        )
        assert response.output is not None
        item = response.output[0]
        assert isinstance(item, ev.UserMessageItem)
        assert ev.InputAudioContent() == item.content[0]

    def test_error_param_null(self) -> None:
        """error.param null decodes to None."""
        event = ev.decode_server_event(
            '{"type":"error","event_id":"e","error":{"type":"invalid_request_error",'
            '"message":"m","param":null,"code":null}}'
        )

        assert isinstance(event, ev.ErrorEvent)
        assert ev.ErrorDetails(type="invalid_request_error", message="m") == event.error

    def test_dtmf_has_no_event_id(self) -> None:
        """input_audio_buffer.dtmf_event_received is the one server event without event_id."""
        event = ev.decode_server_event(
            '{"type":"input_audio_buffer.dtmf_event_received","event":"#","received_at":1}'
        )

        assert ev.InputAudioBufferDtmfEventReceivedEvent(event="#", received_at=1) == event
