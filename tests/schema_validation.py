"""Validating frames against the official Realtime schemas, shared by the test suites.

The only exceptions are the spec's own known defects (listed in the protocol
reference's README), which ``neutralize_known_defects`` removes, each with its
reason, before validating.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parent / "data" / "realtime_schemas.json"


@functools.cache
def load_validators() -> dict[str, jsonschema.Draft202012Validator]:
    """One validator per wire type, for every GA client and server event."""
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
