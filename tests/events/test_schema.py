"""What the encoders write validates against the official schemas.

The only exceptions are the spec's own known defects (listed in the protocol
reference's README), which ``neutralize_known_defects`` removes, each with its
reason, before validating.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from realtime_client import events as ev
from tests.schema_validation import neutralize_known_defects

from .frames import CLIENT_FRAMES, SERVER_FRAMES


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
