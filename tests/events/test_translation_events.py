"""The translation protocol's model: decoding, encoding, the schema, and the separation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import attrs
import jsonschema
import pytest

from realtime_client import ProtocolError
from realtime_client import events as ev
from realtime_client.events import translation as tev

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "translation_schema.json").read_text())
SERVER_SCHEMA = jsonschema.Draft202012Validator(SCHEMA["RealtimeTranslationServerEvent"])
CLIENT_SCHEMA = jsonschema.Draft202012Validator(SCHEMA["RealtimeTranslationClientEvent"])
AUDIO = "AAABAAIA"  # base64 of three PCM16 samples

SESSION = {
    "type": "translation",
    "id": "sess_1",
    "model": "gpt-realtime-translate",
    "expires_at": 1_800_000_000,
    "audio": {
        "input": {
            "noise_reduction": {"type": "near_field", "strength": 0.5},
            "transcription": {"model": "gpt-4o-transcribe"},
        },
        "output": {"language": "es"},
    },
}

SERVER_FRAMES: dict[str, dict[str, Any]] = {
    "error": {
        "type": "error",
        "event_id": "e0",
        "error": {"type": "invalid_request_error", "message": "bad", "code": "x", "param": "p"},
    },
    "session.created": {"type": "session.created", "event_id": "e1", "session": SESSION},
    "session.updated": {"type": "session.updated", "event_id": "e2", "session": SESSION},
    "session.closed": {"type": "session.closed", "event_id": "e3"},
    "session.input_transcript.delta": {
        "type": "session.input_transcript.delta",
        "event_id": "e4",
        "delta": "hola",
        "elapsed_ms": 200,
    },
    "session.output_transcript.delta": {
        "type": "session.output_transcript.delta",
        "event_id": "e5",
        "delta": " mundo",
        "elapsed_ms": 400,
    },
    "session.output_audio.delta": {
        "type": "session.output_audio.delta",
        "event_id": "e6",
        "delta": AUDIO,
        "format": "pcm16",
        "sample_rate": 24000,
        "channels": 1,
        "elapsed_ms": 600,
    },
}

CLIENT_FRAMES: dict[str, dict[str, Any]] = {
    "session.update": {
        "type": "session.update",
        "event_id": "c1",
        "session": {
            "audio": {
                "input": {
                    "noise_reduction": None,
                    "transcription": {"model": "gpt-4o-transcribe"},
                },
                "output": {"language": "fr"},
            }
        },
    },
    "session.input_audio_buffer.append": {
        "type": "session.input_audio_buffer.append",
        "audio": AUDIO,
    },
    "session.close": {"type": "session.close"},
}


def _schema_types(union: str) -> set[str]:
    schema = SCHEMA[union]
    return {
        schema["$defs"][alt["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["const"]
        for alt in schema["anyOf"]
    }


class TestRegistry:
    def test_unions_cover_the_schema_exactly(self) -> None:
        """Every event type of translation_schema.json has a class, and no class is extra."""
        assert _schema_types("RealtimeTranslationServerEvent") == set(tev.SERVER_EVENT_TYPES)
        assert _schema_types("RealtimeTranslationClientEvent") == set(tev.CLIENT_EVENT_TYPES)
        assert set(SERVER_FRAMES) == set(tev.SERVER_EVENT_TYPES)
        assert set(CLIENT_FRAMES) == set(tev.CLIENT_EVENT_TYPES)

    def test_names_follow_the_wire_type(self) -> None:
        """Class names are CapWords of the wire type plus Event, as in the conversation model."""
        for wire, cls in {**tev.SERVER_EVENT_TYPES, **tev.CLIENT_EVENT_TYPES}.items():
            expected = "".join(p.capitalize() for p in wire.replace(".", "_").split("_"))
            assert expected + "Event" == cls.__name__

    def test_every_event_class_of_the_module_is_in_a_union(self) -> None:
        """No event class is defined but left out of its union (it would never decode)."""
        members = set(get_args(tev.ServerEvent)) | set(get_args(tev.ClientEvent))
        defined = {
            obj
            for name, obj in vars(tev).items()
            if isinstance(obj, type)
            and attrs.has(obj)
            and name.endswith("Event")
            and not name.startswith("Unknown")
        }
        assert defined == members


class TestDecode:
    @pytest.mark.parametrize("wire", sorted(SERVER_FRAMES))
    def test_every_server_event_decodes_to_its_class(self, wire: str) -> None:
        """A schema-valid server frame decodes to the class registered for its type."""
        frame = SERVER_FRAMES[wire]
        SERVER_SCHEMA.validate(frame)
        event = tev.decode_translation_server_event(json.dumps(frame))
        assert tev.SERVER_EVENT_TYPES[wire] is type(event)

    @pytest.mark.parametrize("wire", sorted(CLIENT_FRAMES))
    def test_every_client_event_decodes_to_its_class(self, wire: str) -> None:
        """A schema-valid client frame decodes (server side) to its class."""
        frame = CLIENT_FRAMES[wire]
        CLIENT_SCHEMA.validate(frame)
        event = tev.decode_translation_client_event(json.dumps(frame))
        assert tev.CLIENT_EVENT_TYPES[wire] is type(event)

    def test_decoded_values(self) -> None:
        """Fields keep their wire values; audio arrives as raw bytes."""
        audio = tev.decode_translation_server_event(
            json.dumps(SERVER_FRAMES["session.output_audio.delta"])
        )
        assert isinstance(audio, tev.SessionOutputAudioDeltaEvent)
        assert (b"\x00\x00\x01\x00\x02\x00", 24000, 600) == (
            audio.delta,
            audio.sample_rate,
            audio.elapsed_ms,
        )
        created = tev.decode_translation_server_event(json.dumps(SERVER_FRAMES["session.created"]))
        assert isinstance(created, tev.SessionCreatedEvent)
        assert created.session.audio.output == tev.TranslationAudioOutput(language="es")
        assert created.session.audio.input is not None
        assert ev.NoiseReduction(type="near_field", strength=0.5) == (
            created.session.audio.input.noise_reduction
        )

    def test_only_required_fields(self) -> None:
        """Frames with only the required fields decode; optional fields are None."""
        event = tev.decode_translation_server_event(
            '{"type":"session.output_audio.delta","event_id":"e","delta":""}'
        )
        assert isinstance(event, tev.SessionOutputAudioDeltaEvent)
        assert (b"", None, None) == (event.delta, event.format, event.elapsed_ms)

    def test_unknown_fields_are_ignored(self) -> None:
        """Fields this version does not know, at any depth, do not fail an event."""
        frame = dict(SERVER_FRAMES["session.created"], extra=1)
        frame["session"] = dict(SESSION, future={"x": 1})
        event = tev.decode_translation_server_event(json.dumps(frame))
        assert isinstance(event, tev.SessionCreatedEvent)

    def test_unknown_types_decode_as_unknown(self) -> None:
        """A type the translation protocol does not have is an UnknownServerEvent."""
        event = tev.decode_translation_server_event('{"type":"session.future","x":1}')
        assert (
            ev.UnknownServerEvent(type="session.future", raw={"type": "session.future", "x": 1})
            == event
        )

    def test_bad_field_names_the_path(self) -> None:
        """A known field of the wrong type is a ProtocolError naming the event and field."""
        with pytest.raises(ProtocolError) as info:
            tev.decode_translation_server_event(
                '{"type":"session.output_transcript.delta","event_id":"e","delta":5}'
            )
        assert "session.output_transcript.delta" in str(info.value)
        assert "$.delta" in str(info.value)

    def test_wrong_session_type_is_refused(self) -> None:
        """A session object whose type is not 'translation' is a ProtocolError."""
        frame = dict(SERVER_FRAMES["session.created"], session=dict(SESSION, type="realtime"))
        with pytest.raises(ProtocolError, match="translation"):
            tev.decode_translation_server_event(json.dumps(frame))


class TestSeparation:
    def test_conversation_codec_refuses_a_translation_session(self) -> None:
        """The conversation decoder does not take a translation session.created."""
        with pytest.raises(ProtocolError):
            ev.decode_server_event(json.dumps(SERVER_FRAMES["session.created"]))

    def test_translation_codec_does_not_know_conversation_events(self) -> None:
        """Conversation events decode as unknown in a translation session."""
        event = tev.decode_translation_server_event('{"type":"response.done","event_id":"e"}')
        assert isinstance(event, ev.UnknownServerEvent)
        client = tev.decode_translation_client_event('{"type":"input_audio_buffer.append"}')
        assert isinstance(client, ev.UnknownClientEvent)

    def test_encoders_refuse_the_other_protocols_events(self) -> None:
        """Neither encoder writes the other protocol's events."""
        with pytest.raises(ProtocolError, match="translation client event"):
            tev.encode_translation_client_event(ev.InputAudioBufferClearEvent())  # type: ignore[arg-type]
        with pytest.raises(ProtocolError):
            ev.encode_client_event(tev.SessionCloseEvent())  # type: ignore[arg-type]

    def test_unknown_event_cannot_carry_a_known_type(self) -> None:
        """An UnknownClientEvent with a known translation type is refused: build the class."""
        with pytest.raises(ProtocolError, match="SessionCloseEvent"):
            tev.encode_translation_client_event(
                ev.UnknownClientEvent(type="session.close", raw={})
            )


