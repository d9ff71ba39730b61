"""The microphone: a PortAudio input stream whose callback queues (or hands on) its blocks."""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time as _time
from collections.abc import Callable
from typing import Any, final

from ..errors import AudioError
from ._devices import format_named, pcm16_level_dbfs, rates_to_try
from ._echo import EchoCanceller
from ._format import WireFormat
from ._resample import StreamResampler
from ._stream import StreamFactory, check_blocksize_ms, open_stream, sounddevice_stream

__all__ = ["Microphone"]

_log = logging.getLogger("realtime_client")


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
        blocksize_ms: Duration of one device block (above 0, at most 1000 ms).
        latency: Passed to PortAudio (seconds, ``"low"`` or ``"high"``); None is its default.
        max_queued_s: Recorded audio kept while nobody reads; beyond it the oldest
            blocks are dropped to make room for the newest (counted in
            :attr:`dropped_blocks`).
        stream_factory: Opens the stream; the default uses sounddevice. Tests pass a fake.

    Raises:
        AudioError: sounddevice, PortAudio or the device is missing, or it cannot open.
        TypeError: ``blocksize_ms`` is not a number.
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
        check_blocksize_ms(blocksize_ms)
        self._format: WireFormat = format_named(wire_format)
        factory: StreamFactory = stream_factory or sounddevice_stream
        rates = rates_to_try(
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
        self._backlog = False  # blocks queued for read() wait for the new consumer
        self._echo: EchoCanceller | None = None
        self._echo_jump = False  # the next block does not follow on (a restart)
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
            # Before the stream runs (its first callback may come before start()
            # returns): after a stop, the first block is placed by its time.
            self._echo_jump = True
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
            self._backlog = consumer is not None  # the callback takes what read() left

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

    def _adc_time(self, time: Any, frames: int) -> float:
        """When the block's first sample left the ADC, on the monotonic clock."""
        adc = getattr(time, "inputBufferAdcTime", None)
        now = getattr(time, "currentTime", None)
        if adc and now:
            return _time.monotonic() - float(now - adc)
        return _time.monotonic() - frames / self._rate

    def _deliver(self, consumer: Callable[[bytes], None], chunk: bytes) -> None:
        try:
            consumer(chunk)
        except Exception:
            self.consumer_errors += 1
            _log.exception("the microphone's consumer failed; the chunk was lost")

    def _set_echo_canceller(self, canceller: EchoCanceller | None) -> None:
        """Clean the chunks handed to the consumer (see :meth:`connect`) with ``canceller``."""
        self._echo = canceller

    def _callback(self, indata: Any, frames: int, time: Any, status: Any) -> None:
        overflow = bool(status and getattr(status, "input_overflow", False))
        if overflow:
            self.input_overflows += 1
        block = bytes(indata)
        consumer = self._consumer
        if consumer is not None:
            echo = self._echo
            if self._backlog:  # recorded before connect(): oldest first, once
                self._backlog = False
                with contextlib.suppress(queue.Empty):
                    while queued := self._blocks.get_nowait():
                        self._pending += self._resampler.process(queued)
            pcm = self._resampler.process(block)
            if echo is not None:
                jump, self._echo_jump = self._echo_jump, False
                try:
                    adc_time = self._adc_time(time, frames)
                    pcm = echo.near(pcm, adc_time, discontinuity=overflow or jump)
                except Exception:  # keep recording, without the canceller
                    self._echo = None
                    _log.exception("echo cancellation failed and is now off")
            self._pending += pcm
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
