"""The offline Realtime server: :class:`FakeRealtimeServer` and its scripting types.

It needs the ``testing`` extra (``websockets``, ``numpy``). The package is split by
responsibility: ``_handshake`` (HTTP upgrade, keys), ``_connection`` (threads,
faults, recording), ``_session`` (protocol logic), ``_input_audio`` (input buffer
events, VAD turns, transcription, idle timeout), ``_config`` (session defaults
and merging), ``_conversation`` (items), ``_vad`` (input buffer and VAD),
``_streaming`` (response events), ``_replies`` (responders and the default model),
``_speech`` (voice), ``_audio`` (formats) and ``_record`` (JSONL traffic).
"""

from __future__ import annotations

from ._connection import MAX_DURATION_REASON, FakeConnection
from ._record import TrafficEntry, load_traffic
from ._replies import (
    AudioReply,
    ErrorReply,
    FunctionCallReply,
    Reply,
    Responder,
    ResponseRequest,
    TextReply,
)
from ._server import FakeRealtimeServer, serve_forever

__all__ = [
    "MAX_DURATION_REASON",
    "AudioReply",
    "ErrorReply",
    "FakeConnection",
    "FakeRealtimeServer",
    "FunctionCallReply",
    "Reply",
    "Responder",
    "ResponseRequest",
    "TextReply",
    "TrafficEntry",
    "load_traffic",
    "serve_forever",
]
