"""The microphone and the speaker: PortAudio streams with short, non-blocking callbacks."""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import queue
import threading
from collections.abc import Callable
from typing import Any, final

from ..errors import AudioError
from ._format import WireFormat, wire_format
from ._numpy import np
from ._playback import PlaybackBuffer, PlaybackEvent, PlaybackFinished, PlaybackPosition
from ._resample import StreamResampler
from ._stream import (
    StreamFactory,
    device_default_rate,
    open_stream,
    sounddevice_stream,
)

__all__ = ["Microphone", "Speaker", "pcm16_level_dbfs"]

_log = logging.getLogger("realtime_client")
_numbers = itertools.count(1)
_STOP = object()
_SILENCE_DBFS = -120.0


def pcm16_level_dbfs(pcm16: bytes) -> float:
    """RMS level of PCM16 audio in dBFS (full-scale sine = -3 dB; silence = -120)."""
    if len(pcm16) < 2:
        return _SILENCE_DBFS
    samples = np.frombuffer(pcm16, dtype="<i2", count=len(pcm16) // 2).astype(np.float64)
    rms = math.sqrt(float(np.mean(samples * samples))) / 32768.0
    return max(_SILENCE_DBFS, 20.0 * math.log10(rms + 1e-12))


def _rates(
    kind: str, wire_rate: int, sample_rate: int | None, device: int | str | None, custom: bool
) -> list[int]:
    """Rates to try: the forced one; else the wire's, then the device's own, then common ones."""
    if sample_rate is not None:
        return [sample_rate]
    default = None
    if not custom:  # only a real device can be asked
        default = device_default_rate("input" if kind == "input" else "output", device)
    return [r for r in (wire_rate, default, 48000, 44100) if r]


@final
class Microphone:
    """Records from an input device and hands out steady chunks in the wire format.

    The PortAudio callback only copies each block into a bounded queue.
    :meth:`read` (on your thread) converts the device's rate to the wire's,
    cuts steady ``chunk_ms`` chunks and encodes them (PCM16, or G.711 for the
    telephony formats), ready for ``session.send_audio``.

    A :class:`VoiceBridge` uses :meth:`connect` instead: the callback converts
    each block itself and hands the chunks straight to the session's send
    queue, which saves a thread wake-up per chunk (the biggest share of a live
    conversation's CPU).

    Use it as a context manager, or call :meth:`start` and :meth:`close`.

    Args:
        device: A sounddevice device index or name substring; None is the default input.
        wire_format: ``"audio/pcm"`` (24 kHz PCM16), ``"audio/pcmu"`` or ``"audio/pcma"``.
        chunk_ms: Duration of each chunk :meth:`read` returns (10 to 1000 ms).
        sample_rate: Force the device's rate. By default the wire's rate is tried
            first, then the device's own, with resampling.
        blocksize_ms: Duration of one device block.
        latency: Passed to PortAudio (seconds, ``"low"`` or ``"high"``); None is its default.
        max_queued_s: Recorded audio kept while nobody reads; beyond it the oldest
            blocks are dropped to make room for the newest (counted in
            :attr:`dropped_blocks`).
        stream_factory: Opens the stream; the default uses sounddevice. Tests pass a fake.

    Raises:
        AudioError: sounddevice, PortAudio or the device is missing, or it cannot open.
        ValueError: An argument is out of range.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        device: int | str | None = None,
        wire_format: str = "audio/pcm",
        chunk_ms: int = 40,
        sample_rate: int | None = None,
        blocksize_ms: float = 40,
        latency: float | str | None = None,
        max_queued_s: float = 5.0,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        if not 10 <= chunk_ms <= 1000:
            raise ValueError(f"chunk_ms must be between 10 and 1000, got {chunk_ms}")
        self._format: WireFormat = _lookup(wire_format)
        factory: StreamFactory = stream_factory or sounddevice_stream
        rates = _rates(
            "input", self._format.sample_rate, sample_rate, device, stream_factory is not None
        )
        blocks = max(1, math.ceil(max_queued_s * 1000 / blocksize_ms))
        self._blocks: queue.Queue[bytes] = queue.Queue(maxsize=blocks)
        self._stream, self._rate = open_stream(
            factory,
            kind="input",
            rates=rates,
            blocksize_ms=blocksize_ms,
            device=device,
            latency=latency,
            callback=self._callback,
        )
        self._resampler = StreamResampler(in_rate=self._rate, out_rate=self._format.sample_rate)
        self._chunk_bytes = self._format.sample_rate * chunk_ms // 1000 * 2
        self._chunk_ms = chunk_ms
        self._blocksize_ms = blocksize_ms
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._running = False
        self._closed = False
        self._muted = False
        self._last_chunk = b""  # measured on demand by level_dbfs, not per chunk
        self._consumer: Callable[[bytes], None] | None = None
        self.dropped_blocks = 0
        self.input_overflows = 0
        self.consumer_errors = 0

    def __repr__(self) -> str:
        return f"<Microphone {self._format.name} device_rate={self._rate}>"

    @property
    def wire_format(self) -> WireFormat:
        """The format :meth:`read` produces."""
        return self._format

    @property
    def device_rate(self) -> int:
        """The rate the device stream opened at."""
        return self._rate

    @property
    def chunk_ms(self) -> int:
        """Duration of each chunk :meth:`read` returns."""
        return self._chunk_ms

    @property
    def blocksize_ms(self) -> float:
        """Duration of one device block."""
        return self._blocksize_ms

    @property
    def muted(self) -> bool:
        """True while :meth:`read` returns silence instead of what the device records."""
        return self._muted

    @property
    def level_dbfs(self) -> float:
        """RMS level of the last chunk, in dBFS (measured before muting).

        Computed when you ask, from the last chunk only: a level meter that
        polls it costs nothing when nobody looks.
        """
        return pcm16_level_dbfs(self._last_chunk)

    def mute(self) -> None:
        """Replace recorded audio with silence (the chunks keep coming, on time)."""
        self._muted = True

    def unmute(self) -> None:
        """Undo :meth:`mute`."""
        self._muted = False

    def start(self) -> None:
        """Start recording.

        Raises:
            AudioError: The device failed to start, or the microphone is closed.
        """
        with self._lock:
            if self._closed:
                raise AudioError("the microphone is closed")
            if self._running:
                return
            try:
                self._stream.start()
            except Exception as exc:
                raise AudioError(f"the input device failed to start: {exc}") from exc
            self._running = True

    def stop(self) -> None:
        """Stop recording; chunks already recorded can still be read."""
        with self._lock:
            if self._running:
                self._running = False
                self._stream.stop()

    def close(self) -> None:
        """Stop and release the device. Idempotent; :meth:`read` then returns ``b""``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._running:
                self._running = False
                self._stream.stop()
            self._stream.close()
            consumer, self._consumer = self._consumer, None
        if consumer is not None:  # the callback has stopped: tell the consumer it ended
            self._deliver(consumer, b"")
        with contextlib.suppress(queue.Full):  # wake a reader blocked in read()
            self._blocks.put_nowait(b"")

    def __enter__(self) -> Microphone:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self, consumer: Callable[[bytes], None] | None) -> None:
        """Hand each chunk to ``consumer`` as it is recorded, instead of through :meth:`read`.

        ``consumer`` runs on the device's callback thread, once per chunk (in
        the wire format, like :meth:`read` returns), and must not block: queue
        the chunk and return (``session.send_audio(chunk, timeout=0)`` does).
        If it raises, the error is logged and counted in
        :attr:`consumer_errors`, and recording goes on. When the microphone is
        closed, ``consumer`` is called once more with ``b""``.

        Args:
            consumer: The function to call; None goes back to :meth:`read`.
                Blocks already queued for :meth:`read` go to the new consumer first.

        Raises:
            AudioError: The microphone is closed.
        """
        with self._lock:
            if self._closed:
                raise AudioError("the microphone is closed")
            self._consumer = consumer

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next chunk of ``chunk_ms`` in the wire format.

        Args:
            timeout: Seconds to wait; None waits until a chunk is ready.

        Returns:
            The chunk; None when ``timeout`` passed first; ``b""`` once the
            microphone is closed.

        Raises:
            AudioError: A consumer is connected (see :meth:`connect`): chunks go there.
        """
        if self._consumer is not None:
            raise AudioError(
                "this microphone hands its chunks to a consumer (connect()); read() "
                "has nothing to return"
            )
        while len(self._pending) < self._chunk_bytes:
            if self._closed and self._blocks.empty():
                return b""
            try:
                block = self._blocks.get(timeout=timeout)
            except queue.Empty:
                return None
            if not block:
                return b""
            self._pending += self._resampler.process(block)
        return self._next_chunk()

    def _next_chunk(self) -> bytes:
        """Cut one chunk from the pending audio (which holds at least one), level it, encode it."""
        chunk = bytes(self._pending[: self._chunk_bytes])
        del self._pending[: self._chunk_bytes]
        self._last_chunk = chunk
        if self._muted:
            chunk = bytes(len(chunk))
        return self._format.encode(chunk)

    def _deliver(self, consumer: Callable[[bytes], None], chunk: bytes) -> None:
        try:
            consumer(chunk)
        except Exception:
            self.consumer_errors += 1
            _log.exception("the microphone's consumer failed; the chunk was lost")

    def _callback(self, indata: Any, frames: int, time: Any, status: Any) -> None:
        if status and getattr(status, "input_overflow", False):
            self.input_overflows += 1
        block = bytes(indata)
        consumer = self._consumer
        if consumer is not None:
            while not self._blocks.empty():  # recorded before connect(): oldest first
                with contextlib.suppress(queue.Empty):
                    queued = self._blocks.get_nowait()
                    if queued:
                        self._pending += self._resampler.process(queued)
            self._pending += self._resampler.process(block)
            while len(self._pending) >= self._chunk_bytes:
                self._deliver(consumer, self._next_chunk())
            return
        while True:
            try:
                self._blocks.put_nowait(block)
                return
            except queue.Full:  # nobody is reading: drop the oldest block, keep the newest
                try:
                    self._blocks.get_nowait()
                    self.dropped_blocks += 1
                except queue.Empty:
                    pass


def _lookup(name: str) -> WireFormat:
    return wire_format(name)


@final
class Speaker:
    """Plays response audio through an output device and tracks every sample played.

    :meth:`play` decodes and queues a delta (from the session's reader thread);
    the PortAudio callback copies queued audio to the device and pads with
    silence, and counts exactly how many samples of which item it handed over.
    From PortAudio's timing (when each block reaches the DAC), it also knows
    how many of those have come out of the device so far.

    :meth:`interrupt` drops everything queued. When the device reports its
    timing, it also aborts and restarts the stream, which drops what the
    device still held: sound stops within milliseconds, and the returned
    :class:`PlaybackPosition` counts only what came out, the value to truncate
    the item at. Without timing, what the device holds still plays (one block
    plus its latency) and counts as played.

    ``on_playback`` receives :class:`PlaybackStarted` (first sample handed to
    the device) and :class:`PlaybackFinished` (last sample out, or cut short)
    on the speaker's own thread (``realtime-speaker-N``); like any callback it
    must not block.

    Args:
        device: A sounddevice device index or name substring; None is the default output.
        wire_format: The format of the deltas given to :meth:`play`.
        sample_rate: Force the device's rate (default: the wire's, else the device's own).
        blocksize_ms: Duration of one device block. Larger blocks wake the
            process less often (less CPU); the first sample of a reply waits for
            the next block, so at most this long.
        latency: The device buffer PortAudio is asked for, in seconds (or
            ``"low"``/``"high"``); None asks for two blocks. The defaults, 40 ms
            blocks in an 80 ms buffer, cost about a third of the CPU of 25 ms
            blocks at PortAudio's default latency through PulseAudio, and
            barge-in does not wait for this buffer (see above).
        buffer_seconds: The most audio queued at once; :meth:`play` raises beyond it.
        on_playback: Called with each playback event.
        stream_factory: Opens the stream; the default uses sounddevice. Tests pass a fake.

    Raises:
        AudioError: sounddevice, PortAudio or the device is missing, or it cannot open.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        device: int | str | None = None,
        wire_format: str = "audio/pcm",
        sample_rate: int | None = None,
        blocksize_ms: float = 40,
        latency: float | str | None = None,
        buffer_seconds: float = 300.0,
        on_playback: Callable[[PlaybackEvent], None] | None = None,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self._format = _lookup(wire_format)
        factory: StreamFactory = stream_factory or sounddevice_stream
        if latency is None:
            latency = 2 * blocksize_ms / 1000
        rates = _rates(
            "output", self._format.sample_rate, sample_rate, device, stream_factory is not None
        )
        self._buffer: PlaybackBuffer | None = None
        self._stream, self._rate = open_stream(
            factory,
            kind="output",
            rates=rates,
            blocksize_ms=blocksize_ms,
            device=device,
            latency=latency,
            callback=self._callback,
        )
        self._buffer = PlaybackBuffer(
            frame_rate=self._rate,
            wire_rate=self._format.sample_rate,
            capacity_frames=int(buffer_seconds * self._rate),
        )
        self._resampler = StreamResampler(in_rate=self._format.sample_rate, out_rate=self._rate)
        self._blocksize_ms = blocksize_ms
        self._on_playback = on_playback
        self._lock = threading.Lock()
        self._resample_lock = threading.Lock()
        self._idle = threading.Condition()
        self._running = False
        self._closed = False
        self._notifier = threading.Thread(
            target=self._notify_loop, name=f"realtime-speaker-{next(_numbers)}", daemon=True
        )
        self._notifier_started = False
        self.output_underflows = 0

    def __repr__(self) -> str:
        return f"<Speaker {self._format.name} device_rate={self._rate}>"

    @property
    def wire_format(self) -> WireFormat:
        """The format :meth:`play` accepts."""
        return self._format

    @property
    def device_rate(self) -> int:
        """The rate the device stream opened at."""
        return self._rate

    @property
    def blocksize_ms(self) -> float:
        """Duration of one device block."""
        return self._blocksize_ms

    @property
    def playing(self) -> bool:
        """True while audio is queued or still coming out of the device."""
        return self._buf.playing

    @property
    def output_latency_s(self) -> float | None:
        """The device's output latency as PortAudio reports it, if the stream tells.

        After :meth:`interrupt`, sound stops at most this long later: the samples
        already handed to the device still play, and they are counted as played.
        """
        latency = getattr(self._stream, "latency", None)
        return float(latency) if isinstance(latency, (int, float)) else None

    @property
    def underruns(self) -> int:
        """Blocks padded with silence in the middle of an item (audio arrived too late)."""
        return self._buf.underruns

    @property
    def _buf(self) -> PlaybackBuffer:
        assert self._buffer is not None
        return self._buffer

    def start(self) -> None:
        """Start the output stream and the notifier thread.

        Raises:
            AudioError: The device failed to start, or the speaker is closed.
        """
        with self._lock:
            if self._closed:
                raise AudioError("the speaker is closed")
            if self._running:
                return
            if not self._notifier_started:
                self._notifier.start()
                self._notifier_started = True
            try:
                self._stream.start()
            except Exception as exc:
                raise AudioError(f"the output device failed to start: {exc}") from exc
            self._running = True

    def stop(self) -> None:
        """Stop the output stream (queued audio stays queued)."""
        with self._lock:
            if self._running:
                self._running = False
                self._stream.stop()

    def close(self, timeout: float = 2.0) -> None:
        """Stop, release the device and end the notifier thread. Idempotent.

        Args:
            timeout: Seconds to wait for the notifier thread to deliver pending events.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._running:
                self._running = False
                self._stream.stop()
            self._stream.close()
        if self._notifier_started:
            self._buf.events.put(_STOP)  # type: ignore[arg-type]
            if self._notifier is not threading.current_thread():
                self._notifier.join(timeout)

    def __enter__(self) -> Speaker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def play(self, item_id: str, audio: bytes, *, content_index: int = 0) -> None:
        """Queue one audio delta of an item.

        Audio for an item that was interrupted is ignored.

        Args:
            item_id: The item the delta belongs to.
            audio: The delta, in :attr:`wire_format`.
            content_index: The item's content part.

        Raises:
            AudioError: More than ``buffer_seconds`` of audio would be queued.
            ValueError: ``audio`` is not whole samples.
        """
        pcm = self._format.decode(audio)
        wire_samples = len(pcm) // 2
        with self._resample_lock:  # interrupt() may flush the resampler on another thread
            self._buf.write(
                item_id, content_index, self._resampler.process(pcm), wire_samples=wire_samples
            )

    def end(self, item_id: str, *, content_index: int = 0) -> None:
        """Mark an item's audio complete; :class:`PlaybackFinished` follows its last sample."""
        with self._resample_lock:
            tail = self._resampler.flush()
            if tail:
                self._buf.write(item_id, content_index, tail, wire_samples=0)
            self._buf.end(item_id, content_index)

    def interrupt(self) -> PlaybackPosition | None:
        """Stop playing now and drop queued audio.

        When the device reports its timing, the stream is aborted and restarted,
        which also drops what the device itself still held: sound stops within
        milliseconds, and the position counts only the samples that came out.
        Otherwise queued audio is dropped and what the device holds still plays
        (at most one block plus its latency); it counts as played.

        Returns:
            The interrupted item's position (``played_ms`` is what to truncate
            at), or None when nothing was playing.

        Raises:
            AudioError: The output stream failed to restart after the flush.
        """
        with self._lock:
            flush = self._running and self._buf.timed and self._buf.playing
            now: float | None = None
            if flush:
                try:
                    now = float(self._stream.time)
                except Exception:  # no clock after all: the device plays what it holds
                    flush = False
            if flush:
                flush = self._abort_locked()
            with self._resample_lock:
                position = self._buf.interrupt(now if flush else None)
                self._resampler.flush()
            if flush:
                self._restart_locked()
        return position

    def _abort_locked(self) -> bool:
        """Stop the stream at once, dropping what the device holds. Holds ``_lock``."""
        try:
            self._stream.abort()
        except Exception as exc:  # the device keeps what it holds: count it as played
            _log.warning("could not flush the output device: %s", exc)
            return False
        return True

    def _restart_locked(self) -> None:
        """Start the stream again after :meth:`_abort_locked`. Holds ``_lock``."""
        try:
            self._stream.start()
        except Exception as exc:
            self._running = False
            raise AudioError(f"the output device failed to restart: {exc}") from exc

    def position(self, item_id: str, *, content_index: int = 0) -> PlaybackPosition | None:
        """Where playback of an item stands, or None if the speaker never saw it."""
        return self._buf.position(item_id, content_index)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is playing or queued.

        Returns:
            True when idle, False when ``timeout`` seconds passed first.
        """
        with self._idle:
            return self._idle.wait_for(lambda: not self._buf.playing, timeout)

    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        if status and getattr(status, "output_underflow", False):
            self.output_underflows += 1
        buffer = self._buffer
        if buffer is None:  # a fake stream calling back during construction
            outdata[:] = bytes(len(outdata))
            return
        buffer.fill(
            outdata,
            getattr(time, "outputBufferDacTime", None),
            getattr(time, "currentTime", None),
        )

    def _notify_loop(self) -> None:
        events = self._buf.events
        while True:
            event = events.get()
            if event is _STOP:
                return
            if self._on_playback is not None:
                try:
                    self._on_playback(event)
                except Exception:
                    _log.exception("on_playback callback failed for %r", event)
            if isinstance(event, PlaybackFinished):
                with self._idle:
                    self._idle.notify_all()
