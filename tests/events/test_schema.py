"""What the encoders write validates against the official schemas.

The only exceptions are the spec's own known defects (listed in the protocol
reference's README), which ``neutralize_known_defects`` removes, each with its
reason, before validating.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT202012

from realtime_client import events as ev

from .frames import CLIENT_FRAMES, SERVER_FRAMES

SCHEMAS = Path(__file__).parent.parent / "data" / "realtime_schemas.json"


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    document = json.loads(SCHEMAS.read_text())
    registry = referencing.Registry().with_resource(
        "urn:realtime", DRAFT202012.create_resource(document)
    )
    schemas = document["components"]["schemas"]
    out = {}
    for union in ("RealtimeClientEvent", "RealtimeServerEvent"):
        for alternative in schemas[union].get("anyOf") or schemas[union]["oneOf"]:
            name = alternative["$ref"].rsplit("/", 1)[1]
            wire_type = schemas[name]["properties"]["type"]["enum"][0]
            out[wire_type] = jsonschema.Draft202012Validator(
                {"$ref": f"urn:realtime#/components/schemas/{name}"}, registry=registry
            )
    return out


def neutralize_known_defects(frame: dict[str, Any]) -> dict[str, Any]:
    """The frame with the spec's known defects taken out (see the spec README)."""
    frame = copy.deepcopy(frame)
    session = frame.get("session")
    if isinstance(session, dict):
        # Defect: `tracing` is `nullable: true` (OpenAPI 3.0 style), which JSON Schema ignores.
        if session.get("tracing", "") is None:
            del session["tracing"]
        audio_input = session.get("audio", {}).get("input", {})
        # Defect (README item 1): null transcription / noise_reduction mean "off".
        for key in ("transcription", "noise_reduction"):
            if key in audio_input and audio_input[key] is None:
                del audio_input[key]
    response = frame.get("response")
    if frame["type"] == "response.create" and isinstance(response, dict):
        # Defect (README item 2): "auto" and "none" match both branches of a oneOf.
        if response.get("conversation") in ("auto", "none"):
            del response["conversation"]
        # Defect (README item 3): item_reference is accepted but not in the schema.
        if "input" in response:
            response["input"] = [i for i in response["input"] if i["type"] != "item_reference"]
    return frame


def _cases(frames: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return [pytest.param(k, f, id=f"{k}-{i}") for k, g in frames.items() for i, f in enumerate(g)]


@pytest.mark.parametrize(("kind", "frame"), _cases(CLIENT_FRAMES))
def test_encoded_client_events_validate(
    validators: dict[str, jsonschema.Draft202012Validator], kind: str, frame: dict[str, Any]
) -> None:
    """encode_client_event writes frames the official client schema accepts."""
    encoded = json.loads(ev.encode_client_event(ev.decode_client_event(json.dumps(frame))))

    validators[kind].validate(neutralize_known_defects(encoded))


@pytest.mark.parametrize(("kind", "frame"), _cases(SERVER_FRAMES))
def test_encoded_server_events_validate(
    validators: dict[str, jsonschema.Draft202012Validator], kind: str, frame: dict[str, Any]
) -> None:
    """encode_server_event (used by the offline server) writes schema-valid frames."""
    encoded = json.loads(ev.encode_server_event(ev.decode_server_event(json.dumps(frame))))

    validators[kind].validate(neutralize_known_defects(encoded))


def test_built_events_validate(validators: dict[str, jsonschema.Draft202012Validator]) -> None:
    """Events built in Python, the way an application builds them, validate too."""
    built = [
        ev.SessionUpdateEvent(
            session=ev.RealtimeSessionConfig(
                instructions="Be brief.",
                output_modalities=["audio"],
                audio=ev.AudioConfig(
                    input=ev.AudioInputConfig(
                        format=ev.AudioPCM(rate=24000),
                        turn_detection=ev.SemanticVad(eagerness="auto"),
                        transcription=ev.InputTranscription(model="gpt-4o-mini-transcribe"),
                    ),
                    output=ev.AudioOutputConfig(voice="marin"),
                ),
                tools=[ev.FunctionTool(name="lookup", parameters={"type": "object"})],
            )
        ),
        ev.ConversationItemCreateEvent(
            item=ev.UserMessageItem(content=[ev.InputAudioContent(audio=b"\x00\x00" * 240)])
        ),
        ev.ConversationItemCreateEvent(
            item=ev.FunctionCallOutputItem(call_id="call_1", output='{"ok": true}')
        ),
        ev.ResponseCreateEvent(
            response=ev.ResponseOptions(instructions="Go on.", metadata={"k": "v"})
        ),
        ev.ConversationItemTruncateEvent(item_id="item_1", content_index=0, audio_end_ms=0),
        ev.InputAudioBufferAppendEvent(audio=b"\x01\x02"),
    ]
    for event in built:
        validators[event.type].validate(
            neutralize_known_defects(json.loads(ev.encode_client_event(event)))
        )
