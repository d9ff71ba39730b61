"""Fakes for audio unit tests: a stream whose callback the test drives, a session."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class FakeStream:
    """Records how it was opened; the test calls ``pump``/``push`` to run the callback."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.started = threading.Event()
        self.stopped = False
        self.closed = False

    def start(self) -> None:
        self.started.set()

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True

    def pump(self) -> bytes:
        """One output callback: returns the block the speaker produced."""
        out = bytearray(self.options["blocksize"] * 2)
        self.options["callback"](out, self.options["blocksize"], None, None)
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

    def on(self, key: type, fn: Any) -> Any:
        self.handlers.setdefault(key, []).append(fn)
        return fn

    def emit(self, event: Any) -> None:
        for fn in self.handlers.get(type(event), []):
            fn(event)

    def send_audio(self, audio: bytes) -> None:
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
