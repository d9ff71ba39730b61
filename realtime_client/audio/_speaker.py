"""The speaker: a PortAudio output stream fed from the jitter buffer, flushed on barge-in."""

from __future__ import annotations

import itertools
import logging
import threading
import time as _time
from collections.abc import Callable
from typing import Any, final

from ..errors import AudioError
from ._devices import format_named, rates_to_try
from ._echo import EchoCanceller
from ._format import WireFormat
from ._playback import PlaybackBuffer, PlaybackEvent, PlaybackFinished, PlaybackPosition
from ._resample import StreamResampler
from ._stream import StreamFactory, check_blocksize_ms, open_stream, sounddevice_stream

__all__ = ["Speaker"]

_log = logging.getLogger("realtime_client")
_numbers = itertools.count(1)
_STOP = object()


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
    the item at. Without timing, or while an echo canceller takes the
    speaker's blocks as its reference (``VoiceBridge(echo_cancellation=...)``:
    the stream then stays one continuous reference), what the device holds
    still plays (one block plus its latency) and counts as played.

    ``on_playback`` receives :class:`PlaybackStarted` (first sample handed to
    the device) and :class:`PlaybackFinished` (last sample out, or cut short)
    on the speaker's own thread (``realtime-speaker-N``); like any callback it
    must not block.

    Args:
        device: A sounddevice device index or name substring; None is the default output.
        wire_format: The format of the deltas given to :meth:`play`.
        sample_rate: Force the device's rate (default: the wire's, else the device's own).
        blocksize_ms: Duration of one device block (above 0, at most 1000 ms).
            Larger blocks wake the process less often (less CPU); the first
            sample of a reply waits for the next block, so at most this long.
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
        TypeError: ``blocksize_ms`` is not a number.
        ValueError: ``blocksize_ms`` is out of range.

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
        check_blocksize_ms(blocksize_ms)
        self._format = format_named(wire_format)
        factory: StreamFactory = stream_factory or sounddevice_stream
        if latency is None:
            latency = 2 * blocksize_ms / 1000
        rates = rates_to_try(
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
        self._echo: EchoCanceller | None = None
        self._echo_jump = False  # the reference's next block does not follow on
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
            # Before the stream runs (its first callback may come before start()
            # returns): after a stop, the first block is placed by its time.
            self._echo_jump = True
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
        Otherwise, and while an echo canceller is attached, queued audio is
        dropped and what the device holds still plays (at most one block plus
        its latency); it counts as played.

        Returns:
            The interrupted item's position (``played_ms`` is what to truncate
            at), or None when nothing was playing.

        Raises:
            AudioError: The output stream failed to restart after the flush.
        """
        with self._lock:
            # With an echo canceller attached the stream keeps running: its blocks are
            # the canceller's reference, and a restarted stream could only be placed by
            # a timestamp a few milliseconds off, which AEC3 would have to find again.
            flush = self._running and self._buf.timed and self._buf.playing and self._echo is None
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
                self._echo_jump = True  # what the device held was dropped
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

    def _set_echo_canceller(self, canceller: EchoCanceller | None) -> None:
        """Give every block handed to the device to ``canceller`` as its reference."""
        self._echo = canceller

    def _callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        if status and getattr(status, "output_underflow", False):
            self.output_underflows += 1
            self._echo_jump = True
        buffer = self._buffer
        if buffer is None:  # a fake stream calling back during construction
            outdata[:] = bytes(len(outdata))
            return
        dac = getattr(time, "outputBufferDacTime", None)
        now = getattr(time, "currentTime", None)
        buffer.fill(outdata, dac, now)
        echo = self._echo
        if echo is not None:
            # On the monotonic clock, which the microphone's times share.
            if dac and now:
                dac_time = _time.monotonic() + (dac - now)
            else:
                dac_time = _time.monotonic() + (self.output_latency_s or 0.0)
            jump, self._echo_jump = self._echo_jump, False
            try:
                echo.far(outdata, dac_time, discontinuity=jump)
            except Exception:  # keep playing, without feeding the canceller
                self._echo = None
                _log.exception("echo cancellation's reference failed and is now off")

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
