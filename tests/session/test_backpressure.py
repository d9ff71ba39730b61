"""Back-pressure in bytes as well as frames: a full send queue blocks up to the
call's timeout, then raises SendQueueFullError having queued nothing."""

from __future__ import annotations

import threading

import pytest

from realtime_client import SendQueueFullError, SessionClosedError
from realtime_client._config import ConversationOptions
from realtime_client._workers import Liveness, Outbox, run_writer
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeTransport

WAIT = 5.0
MIB = 1024 * 1024


class TestOutboxBytes:
    def test_a_batch_that_does_not_fit_in_bytes_waits_and_queues_nothing(self):
        """Room in frames is not enough: the bytes must fit too."""
        box = Outbox(100, max_bytes=10)
        box.put(["12345678"])
        with pytest.raises(SendQueueFullError, match="nothing was queued"):
            box.put(["abc"], timeout=0)
        assert 1 == len(box)
        assert 8 == box.queued_bytes

    def test_a_batch_larger_than_the_limit_goes_alone_into_an_empty_queue(self):
        """One call larger than the whole limit is not refused forever."""
        box = Outbox(100, max_bytes=10)
        box.put(["x" * 50])
        assert 50 == box.queued_bytes
        assert ["x" * 50] == box.get(0)
        assert 0 == box.queued_bytes

    def test_a_blocked_put_goes_through_once_the_writer_takes_frames(self):
        """timeout=None waits for room, then queues the whole batch."""
        box = Outbox(100, max_bytes=10)
        box.put(["12345678"])
        done = threading.Event()

        def put() -> None:
            box.put(["abcdef"])
            done.set()

        thread = threading.Thread(target=put)
        thread.start()
        assert ["12345678"] == box.get(0)
        box.release()  # the writer sent the batch
        assert done.wait(WAIT)
        thread.join(WAIT)
        assert ["abcdef"] == box.get(0)

    def test_stop_wakes_a_blocked_put(self):
        """Closing wakes a put waiting for room with SessionClosedError."""
        box = Outbox(1, max_bytes=10)
        box.put(["1"])
        errors: list[BaseException] = []
        thread = threading.Thread(target=lambda: _catch(errors, box.put, ["2"]))
        thread.start()
        box.stop(drop=True)
        thread.join(WAIT)
        assert [SessionClosedError] == [type(e) for e in errors]


class TestWriterNeverWaitsForItself:
    def test_a_deadline_handler_sending_into_a_full_queue_does_not_block_the_writer(self):
        """A tool that times out while the queue is full: the writer's own deadline
        handler sends its error output. That put must not wait for room only the
        writer can make (it would never send, nor ping, again)."""
        fake = FakeTransport()
        box = Outbox(1)
        armed = threading.Event()
        handled = threading.Event()

        def deadlines(_now: float) -> float | None:
            if armed.is_set() and not handled.is_set() and len(box) >= 1:
                box.put(['{"type":"c"}'])  # the queue is full: would wait without the fix
                handled.set()
            return None

        liveness = Liveness(fake.last_received, ping_interval=30.0, pong_timeout=None)
        writer = threading.Thread(
            target=run_writer,
            args=(box, fake),
            kwargs={"liveness": liveness, "on_failure": lambda exc: None, "deadlines": deadlines},
            name="test-writer",
        )
        fake.pause_sends()
        writer.start()
        try:
            box.put(['{"type":"a"}'])
            box.put(['{"type":"b"}'], timeout=WAIT)  # queued once the writer took "a"
            armed.set()  # the writer is stuck sending "a" with "b" filling the queue
            fake.resume_sends()
            assert handled.wait(WAIT)
            assert ["a", "b", "c"] == [f["type"] for f in fake.wait_for_sent(3)]
        finally:
            fake.resume_sends()
            box.stop()
            writer.join(WAIT)
        assert not writer.is_alive()


def _catch(into: list[BaseException], fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:
        into.append(exc)


def _fill(
    session: ConversationSession, chunk: bytes, timeout: float
) -> tuple[int, BaseException | None]:
    """send_audio until it refuses (bounded); how many calls were accepted, and the refusal."""
    for accepted in range(100):
        try:
            session.send_audio(chunk, timeout=timeout)
        except SendQueueFullError as exc:
            return accepted, exc
    return 100, None


class TestSessionBytes:
    def test_large_audio_is_held_back_by_bytes(self):
        """1 MiB audio calls against a stalled network: after about send_queue_bytes
        (default 4 MiB) of frames, send_audio(timeout=0) raises, queuing nothing,
        instead of accepting a thousand calls."""
        fake = FakeTransport()
        fake.pause_sends()
        session = ConversationSession(transport=fake, close_timeout=0.2).open()
        try:
            accepted, refused = _fill(session, bytes(MIB), timeout=0)
            assert isinstance(refused, SendQueueFullError)
            # The queue holds at most 4 MiB of base64 (2 frames); the writer's hands
            # hold what it took in one go (at most as much again).
            assert 2 <= accepted <= 5
        finally:
            fake.resume_sends()
            session.close()

    def test_configurable_limit(self):
        """send_queue_bytes sets the limit: small frames pass, the one over it waits."""
        fake = FakeTransport()
        fake.pause_sends()
        options = ConversationOptions(send_queue_bytes=2000)
        session = ConversationSession(transport=fake, options=options, close_timeout=0.2)
        session.open()
        try:
            accepted, refused = _fill(session, bytes(600), timeout=0.05)  # 800 base64 chars
            assert isinstance(refused, SendQueueFullError)
            assert "send queue stayed full for 0.05 s" in str(refused)
            assert 2 <= accepted <= 5  # 2 queued, plus the writer's batch
        finally:
            fake.resume_sends()
            session.close()
