"""Fakes for audio unit tests: a stream whose callback the test drives, a session."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class FakeTime:
    """PortAudio's callback time info (what sounddevice passes as ``time``)."""

    def __init__(self, dac: float, now: float) -> None:
        self.outputBufferDacTime = dac
        self.currentTime = now
        self.inputBufferAdcTime = 0.0


class FakeStream:
    """Records how it was opened; the test calls ``pump``/``push`` to run the callback.

    ``time`` is the stream's clock (set it; PortAudio's ``Stream.time``).
    """

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.started = threading.Event()
        self.stopped = False
        self.closed = False
        self.aborts = 0
        self.starts = 0
        self.time = 0.0

    def start(self) -> None:
        self.starts += 1
        self.started.set()

    def stop(self) -> None:
        self.stopped = True

    def abort(self) -> None:
        self.aborts += 1

    def close(self) -> None:
        self.closed = True

    def pump(self, *, now: float | None = None, latency: float = 0.0) -> bytes:
        """One output callback: returns the block the speaker produced.

        With ``now``, the callback gets PortAudio timing: the stream time is
        ``now`` and the block's first sample reaches the DAC ``latency`` later.
        """
        out = bytearray(self.options["blocksize"] * 2)
        when = None if now is None else FakeTime(now + latency, now)
        if now is not None:
            self.time = now
        self.options["callback"](out, self.options["blocksize"], when, None)
        return bytes(out)

    def push(self, pcm: bytes) -> None:
        """One input callback with these samples."""
        self.options["callback"](memoryview(pcm), len(pcm) // 2, None, None)


class FakeFactory:
    """A stream factory that keeps the streams it made; may refuse some rates."""

    def __init__(self, *, refuse: tuple[int, ...] = ()) -> None:
        self.streams: list[FakeStream] = []
        self.refuse = refuse

    def __call__(self, **options: Any) -> FakeStream:
        from realtime_client.errors import AudioError

        if options["samplerate"] in self.refuse:
            raise AudioError(f"rate {options['samplerate']} refused")
        stream = FakeStream(**options)
        self.streams.append(stream)
        return stream

    @property
    def stream(self) -> FakeStream:
        return self.streams[-1]


class FakeSession:
    """The BridgeSession methods, recording what was sent; ``emit`` plays the server."""

    def __init__(self) -> None:
        self.handlers: dict[type, list[Any]] = {}
        self.sent: list[tuple[Any, ...]] = []
        self.audio = bytearray()
        self.audio_event = threading.Event()
        self.fail_send: Exception | None = None
        self.send_timeouts: list[float | None] = []

    def on(self, key: type, fn: Any) -> Any:
        self.handlers.setdefault(key, []).append(fn)
        return fn

    def emit(self, event: Any) -> None:
        for fn in self.handlers.get(type(event), []):
            fn(event)

    def send_audio(self, audio: bytes, *, timeout: float | None = None) -> None:
        self.send_timeouts.append(timeout)
        if self.fail_send is not None:
            raise self.fail_send
        self.audio += audio
        self.audio_event.set()

    def commit_audio(self) -> None:
        self.sent.append(("commit",))

    def clear_audio(self) -> None:
        self.sent.append(("clear",))

    def create_response(self) -> None:
        self.sent.append(("response.create",))

    def cancel_response(self, response_id: str | None = None) -> None:
        self.sent.append(("response.cancel", response_id))

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        self.sent.append(("truncate", item_id, content_index, audio_end_ms))


def tone(ms: int, rate: int = 24000, freq: float = 440.0, amp: float = 0.5) -> bytes:
    n = rate * ms // 1000
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * freq * t) * amp * 32767).astype("<i2").tobytes()


def ramp(n: int, start: int = 1) -> bytes:
    """Distinct samples, so a test can tell exactly which ones were played."""
    return np.arange(start, start + n, dtype="<i2").tobytes()
