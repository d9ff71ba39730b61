"""Client frames built directly, for the events a live conversation sends most.

``input_audio_buffer.append`` goes out every 20-40 ms while the user talks:
its frame is built here from the audio, the same JSON the converter makes
(a test checks it), at a fraction of the cost.
"""

from __future__ import annotations

import json
from typing import Final

import pybase64

from . import events as ev
from ._checks import encode_event

__all__ = ["MAX_APPEND_BYTES", "append_frame", "append_frames"]

MAX_APPEND_BYTES: Final = 1024 * 1024
"""Raw audio bytes per ``input_audio_buffer.append``: 1 MiB is about 22 s of 24 kHz PCM
and encodes to about 1.4 MB of base64, far under the server's 15 MiB limit."""

_APPEND_HEAD: Final = '{"type":"input_audio_buffer.append","audio":"'
_APPEND_TAIL: Final = '"}'


def append_frame(event: ev.InputAudioBufferAppendEvent) -> str:
    """The wire frame of an append, built directly: the same JSON the converter
    makes, at a fraction of its cost (one event every 20-40 ms while talking)."""
    audio: object = event.audio  # typed bytes, but built by the application
    event_id: object = event.event_id
    if not isinstance(audio, (bytes, bytearray, memoryview)) or not isinstance(
        event_id, (str, type(None))
    ):
        return encode_event(event)  # the converter names the wrong field
    frame = _APPEND_HEAD + pybase64.b64encode(audio).decode("ascii") + '"'
    if event_id is not None:
        frame += ',"event_id":' + json.dumps(event_id)
    return frame + "}"


def append_frames(
    audio: bytes | bytearray | memoryview, *, event_type: str = "input_audio_buffer.append"
) -> list[str]:
    """``input_audio_buffer.append`` frames for ``audio``, at most
    :data:`MAX_APPEND_BYTES` of raw audio each (none for empty audio).
    ``event_type`` names the translation protocol's append instead
    (``session.input_audio_buffer.append``: the same fields).

    Raises:
        TypeError: ``audio`` is not bytes-like.
    """
    if not isinstance(audio, (bytes, bytearray, memoryview)):
        raise TypeError(f"audio must be bytes-like, got {type(audio).__name__}")
    view = memoryview(audio).cast("B")
    size = MAX_APPEND_BYTES
    encode = pybase64.b64encode
    head = '{"type":"' + event_type + '","audio":"'
    return [
        head + encode(view[start : start + size]).decode("ascii") + _APPEND_TAIL
        for start in range(0, len(view), size)
    ]
