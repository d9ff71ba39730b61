"""The jitter buffer: exact played-sample tracking, interruption, events."""

from __future__ import annotations

import pytest

from realtime_client.audio import PlaybackFinished, PlaybackPosition, PlaybackStarted
from realtime_client.audio._playback import PlaybackBuffer
from realtime_client.errors import AudioError

from ._fakes import ramp


def make(capacity: int = 24000 * 10) -> PlaybackBuffer:
    return PlaybackBuffer(frame_rate=24000, wire_rate=24000, capacity_frames=capacity)


def drain(buf: PlaybackBuffer) -> list[object]:
    out = []
    while not buf.events.empty():
        out.append(buf.events.get_nowait())
    return out


class TestFill:
    def test_copies_in_order_then_pads_silence(self):
        """Audio comes out in order across segments; the rest of the block is zeros."""
        buf = make()
        buf.write("a", 0, ramp(3), wire_samples=3)
        buf.write("a", 0, ramp(2, start=10), wire_samples=2)
        out = bytearray(b"\xff" * 16)
        assert buf.fill(out) == 5
        assert bytes(out) == ramp(3) + ramp(2, start=10) + bytes(6)

    def test_block_smaller_than_segment(self):
        """A segment is split across callbacks without losing or repeating a sample."""
        buf = make()
        buf.write("a", 0, ramp(10), wire_samples=10)
        first, second = bytearray(8), bytearray(12)
        buf.fill(first)
        buf.fill(second)
        assert bytes(first + second) == ramp(10)

    def test_played_counts_exact_samples(self):
        """The played position is exactly the samples handed out, in ms rounded down."""
        buf = make()
        buf.write("a", 0, ramp(2400), wire_samples=2400)  # 100 ms
        buf.fill(bytearray(2 * 1000))  # 41.67 ms
        expected = PlaybackPosition(item_id="a", content_index=0, played_ms=41, received_ms=100)
        assert buf.position("a") == expected

    def test_fill_allocates_no_block_sized_buffer(self):
        """Idle and partly filled blocks are padded from preallocated silence, not bytes(n)."""
        import tracemalloc

        buf = make()
        out = bytearray(b"\xff" * 4800)  # a 100 ms block: bytes(n) would show as >= 4800 B
        buf.fill(out)  # warm up
        buf.write("a", 0, ramp(1000), wire_samples=1000)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            buf.fill(out)  # 1000 samples of audio, then 1400 of silence
            partial = bytes(out)
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            buf.fill(out)  # all silence
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert partial == ramp(1000) + bytes(2800)
        assert bytes(out) == bytes(4800)
        assert peak < 1000

    def test_underrun_counted_only_mid_item(self):
        """Silence between items is not an underrun; running dry mid-item is."""
        buf = make()
        buf.fill(bytearray(100))
        assert buf.underruns == 0
        buf.write("a", 0, ramp(10), wire_samples=10)
        buf.fill(bytearray(40))
        assert buf.underruns == 1

    def test_start_and_finish_events(self):
        """Started at the first sample; finished when an ended item's last sample is out."""
        buf = make()
        buf.write("a", 0, ramp(10), wire_samples=10)
        buf.end("a", 0)
        assert drain(buf) == []
        buf.fill(bytearray(10))
        assert drain(buf) == [PlaybackStarted(item_id="a", content_index=0)]
        assert buf.playing
        buf.fill(bytearray(10))
        (finished,) = drain(buf)
        assert finished.interrupted is False
        assert finished.position.played_ms == finished.position.received_ms
        assert not buf.playing

    def test_end_after_everything_played(self):
        """An item whose audio was all played finishes when end() arrives."""
        buf = make()
        buf.write("a", 0, ramp(10), wire_samples=10)
        buf.fill(bytearray(20))
        drain(buf)
        buf.end("a", 0)
        assert [type(e) for e in drain(buf)] == [PlaybackFinished]

    def test_capacity(self):
        """Writing past the capacity raises AudioError naming the item; nothing is queued."""
        buf = make(capacity=10)
        buf.write("a", 0, ramp(8), wire_samples=8)
        with pytest.raises(AudioError, match="item b"):
            buf.write("b", 0, ramp(8), wire_samples=8)
        assert buf.queued_frames == 8


class TestInterrupt:
    def test_drops_queue_and_reports_played(self):
        """After interrupt the next block is silence and the position is what was played."""
        buf = make()
        buf.write("a", 0, ramp(4800), wire_samples=4800)  # 200 ms
        buf.fill(bytearray(2 * 1200))  # 50 ms
        position = buf.interrupt()
        assert position == PlaybackPosition(
            item_id="a", content_index=0, played_ms=50, received_ms=200
        )
        out = bytearray(b"\x01" * 100)
        assert buf.fill(out) == 0
        assert bytes(out) == bytes(100)
        assert not buf.playing
        events = drain(buf)
        assert isinstance(events[-1], PlaybackFinished)
        assert events[-1].interrupted is True

    def test_late_audio_for_interrupted_item_is_ignored(self):
        """Deltas still arriving for the interrupted item are dropped, not played."""
        buf = make()
        buf.write("a", 0, ramp(100), wire_samples=100)
        buf.fill(bytearray(20))
        buf.interrupt()
        assert buf.write("a", 0, ramp(100), wire_samples=100) is False
        assert buf.write("b", 0, ramp(100), wire_samples=100) is True
        assert buf.queued_frames == 100

    def test_nothing_playing(self):
        """Interrupting an idle buffer returns None."""
        assert make().interrupt() is None

    def test_queued_but_not_started(self):
        """Audio queued but not yet played interrupts at 0 ms."""
        buf = make()
        buf.write("a", 0, ramp(100), wire_samples=100)
        position = buf.interrupt()
        assert position is not None
        assert (position.played_ms, position.received_ms) == (0, 4)

    def test_played_capped_at_received(self):
        """With a resampling device the played ms never exceed the received ms."""
        buf = PlaybackBuffer(frame_rate=48000, wire_rate=24000, capacity_frames=48000)
        buf.write("a", 0, ramp(4810), wire_samples=2400)  # filter tail: slightly more frames
        buf.fill(bytearray(2 * 4810))
        position = buf.position("a")
        assert position is not None
        assert position.played_ms == position.received_ms == 100
