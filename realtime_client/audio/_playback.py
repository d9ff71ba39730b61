"""The speaker's jitter buffer and its exact record of what has been played.

:class:`PlaybackBuffer` sits between the thread that receives audio deltas and
the audio device's callback. The callback takes samples out with :meth:`fill`,
so the buffer knows, sample for sample, how much of each item's audio went to
the device. Audio handed to a device is heard a little later (the device's
output latency); when the callback also passes PortAudio's timing (when its
block's first sample reaches the DAC, and the stream's time now), the buffer
knows how much of what it handed over has actually come out, and a barge-in
truncates at that sample rather than at what was merely handed over.

All methods are thread-safe. :meth:`fill` only copies bytes (from memoryviews
of the queued audio and of a preallocated block of silence, so no buffer is
allocated per callback) and appends to a queue, so it is safe inside a
PortAudio callback.
"""

from __future__ import annotations

import collections
import queue
import threading
from typing import final

import attrs

from ..errors import AudioError

__all__ = [
    "PlaybackBuffer",
    "PlaybackEvent",
    "PlaybackFinished",
    "PlaybackPosition",
    "PlaybackStarted",
]

_KEPT_ITEMS = 64  # finished items remembered for position(); older ones are forgotten
_SILENCE_BYTES = 48000 * 2  # 1 s at 48 kHz: the zeros a callback block is padded from


@final
@attrs.frozen(kw_only=True)
class PlaybackPosition:
    """How much of one item's audio was played and received.

    Attributes:
        item_id: The conversation item the audio belongs to.
        content_index: The content part inside the item.
        played_ms: Milliseconds that came out of the device (handed to it, when
            the device reports no timing), rounded down and never more than
            ``received_ms``: the value for ``conversation.item.truncate``.
        received_ms: Milliseconds of audio received for the item so far.

    .. versionadded:: 0.1
    """

    item_id: str
    content_index: int
    played_ms: int
    received_ms: int


@final
@attrs.frozen(kw_only=True)
class PlaybackStarted:
    """The first sample of an item's audio went to the device (it is heard one
    output latency later).

    .. versionadded:: 0.1
    """

    item_id: str
    content_index: int


@final
@attrs.frozen(kw_only=True)
class PlaybackFinished:
    """An item's audio stopped playing: all of it (its last sample came out of the
    device), or cut short by an interruption.

    Attributes:
        position: What was played and received when playback ended.
        interrupted: True when :meth:`~realtime_client.audio.Speaker.interrupt`
            cut it short.

    .. versionadded:: 0.1
    """

    position: PlaybackPosition
    interrupted: bool

    @property
    def item_id(self) -> str:
        """The item whose playback finished."""
        return self.position.item_id


PlaybackEvent = PlaybackStarted | PlaybackFinished


@attrs.define(kw_only=True)
class _Item:
    key: tuple[str, int]
    received_frames: int = 0  # device-rate frames written
    received_wire: int = 0  # wire-rate samples received
    handed_frames: int = 0  # given to the device (less any it dropped unplayed)
    last_index: int = 0  # the global frame index just after its last handed frame
    started: bool = False
    ended: bool = False  # all audio received
    finished: bool = False


@attrs.define
class _Run:
    """Consecutive frames of one item handed to the device, from global frame ``start``."""

    item: _Item
    start: int
    frames: int


