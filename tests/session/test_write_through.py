"""Which thread writes a frame: a send without a timeout, from the app's thread,
while nothing is queued or being written, is written by the calling thread itself
(so a burst waits on the network, not in a queue); everything else is queued for
the writer thread. The guarantees hold either way: order, whole frames, no write
on the reader thread, back-pressure, and a dead peer found within the bound."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable

from realtime_client import ConnectionClosedError, SendQueueFullError, SessionClosedError
from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client._transport import Transport, WebSocketTransport
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeTransport
from tests.session._peers import RawPeer, stop_reading

WAIT = 5.0


class Spy:
    """A transport that records which thread wrote each frame, around another one."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.writes: list[tuple[str, str]] = []  # (thread name, event type), as sent
        self.entered: queue.SimpleQueue[str] = queue.SimpleQueue()  # a send began, by whom

    def send(self, frame: str, stalled: Callable[[], bool] | None = None) -> None:
        name = threading.current_thread().name
        self.entered.put(name)
        self.inner.send(frame, stalled)
        self.writes.append((name, json.loads(frame).get("event_id") or json.loads(frame)["type"]))

    def recv(self) -> str | bytes:
        return self.inner.recv()

    def ping(self, stalled: Callable[[], bool] | None = None) -> None:
        self.inner.ping(stalled)

    def last_received(self) -> float:
        return self.inner.last_received()

    def frame_ready(self) -> bool:
        return self.inner.frame_ready()

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        self.inner.send_close(code, reason)

    def abort(self) -> None:
        self.inner.abort()

    def shutdown(self) -> None:
        self.inner.shutdown()


def _cancel(tag: str) -> ev.ResponseCancelEvent:
    return ev.ResponseCancelEvent(event_id=tag)


def _in_thread(name: str, fn: Callable[[], object]) -> tuple[threading.Thread, queue.SimpleQueue]:
    """Run ``fn`` on a thread named ``name``; its outcome (None or the exception) lands in a queue."""
    outcome: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            outcome.put(exc)
        else:
            outcome.put(None)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, outcome


class TestWhoWrites:
    def test_an_idle_session_writes_on_the_calling_thread(self):
        """With nothing queued, send() puts the frame on the wire itself before it
        returns: no hand-off to the writer thread."""
        spy = Spy(FakeTransport())
        with ConversationSession(transport=spy) as session:
            session.send(_cancel("a"))
            assert [(threading.current_thread().name, "a")] == spy.writes

    def test_a_send_with_a_timeout_is_queued_for_the_writer(self):
        """A call with a timeout (an audio callback's timeout=0) never waits on the
        network: the writer thread sends it."""
        spy = Spy(FakeTransport())
        fake = spy.inner
        assert isinstance(fake, FakeTransport)
        with ConversationSession(transport=spy) as session:
            session.send(_cancel("a"), timeout=0)
            fake.wait_for_sent(1)
            ((writer, tag),) = spy.writes
            assert writer.startswith("realtime-writer-")
            assert "a" == tag

    def test_write_through_preserves_order_with_queued_frames(self):
        """While one caller writes its frame, later sends queue behind it, and the
        writer sends them after it, in order; once all is out, a send writes through
        again."""
        spy = Spy(FakeTransport())
        fake = spy.inner
        assert isinstance(fake, FakeTransport)
        fake.pause_sends()
        with ConversationSession(transport=spy, close_timeout=1.0) as session:
            first, outcome = _in_thread("test-first", lambda: session.send(_cancel("1")))
            assert "test-first" == spy.entered.get(timeout=WAIT)  # writing, held by the network
            session.send(_cancel("2"))  # the wire is taken: queued, returns at once
            session.send(_cancel("3"), timeout=0)
            session.send_audio(bytes(10), timeout=0)
            assert [] == spy.writes
            fake.resume_sends()
            first.join(WAIT)
            assert outcome.get(timeout=WAIT) is None
            sent = fake.wait_for_sent(4)
            assert ["1", "2", "3"] == [f.get("event_id") for f in sent[:3]]
            assert "input_audio_buffer.append" == sent[3]["type"]
            assert "test-first" == spy.writes[0][0]
            assert all(name.startswith("realtime-writer-") for name, _ in spy.writes[1:])

    def test_a_send_from_a_callback_never_writes_on_the_reader(self):
        """A callback's send is queued: the reader thread never writes (a reader
        blocked writing to a peer that is blocked writing to us would deadlock)."""
        spy = Spy(FakeTransport())
        fake = spy.inner
        assert isinstance(fake, FakeTransport)
        with ConversationSession(transport=spy) as session:
            session.on(
                ev.InputAudioBufferClearedEvent,
                lambda event: session.send(_cancel("from-callback")),
            )
            fake.push(ev.InputAudioBufferClearedEvent(event_id="e1"))
            fake.wait_for_type("response.cancel")
            ((writer, tag),) = spy.writes
            assert "from-callback" == tag
            assert writer.startswith("realtime-writer-"), writer


