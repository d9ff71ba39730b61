"""Checks the codec leaves to the server: unknown parameters, and decode failures as errors."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from ...errors import ProtocolError
from ._util import ServerErrorInfo

__all__ = ["decode_failure", "frame_event_id", "unknown_parameters"]

_PATH = re.compile(r"@ \$\.?(\S*)$")


def unknown_parameters(raw: Any, decoded: Any, path: str = "") -> list[str]:
    """Paths of keys in ``raw`` that the decoded attrs object has no field for."""
    found: list[str] = []
    if attrs.has(type(decoded)) and isinstance(raw, dict):
        names = {f.name for f in attrs.fields(type(decoded))}
        for key, value in raw.items():
            where = f"{path}.{key}" if path else key
            if key not in names:
                found.append(where)
            else:
                found.extend(unknown_parameters(value, getattr(decoded, key), where))
    elif isinstance(decoded, list) and isinstance(raw, list):
        for index, (raw_item, item) in enumerate(zip(raw, decoded, strict=False)):
            found.extend(unknown_parameters(raw_item, item, f"{path}[{index}]"))
    return found


def frame_event_id(frame: str | bytes) -> str | None:
    """The ``event_id`` of a client frame, when it has a readable one."""
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and isinstance(data.get("event_id"), str):
        event_id: str = data["event_id"]
        return event_id
    return None


def decode_failure(exc: ProtocolError) -> ServerErrorInfo:
    """The ``error`` the service gives for a frame the codec rejected."""
    message = str(exc)
    if not exc.details:  # not JSON, not an object, no type
        return ServerErrorInfo(
            f"Invalid JSON or event: {message}. Expected a JSON object with a 'type'.",
            code="invalid_event"
            if "must be a JSON object" in message or "'type'" in message
            else "invalid_json",
            param=None,
        )
    first = exc.details[0]
    match = _PATH.search(first)
    param = match.group(1) if match else None
    problem = first[: match.start()].strip() if match else first
    if problem == "required field missing":
        return ServerErrorInfo(
            f"Missing required parameter: '{param}'.",
            code="missing_required_parameter",
            param=param,
        )
    if problem.startswith("expected") or "type" in problem:
        return ServerErrorInfo(
            f"Invalid type for '{param}': {problem}.", code="invalid_type", param=param
        )
    return ServerErrorInfo(
        f"Invalid value for '{param}': {problem}.", code="invalid_value", param=param
    )