class TestRoundTrip:
    @pytest.mark.parametrize("wire", sorted(SERVER_FRAMES))
    def test_server_events_round_trip_and_match_the_schema(self, wire: str) -> None:
        """decode(encode(event)) == event, and the encoder's output is schema-valid."""
        event = tev.decode_translation_server_event(json.dumps(SERVER_FRAMES[wire]))
        text = tev.encode_translation_server_event(event)  # type: ignore[arg-type]
        SERVER_SCHEMA.validate(json.loads(text))
        assert event == tev.decode_translation_server_event(text)

    @pytest.mark.parametrize("wire", sorted(CLIENT_FRAMES))
    def test_client_events_round_trip_and_match_the_schema(self, wire: str) -> None:
        """The client encoder writes schema-valid frames that decode back to the same event."""
        event = tev.decode_translation_client_event(json.dumps(CLIENT_FRAMES[wire]))
        text = tev.encode_translation_client_event(event)  # type: ignore[arg-type]
        CLIENT_SCHEMA.validate(json.loads(text))
        assert event == tev.decode_translation_client_event(text)
        assert CLIENT_FRAMES[wire] == {
            **json.loads(text),
            **({"event_id": "c1"} if wire == "session.update" else {}),
        }

    def test_null_turns_a_setting_off(self) -> None:
        """None is written as null (off); an unset field is left out."""
        update = tev.SessionUpdateEvent(
            session=tev.TranslationSessionUpdate(
                audio=tev.TranslationAudio(input=tev.TranslationAudioInput(transcription=None))
            )
        )
        frame = json.loads(tev.encode_translation_client_event(update))
        CLIENT_SCHEMA.validate(frame)
        assert {"audio": {"input": {"transcription": None}}} == frame["session"]

    def test_bad_value_fails_where_built(self) -> None:
        """Encoding an event holding a wrong type raises ProtocolError naming the field."""
        bad = tev.SessionInputAudioBufferAppendEvent(audio="not bytes")  # type: ignore[arg-type]
        with pytest.raises(ProtocolError, match="audio"):
            tev.encode_translation_client_event(bad)


class TestExports:
    def test_all_is_sorted_and_complete(self) -> None:
        """The translation module's __all__ is sorted and names every event class and union."""
        names = list(tev.__all__)
        assert sorted(names) == names
        for cls in [*get_args(tev.ServerEvent), *get_args(tev.ClientEvent)]:
            assert cls.__name__ in names
