"""WAV files as audio sources and sinks, with the microphone's and speaker's interface.

:class:`WavSource` reads a file the way :class:`~realtime_client.audio.Microphone`
records: steady chunks in the wire format, paced in real time or as fast as
asked. :class:`WavSink` takes deltas the way
:class:`~realtime_client.audio.Speaker` does and writes them to a file. Both
use only the standard library's :mod:`wave` plus the resampler.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import wave
from collections.abc import Callable
from typing import final

from ..errors import AudioError
from ._format import WireFormat, wire_format
from ._numpy import np
from ._playback import PlaybackEvent, PlaybackFinished, PlaybackPosition, PlaybackStarted
from ._resample import StreamResampler

__all__ = ["WavSink", "WavSource", "read_wav"]

_KEPT_ITEMS = 64  # interrupted items remembered, as the speaker's buffer does


def read_wav(path: str | os.PathLike[str], *, sample_rate: int | None = None) -> tuple[bytes, int]:
    """Read a PCM16 WAV file as mono PCM16.

    Args:
        path: The file.
        sample_rate: Resample to this rate; None keeps the file's.

    Returns:
        The samples and their rate.

    Raises:
        AudioError: The file is missing, not a WAV, or not 16-bit PCM.

    A file cut short inside its last frame (an interrupted recording) is read
    up to its last whole frame.
    """
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        reason = str(exc) or "it ends inside its header"  # EOFError has no message
        raise AudioError(f"cannot read WAV file {os.fspath(path)!r}: {reason}") from exc
    if width != 2:
        raise AudioError(
            f"WAV file {os.fspath(path)!r} has {8 * width}-bit samples; "
            "only 16-bit PCM is supported"
        )
    # A file cut short (a recording interrupted) can end inside a frame: keep whole ones.
    frames = frames[: len(frames) - len(frames) % (width * channels)]
    if channels > 1:  # mix down to mono
        samples = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).astype(np.int32)
        frames = (samples.sum(axis=1) // channels).astype("<i2").tobytes()
    if sample_rate is not None and sample_rate != rate:
        resampler = StreamResampler(in_rate=rate, out_rate=sample_rate)
        frames = resampler.process(frames) + resampler.flush()
        rate = sample_rate
    return frames, rate


@final
class WavSource:
    """Reads a WAV file as a stream of wire-format chunks, like a microphone.

    Args:
        path: A 16-bit PCM WAV file (any rate, mono or stereo).
        wire_format: The format :meth:`read` produces.
        chunk_ms: Duration of each chunk.
        realtime: When True (the default), :meth:`read` returns each chunk no
            sooner than it would have been recorded live; when False, at once.
        pad_ms: Silence appended after the file (server VAD needs silence to end a turn).

    Raises:
        AudioError: The file cannot be read.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        wire_format: str = "audio/pcm",
        chunk_ms: int = 20,
        realtime: bool = True,
        pad_ms: int = 0,
    ) -> None:
        if not 10 <= chunk_ms <= 1000:
            raise ValueError(f"chunk_ms must be between 10 and 1000, got {chunk_ms}")
        self._format: WireFormat = _lookup(wire_format)
        rate = self._format.sample_rate
        pcm, _ = read_wav(path, sample_rate=rate)
        self._pcm = pcm + bytes(rate * pad_ms // 1000 * 2)
        self._chunk_bytes = rate * chunk_ms // 1000 * 2
        self._chunk_s = chunk_ms / 1000
        self._realtime = realtime
        self._offset = 0
        self._started_at: float | None = None
        self._closed = threading.Event()
        self._muted = False
        self._level = -120.0
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"<WavSource {self.path!r} {self._format.name}>"

    @property
    def wire_format(self) -> WireFormat:
        """The format :meth:`read` produces."""
        return self._format

    @property
    def duration_s(self) -> float:
        """Length of the file plus padding, in seconds."""
        return len(self._pcm) / 2 / self._format.sample_rate

    @property
    def muted(self) -> bool:
        """True while :meth:`read` returns silence."""
        return self._muted

    @property
    def level_dbfs(self) -> float:
        """RMS level of the last chunk read, in dBFS."""
        return self._level

    def mute(self) -> None:
        """Replace the file's audio with silence."""
        self._muted = True

    def unmute(self) -> None:
        """Undo :meth:`mute`."""
        self._muted = False

    def start(self) -> None:
        """Start the clock (the first :meth:`read` also does)."""
        if self._started_at is None:
            self._started_at = time.monotonic()

    def stop(self) -> None:
        """Nothing to stop; present for the microphone's interface."""

    def close(self) -> None:
        """End the stream: :meth:`read` returns ``b""`` and a waiting read wakes up."""
        self._closed.set()

    def __enter__(self) -> WavSource:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next chunk; None if ``timeout`` passes first; ``b""`` at the end or once closed."""
        from ._devices import pcm16_level_dbfs

        self.start()
        if self._closed.is_set() or self._offset >= len(self._pcm):
            return b""
        if self._realtime:
            assert self._started_at is not None
            index = self._offset // self._chunk_bytes
            due = self._started_at + (index + 1) * self._chunk_s
            delay = due - time.monotonic()
            if delay > 0:
                if timeout is not None and timeout < delay:
                    self._closed.wait(timeout)
                    return b"" if self._closed.is_set() else None
                if self._closed.wait(delay):
                    return b""
        chunk = self._pcm[self._offset : self._offset + self._chunk_bytes]
        self._offset += len(chunk)
        self._level = pcm16_level_dbfs(chunk)
        if self._muted:
            chunk = bytes(len(chunk))
        return self._format.encode(chunk)


@final
class WavSink:
    """Writes response audio to a WAV file, with the speaker's interface.

    A file has no playback clock: audio counts as played when it is written, so
    :meth:`interrupt` reports everything received as played. Playback events
    are delivered on the calling thread.

    Args:
        path: The file to create (16-bit mono PCM).
        wire_format: The format of the deltas given to :meth:`play`.
        sample_rate: The file's rate; None uses the wire's.
        on_playback: Called with :class:`PlaybackStarted` / :class:`PlaybackFinished`.

    Raises:
        AudioError: The file cannot be created.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        wire_format: str = "audio/pcm",
        sample_rate: int | None = None,
        on_playback: Callable[[PlaybackEvent], None] | None = None,
    ) -> None:
        self._format = _lookup(wire_format)
        self._rate = sample_rate or self._format.sample_rate
        self._resampler = StreamResampler(in_rate=self._format.sample_rate, out_rate=self._rate)
        self.path = os.fspath(path)
        try:
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise AudioError(f"cannot create WAV file {self.path!r}: {exc}") from exc
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(self._rate)
        self._on_playback = on_playback
        self._lock = threading.Lock()
        self._received: dict[tuple[str, int], int] = {}
        self._current: tuple[str, int] | None = None
        # Interrupted items: their late deltas are ignored, as PlaybackBuffer does.
        self._dropped: collections.deque[tuple[str, int]] = collections.deque(maxlen=_KEPT_ITEMS)
        self._closed = False
        self.frames_written = 0
        self.underruns = 0

    def __repr__(self) -> str:
        return f"<WavSink {self.path!r} {self._rate} Hz>"

    @property
    def wire_format(self) -> WireFormat:
        """The format :meth:`play` accepts."""
        return self._format

    @property
    def device_rate(self) -> int:
        """The file's sample rate."""
        return self._rate

    @property
    def playing(self) -> bool:
        """True between an item's first audio and its :meth:`end`."""
        return self._current is not None

    def start(self) -> None:
        """Nothing to start; present for the speaker's interface."""

    def stop(self) -> None:
        """Nothing to stop; present for the speaker's interface."""

    def close(self) -> None:
        """Finish the file (its header gets the final length). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._write(self._resampler.flush())
                self._wav.close()
            finally:
                self._file.close()

    def __enter__(self) -> WavSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def play(self, item_id: str, audio: bytes, *, content_index: int = 0) -> None:
        """Append one delta of an item to the file.

        Audio for an item that was interrupted is ignored.

        Raises:
            AudioError: The sink is closed or the disk write failed.
        """
        pcm = self._format.decode(audio)
        key = (item_id, content_index)
        started = False
        with self._lock:
            if self._closed:
                raise AudioError(f"WAV sink {self.path!r} is closed")
            if key in self._dropped:
                return
            if key not in self._received:
                self._received[key] = 0
                self._current = key
                started = True
            self._received[key] += len(pcm) // 2
            self._write(self._resampler.process(pcm))
        if started:
            self._emit(PlaybackStarted(item_id=item_id, content_index=content_index))

    def end(self, item_id: str, *, content_index: int = 0) -> None:
        """Mark an item complete; emits :class:`PlaybackFinished`."""
        key = (item_id, content_index)
        with self._lock:
            if key not in self._received or key in self._dropped:
                return
            if self._current == key:
                self._current = None
            position = self._position(key)
        self._emit(PlaybackFinished(position=position, interrupted=False))

    def interrupt(self) -> PlaybackPosition | None:
        """End the current item early; everything written counts as played."""
        with self._lock:
            key, self._current = self._current, None
            if key is None:
                return None
            self._dropped.append(key)
            position = self._position(key)
        self._emit(PlaybackFinished(position=position, interrupted=True))
        return position

    def position(self, item_id: str, *, content_index: int = 0) -> PlaybackPosition | None:
        """Where an item stands (played equals received for a file)."""
        with self._lock:
            key = (item_id, content_index)
            return self._position(key) if key in self._received else None

    def wait_idle(self, timeout: float) -> bool:
        """A file is never behind: returns whether no item is open (never waits)."""
        return not self.playing

    def _position(self, key: tuple[str, int]) -> PlaybackPosition:
        ms = self._received[key] * 1000 // self._format.sample_rate
        return PlaybackPosition(item_id=key[0], content_index=key[1], played_ms=ms, received_ms=ms)

    def _write(self, pcm: bytes) -> None:
        try:
            self._wav.writeframes(pcm)
        except OSError as exc:
            raise AudioError(f"cannot write WAV file {self.path!r}: {exc}") from exc
        self.frames_written += len(pcm) // 2

    def _emit(self, event: PlaybackEvent) -> None:
        if self._on_playback is not None:
            self._on_playback(event)


def _lookup(name: str) -> WireFormat:
    return wire_format(name)
