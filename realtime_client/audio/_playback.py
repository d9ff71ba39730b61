"""The speaker's jitter buffer and its exact record of what has been played.

:class:`PlaybackBuffer` sits between the thread that receives audio deltas and
the audio device's callback. The callback takes samples out with :meth:`fill`
and is the only place that advances the played counters, so the buffer knows,
sample for sample, how much of each item's audio went to the device. That is
the position a barge-in truncates at.

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
        played_ms: Milliseconds handed to the device, rounded down and never
            more than ``received_ms``: the value for ``conversation.item.truncate``.
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
    """The first sample of an item's audio went to the device.

    .. versionadded:: 0.1
    """

    item_id: str
    content_index: int


@final
@attrs.frozen(kw_only=True)
class PlaybackFinished:
    """An item's audio stopped playing: all of it, or cut short by an interruption.

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
    played_frames: int = 0
    started: bool = False
    ended: bool = False  # all audio received
    finished: bool = False


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
        self._current: _Item | None = None  # started and not finished
        self._silence = memoryview(bytes(_SILENCE_BYTES))  # fill() pads from it, never allocates
        self.underruns = 0
        self.events: queue.SimpleQueue[PlaybackEvent] = queue.SimpleQueue()

    @property
    def queued_frames(self) -> int:
        """Frames waiting to be played."""
        return self._queued_frames

    @property
    def playing(self) -> bool:
        """True while an item is being played or audio is queued."""
        with self._lock:
            return self._current is not None or bool(self._segments)

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
                self._finish(item, interrupted=False)

    def fill(self, out: bytearray | memoryview) -> int:
        """Copy the next audio into ``out`` and pad the rest with silence.

        This is the device callback's whole job; it also advances the played
        counters and queues :class:`PlaybackStarted`/:class:`PlaybackFinished`.

        Returns:
            The number of frames of real audio copied (the rest is silence).
        """
        view = memoryview(out).cast("B")
        want = len(view)
        done = 0
        with self._lock:
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
                done += take
                self._offset += take
                item.played_frames += take // 2
                self._queued_frames -= take // 2
                if self._offset == len(data):
                    self._segments.popleft()
                    self._offset = 0
                    if item.ended and not self._has_queued(item):
                        self._finish(item, interrupted=False)
            if done < want:
                self._pad(view, done, want)
                if self._current is not None:
                    self.underruns += 1
        return done // 2

    def _pad(self, view: memoryview, start: int, end: int) -> None:
        """Zero ``view[start:end]`` from the preallocated silence (no allocation per block)."""
        while start < end:
            take = min(end - start, len(self._silence))
            view[start : start + take] = self._silence[:take]
            start += take

    def interrupt(self) -> PlaybackPosition | None:
        """Stop at once: drop everything queued and ignore further audio for those items.

        Returns:
            Where the item being played stopped, or None when nothing was playing.
        """
        with self._lock:
            current = self._current
            if current is None and self._segments:
                current = self._segments[0][0]
            for item, _ in self._segments:
                if item.key not in self._dropped:
                    self._dropped.append(item.key)
            self._segments.clear()
            self._offset = 0
            self._queued_frames = 0
            if current is None:
                return None
            if current.key not in self._dropped:
                self._dropped.append(current.key)
            position = self._position(current)
            if current.started and not current.finished:
                self._finish(current, interrupted=True)
            return position

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

    @staticmethod
    def _has_queued(item: _Item) -> bool:
        return item.received_frames > item.played_frames

    def _position(self, item: _Item) -> PlaybackPosition:
        received_ms = item.received_wire * 1000 // self._wire_rate
        played_ms = item.played_frames * 1000 // self._rate
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