@final
class PlaybackBuffer:
    """A bounded FIFO of PCM16 audio tagged with the item it belongs to.

    Args:
        frame_rate: Sample rate of the audio in the buffer (the device's), in Hz.
        wire_rate: Sample rate of the audio as received (the wire format's), in Hz.
        capacity_frames: The most frames the buffer holds; writing more raises.
    """

    def __init__(self, *, frame_rate: int, wire_rate: int, capacity_frames: int) -> None:
        self._rate = frame_rate
        self._wire_rate = wire_rate
        self._capacity = capacity_frames
        self._lock = threading.Lock()
        self._segments: collections.deque[tuple[_Item, memoryview]] = collections.deque()
        self._offset = 0  # bytes of the first segment already played
        self._queued_frames = 0
        self._items: collections.OrderedDict[tuple[str, int], _Item] = collections.OrderedDict()
        self._dropped: collections.deque[tuple[str, int]] = collections.deque(maxlen=_KEPT_ITEMS)
        self._current: _Item | None = None  # started and not yet all handed over
        self._draining: list[_Item] = []  # all handed over, not yet all played
        # Frames are numbered globally in the order they were handed to the device
        # (silence included). ``_handed`` frames were handed over, ``_played`` of
        # them came out; the runs cover the item audio in between.
        self._handed = 0
        self._played = 0
        self._runs: collections.deque[_Run] = collections.deque()
        self._clock: tuple[float, int] | None = None  # (DAC time, global frame) of a block
        self._silence = memoryview(bytes(_SILENCE_BYTES))  # fill() pads from it, never allocates
        self.underruns = 0
        self.events: queue.SimpleQueue[PlaybackEvent] = queue.SimpleQueue()

    @property
    def queued_frames(self) -> int:
        """Frames waiting to be played."""
        return self._queued_frames

    @property
    def timed(self) -> bool:
        """True once :meth:`fill` got the device's timing: played positions are exact."""
        return self._clock is not None

    @property
    def playing(self) -> bool:
        """True while audio is queued, being handed over, or still coming out."""
        with self._lock:
            return self._current is not None or bool(self._segments) or bool(self._draining)

    def write(self, item_id: str, content_index: int, pcm16: bytes, *, wire_samples: int) -> bool:
        """Queue audio for an item.

        Args:
            item_id: The item the audio belongs to.
            content_index: Its content part.
            pcm16: Samples at ``frame_rate``.
            wire_samples: How many samples this was on the wire (for ``received_ms``).

        Returns:
            False when the item was interrupted and the audio was dropped.

        Raises:
            AudioError: The buffer is full.
        """
        key = (item_id, content_index)
        frames = len(pcm16) // 2
        with self._lock:
            if key in self._dropped:
                return False
            if self._queued_frames + frames > self._capacity:
                raise AudioError(
                    f"playback buffer full: {self._capacity / self._rate:.0f} s of audio is "
                    f"already queued; audio for item {item_id} was dropped"
                )
            item = self._item(key)
            item.received_frames += frames
            item.received_wire += wire_samples
            if pcm16:
                self._segments.append((item, memoryview(pcm16).cast("B")))
                self._queued_frames += frames
            return True

    def end(self, item_id: str, content_index: int) -> None:
        """Mark an item's audio as complete: it finishes once its last sample is played."""
        key = (item_id, content_index)
        with self._lock:
            if key in self._dropped:
                return
            item = self._item(key)
            item.ended = True
            if item.started and not item.finished and not self._has_queued(item):
                self._handed_over(item)

    def fill(
        self,
        out: bytearray | memoryview,
        dac_time: float | None = None,
        now: float | None = None,
    ) -> int:
        """Copy the next audio into ``out`` and pad the rest with silence.

        This is the device callback's whole job; it also advances the counters
        and queues :class:`PlaybackStarted`/:class:`PlaybackFinished`.

        Args:
            out: The device's block.
            dac_time: When the block's first sample will reach the DAC, on the
                stream's clock (PortAudio's ``outputBufferDacTime``). With
                ``now``, it tells how much of the audio handed over earlier has
                come out. None or 0 (unknown): all of it counts as played.
            now: The stream's time at this callback (PortAudio's ``currentTime``).

        Returns:
            The number of frames of real audio copied (the rest is silence).
        """
        view = memoryview(out).cast("B")
        want = len(view)
        done = 0
        with self._lock:
            if dac_time and now:
                self._clock = (dac_time, self._handed)
                self._advance(self._played_at(now))
            while done < want and self._segments:
                item, data = self._segments[0]
                if not item.started:
                    item.started = True
                    self._current = item
                    self.events.put(
                        PlaybackStarted(item_id=item.key[0], content_index=item.key[1])
                    )
                take = min(want - done, len(data) - self._offset)
                view[done : done + take] = data[self._offset : self._offset + take]  # no copy
                frames = take // 2
                start = self._handed + done // 2
                last = self._runs[-1] if self._runs else None
                if last is not None and last.item is item and last.start + last.frames == start:
                    last.frames += frames
                else:
                    self._runs.append(_Run(item, start, frames))
                item.handed_frames += frames
                item.last_index = start + frames
                done += take
                self._offset += take
                self._queued_frames -= frames
                if self._offset == len(data):
                    self._segments.popleft()
                    self._offset = 0
                    if item.ended and not self._has_queued(item):
                        self._handed_over(item)
            if done < want:
                self._pad(view, done, want)
                if self._current is not None:
                    self.underruns += 1
            self._handed += want // 2
            if not (dac_time and now):
                self._advance(self._handed)
        return done // 2

    def _advance(self, played: int) -> None:
        """Note that global frames up to ``played`` came out; finish drained items."""
        if played <= self._played:
            return
        self._played = min(played, self._handed)
        runs = self._runs
        while runs and runs[0].start + runs[0].frames <= self._played:
            runs.popleft()
        if self._draining:
            for item in [i for i in self._draining if i.last_index <= self._played]:
                self._draining.remove(item)
                self._finish(item, interrupted=False)

    def _played_at(self, now: float) -> int:
        """The global frame that reaches the DAC at stream time ``now``."""
        assert self._clock is not None
        dac_time, frame = self._clock
        return frame - round((dac_time - now) * self._rate)

    def _handed_over(self, item: _Item) -> None:
        """An ended item's last frame went to the device: it finishes once that is out."""
        if self._current is item:
            self._current = None
        if item.last_index <= self._played:
            self._finish(item, interrupted=False)
        elif item not in self._draining:
            self._draining.append(item)

    def _pad(self, view: memoryview, start: int, end: int) -> None:
        """Zero ``view[start:end]`` from the preallocated silence (no allocation per block)."""
        while start < end:
            take = min(end - start, len(self._silence))
            view[start : start + take] = self._silence[:take]
            start += take

    def interrupt(self, now: float | None = None) -> PlaybackPosition | None:
        """Stop at once: drop everything queued and ignore further audio for those items.

        Args:
            now: The stream's time when the device dropped what it held (after
                PortAudio's ``abort()``), on the clock of :meth:`fill`'s times:
                the audio handed over but not out by then is counted as never
                played. None: the device keeps what it holds and plays it, so
                all of it counts as played.

        Returns:
            Where the first item cut short stopped (the one being heard), or None
            when nothing was playing.
        """
        with self._lock:
            if now is not None and self._clock is not None:
                self._advance(self._played_at(now))
            else:
                self._advance(self._handed)
            # What the device held beyond the played mark is gone: un-count it.
            for run in self._runs:
                unplayed = run.start + run.frames - max(self._played, run.start)
                run.item.handed_frames -= unplayed
            cut = [run.item for run in self._runs]
            self._runs.clear()
            self._played = self._handed
            cut += self._draining
            if self._current is not None:
                cut.append(self._current)
            cut += [item for item, _ in self._segments]
            self._segments.clear()
            self._offset = 0
            self._queued_frames = 0
            self._draining.clear()
            self._current = None
            first: _Item | None = None
            for item in cut:
                if item.key not in self._dropped:
                    self._dropped.append(item.key)
                if first is None:
                    first = item
                if item.started and not item.finished:
                    self._finish(item, interrupted=True)
            return None if first is None else self._position(first)

    def position(self, item_id: str, content_index: int = 0) -> PlaybackPosition | None:
        """Where playback of an item stands, or None for an unknown (or long gone) item."""
        with self._lock:
            item = self._items.get((item_id, content_index))
            return None if item is None else self._position(item)

    def _item(self, key: tuple[str, int]) -> _Item:
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = _Item(key=key)
            while len(self._items) > _KEPT_ITEMS:
                self._items.popitem(last=False)
        return item

    def _has_queued(self, item: _Item) -> bool:
        return item.received_frames > item.handed_frames

    def _position(self, item: _Item) -> PlaybackPosition:
        played = item.handed_frames
        for run in self._runs:  # handed over, not out yet
            if run.item is item:
                played -= run.start + run.frames - max(self._played, run.start)
        received_ms = item.received_wire * 1000 // self._wire_rate
        played_ms = played * 1000 // self._rate
        return PlaybackPosition(
            item_id=item.key[0],
            content_index=item.key[1],
            played_ms=min(played_ms, received_ms),
            received_ms=received_ms,
        )

    def _finish(self, item: _Item, *, interrupted: bool) -> None:
        item.finished = True
        if self._current is item:
            self._current = None
        self.events.put(PlaybackFinished(position=self._position(item), interrupted=interrupted))