class TestBackPressure:
    def test_a_full_queue_behind_a_direct_write_raises_having_queued_nothing(self):
        """While a caller's own write is held by the network, other sends fill the
        queue up to its byte limit; the next one with a timeout raises
        SendQueueFullError having queued nothing, and the rest go out in order."""
        spy = Spy(FakeTransport())
        fake = spy.inner
        assert isinstance(fake, FakeTransport)
        fake.pause_sends()
        options = ConversationOptions(send_queue_bytes=2000)
        with ConversationSession(transport=spy, options=options, close_timeout=1.0) as session:
            first, outcome = _in_thread("test-first", lambda: session.send(_cancel("0")))
            assert "test-first" == spy.entered.get(timeout=WAIT)
            queued, refusal = 0, None
            for n in range(1, 100):  # bounded: about 45 bytes each fill 2000
                try:
                    session.send(_cancel(str(n)), timeout=0.01)
                except SendQueueFullError as exc:
                    refusal = exc
                    break
                queued = n
            assert refusal is not None
            assert "nothing was queued" in str(refusal)
            assert 10 < queued < 99
            fake.resume_sends()
            first.join(WAIT)
            assert outcome.get(timeout=WAIT) is None
            sent = fake.wait_for_sent(queued + 1)
            assert [str(n) for n in range(queued + 1)] == [f["event_id"] for f in sent]
            session.send(_cancel("last"))
            assert "last" == fake.wait_for_sent(queued + 2)[-1]["event_id"]

    def test_close_wakes_a_caller_whose_own_write_is_stuck(self):
        """A caller writing its own frame into a network that takes nothing is cut
        off by close() within its bound, with SessionClosedError."""
        spy = Spy(FakeTransport())
        fake = spy.inner
        assert isinstance(fake, FakeTransport)
        fake.pause_sends()
        session = ConversationSession(transport=spy, close_timeout=0.2).open()
        sender, outcome = _in_thread("test-stuck", lambda: session.send(_cancel("x")))
        assert "test-stuck" == spy.entered.get(timeout=WAIT)
        started = time.monotonic()
        session.close()
        assert time.monotonic() - started < 0.2 + 2.0
        sender.join(WAIT)
        assert not sender.is_alive()
        assert isinstance(outcome.get(timeout=WAIT), SessionClosedError)
        assert fake.aborted


class TestHalfOpenPeer:
    PING = 0.3
    PONG = 0.3

    def test_a_caller_writing_directly_gets_connection_closed_within_the_bound(self):
        """A peer that stops reading while the app streams with timeout=None: the
        streaming thread is the one writing (no hand-off), its write gives up once the
        peer has been silent for ping_interval + pong_timeout, and it gets
        ConnectionClosedError, as does the session."""
        bound = self.PING + self.PONG
        with RawPeer(lambda c: None, rcvbuf=4096) as peer:
            peer._handler = stop_reading(peer)
            transport = WebSocketTransport.connect(
                f"{peer.base_url}/realtime", headers={}, timeout=WAIT
            )
            spy = Spy(transport)
            session = ConversationSession(
                transport=spy, ping_interval=self.PING, pong_timeout=self.PONG, close_timeout=0.5
            ).open()
            started = time.monotonic()

            def stream() -> None:
                for _ in range(2000):  # bounded: far more than every buffer holds
                    session.send_audio(bytes(256 * 1024))

            sender, outcome = _in_thread("test-streamer", stream)
            assert session.wait_closed(bound + 1.5 + WAIT)
            elapsed = time.monotonic() - started
            sender.join(WAIT)
            assert not sender.is_alive()
            assert elapsed < bound + 1.5, elapsed
            error = outcome.get(timeout=WAIT)
            assert isinstance(error, ConnectionClosedError)
            assert "connection is dead" in str(error)
            assert isinstance(session.close_info.error, ConnectionClosedError)  # type: ignore[union-attr]
            writers = set()
            while not spy.entered.empty():
                writers.add(spy.entered.get_nowait())
            assert "test-streamer" in writers
            assert not any(name.startswith("realtime-reader-") for name in writers)


class TestReconnectingSessions:
    def test_a_connection_without_write_through_queues_every_send(self):
        """Reconnecting sessions build their connections with write_through=False: a
        send that failed mid-write would be retried on the next connection (where the
        replay may carry it too), so every frame goes through the writer instead."""
        from realtime_client._connection import Connection

        spy = Spy(FakeTransport())
        fake = spy.inner
        assert isinstance(fake, FakeTransport)
        conn = Connection(
            spy,
            handle_frame=lambda frame: None,
            flush=lambda: None,
            on_end=lambda c: None,
            ping_interval=30.0,
            pong_timeout=None,
            deadlines=None,
            max_frames=100,
            max_bytes=1 << 20,
            write_through=False,
        )
        conn.start()
        try:
            conn.send([json.dumps({"type": "response.cancel", "event_id": "q"})])
            fake.wait_for_sent(1)
            ((writer, tag),) = spy.writes
            assert "q" == tag
            assert writer.startswith("realtime-writer-")
        finally:
            conn.shut(time.monotonic() + 1.0, started=True)
