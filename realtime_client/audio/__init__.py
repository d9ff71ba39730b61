"""Live audio: microphone, speaker, barge-in, WAV files, G.711 and resampling.

Importing this package needs NumPy (the ``audio`` extra; without it the import
raises :class:`~realtime_client.AudioError` naming
``pip install 'realtime-client[audio]'``) but not PortAudio:
sounddevice is imported when the first :class:`Microphone` or :class:`Speaker`
opens, and a missing library becomes an :class:`~realtime_client.AudioError`
naming the fix. ``import realtime_client`` never imports this package.

.. versionadded:: 0.1
"""

from __future__ import annotations

from ._bridge import AudioSink, AudioSource, BridgeSession, VoiceBridge
from ._devices import pcm16_level_dbfs
from ._echo import EchoCancellation, EchoCanceller, EchoStats, echo_cancellation_available
from ._format import WIRE_FORMATS, WireFormat, wire_format
from ._g711 import decode_alaw, decode_ulaw, encode_alaw, encode_ulaw
from ._microphone import Microphone
from ._playback import PlaybackEvent, PlaybackFinished, PlaybackPosition, PlaybackStarted
from ._resample import StreamResampler
from ._speaker import Speaker
from ._stream import AudioStream, StreamFactory, list_devices
from ._wav import WavSink, WavSource, read_wav

__all__ = [
    "WIRE_FORMATS",
    "AudioSink",
    "AudioSource",
    "AudioStream",
    "BridgeSession",
    "EchoCancellation",
    "EchoCanceller",
    "EchoStats",
    "Microphone",
    "PlaybackEvent",
    "PlaybackFinished",
    "PlaybackPosition",
    "PlaybackStarted",
    "Speaker",
    "StreamFactory",
    "StreamResampler",
    "VoiceBridge",
    "WavSink",
    "WavSource",
    "WireFormat",
    "decode_alaw",
    "decode_ulaw",
    "encode_alaw",
    "echo_cancellation_available",
    "encode_ulaw",
    "list_devices",
    "pcm16_level_dbfs",
    "read_wav",
    "wire_format",
]
