"""ConversationSession over FakeTransport: sends, receiving, callbacks, close."""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator

import pytest

from realtime_client import (
    ConnectionClosedError,
    ProtocolError,
    SendQueueFullError,
    ServerError,
    SessionClosedError,
    SessionExpiredError,
    TransportError,
    UsageError,
    WaitTimeoutError,
)
from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.messages import MessageKind
from realtime_client.session import CloseInfo, ConversationSession, SessionState
from realtime_client.testing import FakeTransport

WAIT = 5.0


def text_delta(n: int, delta: str = "x") -> ev.ResponseOutputTextDeltaEvent:
    return ev.ResponseOutputTextDeltaEvent(
        event_id=f"e{n}",
        response_id="r1",
        item_id="i1",
        output_index=0,
        content_index=0,
        delta=delta,
    )


def done(rid: str = "r1") -> ev.ResponseDoneEvent:
    return ev.ResponseDoneEvent(event_id="ed", response=ev.Response(id=rid, status="completed"))


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def session(fake: FakeTransport) -> Iterator[ConversationSession]:
    s = ConversationSession(transport=fake, close_timeout=2.0)
    with s:
        yield s


class TestSending:
    def test_send_text_queues_message_then_response(self, session, fake):
        """send_text sends a user message item followed by response.create."""
        session.send_text("Hello")
        frames = fake.wait_for_sent(2)
        assert ["conversation.item.create", "response.create"] == [f["type"] for f in frames]
        assert {"type": "input_text", "text": "Hello"} == frames[0]["item"]["content"][0]
        assert "user" == frames[0]["item"]["role"]

    def test_send_text_without_response(self, session, fake):
        """respond=False sends only the item."""
        session.send_text("Hi", respond=False)
        session.commit_audio()
        assert ["conversation.item.create", "input_audio_buffer.commit"] == [
            f["type"] for f in fake.wait_for_sent(2)
        ]

    def test_send_audio_is_base64_and_chunked(self, session, fake, monkeypatch):
        """Audio is base64 on the wire and split into chunks of at most MAX_APPEND_BYTES."""
        import base64

        from realtime_client import _frames

        monkeypatch.setattr(_frames, "MAX_APPEND_BYTES", 1000)
        pcm = bytes(range(256)) * 10  # 2560 bytes -> 3 chunks
        session.send_audio(bytearray(pcm))
        frames = fake.wait_for_sent(3)
        assert {"input_audio_buffer.append"} == {f["type"] for f in frames}
        assert pcm == b"".join(base64.b64decode(f["audio"]) for f in frames)
        assert [1000, 1000, 560] == [len(base64.b64decode(f["audio"])) for f in frames]

    def test_send_audio_with_timeout_zero_never_waits_for_a_full_queue(self, fake):
        """An audio callback passes timeout=0: a full send queue raises at once and
        queues nothing, and the session goes on (the next append, with room, is sent)."""
        fake.pause_sends()
        s = ConversationSession(
            transport=fake, options=ConversationOptions(send_queue_size=2), close_timeout=0.5
        ).open()
        try:
            queued: list[int] = []
            refused: SendQueueFullError | None = None
            for n in range(1, 7):  # the queue holds two, the writer what it took: bounded
                try:
                    s.send_audio(bytes([n, 0]) * 10, timeout=0)
                except SendQueueFullError as exc:
                    refused = exc
                    break
                queued.append(n)
            assert refused is not None
            assert "send queue stayed full" in str(refused)
            # 2 if the writer had taken nothing yet; up to 4 if it took a whole batch of
            # two (it takes what is queued at once) before the queue filled again.
            assert 2 <= len(queued) <= 4, queued
            fake.resume_sends()
            sent = fake.wait_for_sent(len(queued))
            assert [base64.b64decode(f["audio"])[0] for f in sent] == queued
            s.send_audio(b"\x09\x00" * 10, timeout=0)
            assert base64.b64decode(fake.wait_for_sent(len(queued) + 1)[-1]["audio"])[0] == 9
        finally:
            s.close()

    def test_fast_audio_frame_matches_the_encoder(self, session, fake):
        """The hand-built append frame decodes to the same event as the codec's."""
        session.send_audio(b"\x01\x02\x03\x04")
        (frame,) = fake.wait_for_sent(1)
        wire = fake.sent_frames[0]
        assert ev.InputAudioBufferAppendEvent(audio=b"\x01\x02\x03\x04") == ev.decode_client_event(
            wire
        )
        assert "AQIDBA==" == frame["audio"]

    def test_empty_audio_sends_nothing(self, session, fake):
        """Appending no audio sends no frame."""
        session.send_audio(b"")
        session.clear_audio()
        assert ["input_audio_buffer.clear"] == [f["type"] for f in fake.wait_for_sent(1)]

    def test_bad_arguments_raise_on_the_callers_thread(self, session, fake):
        """Wrong types raise where they were passed, and nothing is sent."""
        with pytest.raises(TypeError, match="text must be a str"):
            session.send_text(42)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="audio must be bytes-like"):
            session.send_audio("pcm")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"conversation\.item\.delete"):
            session.delete_item(7)  # type: ignore[arg-type]  # the caller's error, not the server's
        with pytest.raises(TypeError, match="expected a client event"):
            session.send("not an event")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="must not be negative"):
            session.truncate_item("i1", 0, -5)
        with pytest.raises(TypeError, match="not JSON-serializable"):
            session.submit_tool_response("c1", object())
        session.cancel_response()
        assert ["response.cancel"] == [f["type"] for f in fake.wait_for_sent(1)]

    def test_every_send_helper(self, session, fake):
        """Each helper sends its event with the given fields; a second response
        request waits until the first response has ended."""
        session.update_session(ConversationOptions(instructions="Be brief"))
        handle = session.create_response(
            ev.ResponseOptions(conversation="none", metadata={"k": "v"})
        )
        session.cancel_response("r9")
        session.submit_tool_response("c1", {"ok": True})
        session.create_item(
            ev.SystemMessageItem(content=[ev.InputTextContent(text="s")]), previous_item_id="i0"
        )
        session.retrieve_item("i1")
        session.delete_item("i2")
        session.truncate_item("i3", 0, 1500)
        frames = fake.wait_for_sent(8)
        assert [
            "session.update",
            "response.create",
            "response.cancel",
            "conversation.item.create",
            "conversation.item.create",
            "conversation.item.retrieve",
            "conversation.item.delete",
            "conversation.item.truncate",
        ] == [f["type"] for f in frames]
        assert "Be brief" == frames[0]["session"]["instructions"]
        tag = {"k": "v", "realtime_client.request": handle.tag}
        assert {"conversation": "none", "metadata": tag} == frames[1]["response"]
        assert handle.tag == frames[1]["event_id"]
        assert "r9" == frames[2]["response_id"]
        assert {"type": "function_call_output", "call_id": "c1", "output": '{"ok": true}'} == (
            frames[3]["item"]
        )
        assert "i0" == frames[4]["previous_item_id"]
        assert {"item_id": "i3", "content_index": 0, "audio_end_ms": 1500} == {
            k: frames[7][k] for k in ("item_id", "content_index", "audio_end_ms")
        }
        response = ev.Response(id="r1", status="completed", metadata=tag)
        fake.push(ev.ResponseCreatedEvent(event_id="e1", response=response))
        fake.push(ev.ResponseDoneEvent(event_id="e2", response=response))
        assert "response.create" == fake.wait_for_sent(9)[8]["type"]
        assert "r1" == handle.result(WAIT).response_id

    def test_clear_output_audio_needs_a_call(self, session, fake):
        """output_audio_buffer.clear is refused outside a call, sent inside one."""
        with pytest.raises(UsageError, match="WebRTC/SIP"):
            session.clear_output_audio()
        call_fake = FakeTransport()
        with ConversationSession(transport=call_fake, call_id="rtc_1") as call:
            call.clear_output_audio()
            assert "output_audio_buffer.clear" == call_fake.wait_for_sent(1)[0]["type"]

    def test_send_after_close_is_a_usage_error(self, fake):
        """Sending on a closed session raises SessionClosedError (a UsageError)."""
        s = ConversationSession(transport=fake).open()
        s.close()
        with pytest.raises(SessionClosedError):
            s.send_text("late")
        assert isinstance(SessionClosedError("x"), UsageError)

    def test_concurrent_senders_keep_frames_whole_and_ordered(self, fake):
        """Many threads sending at once: every frame arrives whole, each
        thread's frames in its order, and send_text pairs stay adjacent."""
        threads_n, per_thread = 8, 150
        # "error": response requests go out at once, not one response at a time.
        options = ConversationOptions(send_queue_size=16, response_conflict="error")
        s = ConversationSession(transport=fake, options=options)
        with s:
            start = threading.Barrier(threads_n)

            def sender(t: int) -> None:
                start.wait(WAIT)
                for i in range(per_thread):
                    if i % 10 == 0:
                        s.send_text(f"{t}:{i}")
                    else:
                        s.retrieve_item(f"{t}:{i}")

            workers = [threading.Thread(target=sender, args=(t,)) for t in range(threads_n)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(WAIT * 4)
            total = threads_n * per_thread + threads_n * per_thread // 10
            frames = fake.wait_for_sent(total, timeout=WAIT * 2)
        assert total == len(frames)
        seen: dict[int, list[int]] = {t: [] for t in range(threads_n)}
        for n, frame in enumerate(frames):
            if frame["type"] == "response.create":
                assert "conversation.item.create" == frames[n - 1]["type"]
                continue
            key = (
                frame["item_id"]
                if frame["type"] == "conversation.item.retrieve"
                else frame["item"]["content"][0]["text"]
            )
            t, i = map(int, key.split(":"))
            seen[t].append(i)
        assert {t: list(range(per_thread)) for t in range(threads_n)} == seen


class TestReceiving:
    def test_events_in_order_then_end_on_close(self, session, fake):
        """events() yields every event in arrival order and ends when the session closes."""
        for n in range(50):
            fake.push(text_delta(n, str(n)))
        fake.close_from_server(1000)
        got = [e.delta for e in session.events(timeout=WAIT)]  # type: ignore[union-attr]
        assert [str(n) for n in range(50)] == got
        assert CloseInfo(code=1000, reason="", error=None) == session.close_info

    def test_a_burst_is_handed_over_whole_and_in_order(self, fake):
        """Frames already waiting are handed to the iterator together (one wake-up per
        read); a burst far larger than one hand-off, with bad frames inside, still
        arrives whole and in order, and an iterator started late sees all of it."""
        for n in range(200):
            fake.push(text_delta(n, str(n)))
            if n % 50 == 7:
                fake.push("{not json")  # skipped and reported, never reorders the rest
        errors: list[BaseException] = []
        s = ConversationSession(transport=fake, close_timeout=2.0)
        s.on_error(errors.append)
        with s:
            got = []
            for event in s.events(timeout=WAIT):
                got.append(event.delta)  # type: ignore[union-attr]
                if len(got) == 200:
                    break
        assert [str(n) for n in range(200)] == got
        assert len(errors) == 4

    def test_a_slow_callback_does_not_hold_back_events_received_before_it(self, fake):
        """Events read together are handed over together, but never wait behind a
        later event's callback: the iterator gets them while that callback runs."""
        release = threading.Event()
        fake.push(text_delta(1, "a"))
        fake.push(text_delta(2, "b"))
        fake.push(done())
        s = ConversationSession(transport=fake, close_timeout=2.0)
        s.on(ev.ResponseDoneEvent, lambda event: release.wait(WAIT))
        with s:
            try:
                events = s.events(timeout=WAIT)
                assert ["a", "b"] == [next(events).delta for _ in range(2)]  # type: ignore[union-attr]
            finally:
                release.set()
            assert isinstance(next(events), ev.ResponseDoneEvent)

    def test_receive_messages_maps_events(self, session, fake):
        """receive_messages yields ConversationMessage views up to turn_finished."""
        fake.push(text_delta(1, "Hel"))
        fake.push(text_delta(2, "lo"))
        fake.push(done())
        text = []
        for message in session.receive_messages(timeout=WAIT):
            text.append(message.text or "")
            if message.turn_finished:
                assert MessageKind.TURN_FINISHED == message.kind
                break
        assert "Hello" == "".join(text)

    def test_iterator_timeout(self, session):
        """events(timeout=...) raises WaitTimeoutError (also a TimeoutError), not a
        transport error: the connection is fine."""
        with pytest.raises(WaitTimeoutError, match=r"0\.05"):
            next(session.events(timeout=0.05))
        assert issubclass(WaitTimeoutError, TimeoutError)
        assert not issubclass(WaitTimeoutError, TransportError)

    def test_unknown_event_passes_through(self, session, fake):
        """An event type this version does not know arrives as UnknownServerEvent."""
        fake.push({"type": "response.future_thing", "event_id": "e1", "x": 1})
        event = next(session.events(timeout=WAIT))
        assert isinstance(event, ev.UnknownServerEvent)
        assert ("response.future_thing", 1) == (event.type, event.raw["x"])

    def test_bad_frame_is_reported_and_skipped(self, fake):
        """A frame that is not a valid event goes to on_error; the reader goes on."""
        errors: queue.SimpleQueue[BaseException] = queue.SimpleQueue()
        with ConversationSession(transport=fake, on_error=errors.put) as s:
            fake.push("{not json")
            fake.push({"type": "response.done", "event_id": "e", "response": "oops"})
            fake.push(done())
            assert isinstance(next(s.events(timeout=WAIT)), ev.ResponseDoneEvent)
        first, second = errors.get(timeout=WAIT), errors.get(timeout=WAIT)
        assert isinstance(first, ProtocolError)
        assert "not valid JSON" in str(first)
        assert isinstance(second, ProtocolError)
        assert "response.done" in str(second)

    def test_server_error_event_is_data_and_reported(self, fake):
        """An error event is iterated as data and also given to on_error as ServerError."""
        errors: queue.SimpleQueue[BaseException] = queue.SimpleQueue()
        with ConversationSession(transport=fake, on_error=errors.put) as s:
            fake.push(
                ev.ErrorEvent(
                    event_id="e1",
                    error=ev.ErrorDetails(type="invalid_request_error", message="bad", code="x1"),
                )
            )
            message = next(s.receive_messages(timeout=WAIT))
            assert MessageKind.ERROR == message.kind
            reported = errors.get(timeout=WAIT)
        assert isinstance(reported, ServerError)
        assert "x1" == reported.code

    def test_slow_consumer_loses_nothing_and_does_not_delay_callbacks(self, session, fake):
        """Callbacks see every event at once even while the iterator lags; the
        iterator later gets all of them, in order."""
        count = 2000
        seen = threading.Event()
        calls: list[int] = []

        def on_delta(event: ev.ResponseOutputTextDeltaEvent) -> None:
            calls.append(int(event.delta))
            if len(calls) == count:
                seen.set()

        session.on(ev.ResponseOutputTextDeltaEvent, on_delta)
        for n in range(count):
            fake.push(text_delta(n, str(n)))
        assert seen.wait(WAIT)  # the consumer has read nothing yet
        got = []
        for event in session.events(timeout=WAIT):
            got.append(int(event.delta))  # type: ignore[union-attr]
            if len(got) == count:
                break
        assert list(range(count)) == got == calls

    def test_buffer_events_false(self, fake):
        """Without buffering, iteration is refused and callbacks still run."""
        got = threading.Event()
        with ConversationSession(
            transport=fake, options=ConversationOptions(buffer_events=False)
        ) as s:
            s.on("response.done", lambda e: got.set())
            fake.push(done())
            assert got.wait(WAIT)
            with pytest.raises(UsageError, match="buffer_events=False"):
                s.events()
            assert 0 == s._core.pump._events.qsize()

    def test_session_id_from_session_created(self, session, fake):
        """session_id comes from session.created."""
        fake.push(
            ev.SessionCreatedEvent(
                event_id="e0", session=ev.RealtimeSessionConfig(id="sess_1", model="m")
            )
        )
        next(session.events(timeout=WAIT))
        assert "sess_1" == session.session_id

    def test_two_iterators_both_end(self, session, fake):
        """Every iterator ends when the session closes, not only the first."""
        ends = []

        def consume() -> None:
            for _ in session.events(timeout=WAIT):
                pass
            ends.append(True)

        workers = [threading.Thread(target=consume) for _ in range(2)]
        for w in workers:
            w.start()
        session.close()
        for w in workers:
            w.join(WAIT)
        assert [True, True] == ends


class TestCallbacks:
    def test_order_decorator_string_key_and_on_any(self, session, fake):
        """Typed callbacks run in registration order, then catch-all ones; the
        decorator form returns the function."""
        calls: list[str] = []
        finished = threading.Event()

        @session.on(ev.ResponseDoneEvent)
        def first(event: ev.ResponseDoneEvent) -> None:
            calls.append("first")

        session.on("response.done", lambda e: calls.append("second"))
        session.on_any(lambda e: (calls.append(f"any:{e.type}"), finished.set()))
        assert callable(first)
        fake.push(done())
        assert finished.wait(WAIT)
        assert ["first", "second", "any:response.done"] == calls

    def test_failing_callback_is_reported_not_fatal(self, fake, caplog):
        """A raising callback is logged and given to on_error; later callbacks and
        events still arrive; a failing on_error is only logged."""
        errors: list[BaseException] = []
        after = threading.Event()

        def bad_error_handler(exc: BaseException) -> None:
            errors.append(exc)
            raise RuntimeError("handler broke too")

        with ConversationSession(transport=fake, on_error=bad_error_handler) as s:
            s.on("response.done", lambda e: 1 / 0)
            s.on("response.done", lambda e: after.set())
            with caplog.at_level(logging.ERROR, logger="realtime_client"):
                fake.push(done())
                assert after.wait(WAIT)
                assert isinstance(next(s.events(timeout=WAIT)), ev.ResponseDoneEvent)
        assert [ZeroDivisionError] == [type(e) for e in errors]
        assert any("handler broke too" in r.getMessage() or r.exc_info for r in caplog.records)

    def test_bad_registration(self, session):
        """Registering something that is not an event class or type fails clearly."""
        with pytest.raises(TypeError, match="server event class"):
            session.on(int, print)
        with pytest.raises(TypeError, match="server event class"):
            session.on(int)  # the decorator form checks the key at once, not when applied
        with pytest.raises(ValueError, match="must not be empty"):
            session.on("")
        with pytest.raises(TypeError, match="callable"):
            session.on("error", "nope")  # type: ignore[arg-type]

    def test_remove_callback(self, session, fake):
        """A removed callback is not called again."""
        calls: list[str] = []
        marker = threading.Event()
        fn = session.on("response.done", lambda e: calls.append("x"))
        assert session.remove_callback(fn)
        session.on("response.done", lambda e: marker.set())
        fake.push(done())
        assert marker.wait(WAIT)
        assert [] == calls


class TestClose:
    def test_close_is_idempotent_and_fires_on_close_once(self, fake):
        """close() twice runs the teardown once; on_close gets a clean CloseInfo."""
        infos: list[CloseInfo] = []
        s = ConversationSession(transport=fake, on_close=infos.append).open()
        s.send_text("bye")
        s.close()
        s.close()
        assert [CloseInfo(code=1000, reason="", error=None)] == infos
        assert SessionState.CLOSED == s.state
        assert (1000, "") == fake.client_close
        assert fake.is_shut_down
        assert 2 == len(fake.sent)  # queued frames were sent before closing

    def test_close_from_a_callback(self, fake):
        """close() inside a callback returns; the session ends and threads stop."""
        closed = threading.Event()
        s = ConversationSession(transport=fake, on_close=lambda info: closed.set()).open()
        s.on("response.done", lambda e: s.close())
        fake.push(done())
        assert closed.wait(WAIT)
        assert s.closed
        assert [ev.ResponseDoneEvent] == [type(e) for e in s.events(timeout=WAIT)]

    def test_close_while_a_send_blocks(self, fake):
        """A caller blocked on a full send queue, behind a send stuck in the socket,
        wakes with SessionClosedError when the session closes."""
        fake.pause_sends()
        s = ConversationSession(
            transport=fake, options=ConversationOptions(send_queue_size=2), close_timeout=0.2
        ).open()
        s.send(ev.ResponseCancelEvent(), timeout=0)  # the writer takes it and is stuck
        outcome: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

        def flood() -> None:
            try:
                for n in range(100):
                    s.send(ev.ConversationItemRetrieveEvent(item_id=f"i{n}"), timeout=WAIT)
            except BaseException as exc:
                outcome.put(exc)
            else:
                outcome.put(None)

        sender = threading.Thread(target=flood)
        sender.start()
        s.close()
        sender.join(WAIT)
        assert not sender.is_alive()
        assert isinstance(outcome.get(timeout=WAIT), SessionClosedError)
        assert fake.aborted

    def test_close_cuts_a_silent_peer(self):
        """A server that never answers the close frame is cut off after the timeout."""
        fake = FakeTransport(echo_close=False)
        s = ConversationSession(transport=fake, close_timeout=0.1).open()
        s.close()
        assert fake.aborted
        assert SessionState.CLOSED == s.state

    def test_close_before_open(self, fake):
        """A session closed before opening closes cleanly and cannot be opened."""
        s = ConversationSession(transport=fake)
        s.close()
        with pytest.raises(SessionClosedError, match="reopened"):
            s.open()

    def test_with_closes_on_exception(self, fake):
        """Leaving the with block by an exception closes the session."""
        with pytest.raises(KeyError), ConversationSession(transport=fake) as s:
            raise KeyError("boom")
        assert SessionState.CLOSED == s.state

    def test_on_close_registered_after_close_runs_at_once(self, fake):
        """on_close on a closed session calls the function immediately."""
        s = ConversationSession(transport=fake).open()
        s.close()
        infos: list[CloseInfo] = []
        s.on_close(infos.append)
        assert 1 == len(infos)

    def test_iterating_a_closed_empty_session(self, fake):
        """events() on a closed session with nothing left raises SessionClosedError."""
        s = ConversationSession(transport=fake).open()
        s.close()
        with pytest.raises(SessionClosedError):
            s.events()


class TestServerClose:
    @pytest.mark.parametrize(
        ("code", "reason", "error_type"),
        [
            (1001, "Your session hit the maximum duration of 60 minutes.", SessionExpiredError),
            (1001, "going away", ConnectionClosedError),
            (1011, "internal error", ConnectionClosedError),
            (None, "", ConnectionClosedError),
        ],
    )
    def test_unexpected_close_ends_iteration_with_the_error(self, fake, code, reason, error_type):
        """Events before the close are delivered, then the terminal error is raised;
        on_close and on_error see it too."""
        infos: list[CloseInfo] = []
        s = ConversationSession(transport=fake, on_close=infos.append).open()
        fake.push(done())
        fake.close_from_server(code, reason)
        got = []
        with pytest.raises(error_type) as raised:
            got.extend(s.events(timeout=WAIT))
        assert [ev.ResponseDoneEvent] == [type(e) for e in got]
        assert s.wait_closed(WAIT)
        assert (code, reason) == (raised.value.code, raised.value.reason)
        assert [raised.value] == [info.error for info in infos]
        if error_type is SessionExpiredError:
            assert "maximum duration" in str(raised.value)
        else:
            assert type(raised.value) is ConnectionClosedError
        with pytest.raises(error_type):  # a later iteration re-raises it
            s.events()

    def test_send_failure_closes_with_the_error(self, fake):
        """A send that fails ends the session with ConnectionClosedError naming it."""
        errors: list[BaseException] = []
        s = ConversationSession(transport=fake, on_error=errors.append).open()
        fake.fail_next_send(OSError("network is down"))
        with pytest.raises(ConnectionClosedError, match="network is down"):
            s.send_text("x")  # written by this thread: it hears of the failure first
        assert s.wait_closed(WAIT)
        assert isinstance(s.close_info.error, ConnectionClosedError)  # type: ignore[union-attr]
        assert "network is down" in str(s.close_info.error)  # type: ignore[union-attr]
        assert s.close_info.error in errors  # type: ignore[union-attr]

    def test_pings_when_idle(self, fake):
        """A silent server is pinged at the ping interval (answered pings keep it alive)."""
        with ConversationSession(transport=fake, ping_interval=0.01) as s:
            assert fake.wait_for_pings(3, timeout=WAIT) >= 3
            assert not s.closed

    def test_pings_while_sending_when_the_server_is_silent(self, fake):
        """Liveness is about what the server sends: streaming audio does not stop pings,
        even from a loop that sends as fast as it can (its sends are written by the
        calling thread, and the writer must still get its turn to ping)."""
        with ConversationSession(transport=fake, ping_interval=0.02) as s:
            deadline = time.monotonic() + WAIT  # bounded
            while fake.pings < 2 and time.monotonic() < deadline:
                s.send_audio(bytes(96))
            assert fake.pings >= 2

    def test_dead_connection_is_closed_after_the_pong_timeout(self):
        """A server that stops answering (no frame at all after a ping) is declared dead:
        the session closes with ConnectionClosedError naming the unanswered ping."""
        fake = FakeTransport(answer_pings=False)
        errors: list[BaseException] = []
        s = ConversationSession(
            transport=fake, ping_interval=0.05, pong_timeout=0.1, on_error=errors.append
        ).open()
        try:
            assert s.wait_closed(WAIT)
            error = s.close_info.error  # type: ignore[union-attr]
            assert isinstance(error, ConnectionClosedError)
            assert "did not answer a ping within 0.1 s" in str(error)
            assert error in errors
            assert fake.pings == 1
            with pytest.raises(ConnectionClosedError, match="ping"):
                list(s.events(timeout=WAIT))
        finally:
            s.close()

    def test_any_frame_answers_a_ping(self):
        """A server busy streaming events is alive even if its pongs are late."""
        fake = FakeTransport(answer_pings=False)
        s = ConversationSession(transport=fake, ping_interval=0.05, pong_timeout=2.0).open()
        try:
            fake.wait_for_pings(1, timeout=WAIT)
            fake.push(text_delta(1))  # traffic after the ping: the connection lives
            assert [ev.ResponseOutputTextDeltaEvent] == [type(next(s.events(timeout=WAIT)))]
            fake.wait_for_pings(2, timeout=WAIT)  # the next silence gets a new ping
            assert not s.closed
        finally:
            s.close()

    def test_bad_pong_timeout(self, fake):
        with pytest.raises(ValueError, match="pong_timeout"):
            ConversationSession(transport=fake, pong_timeout=0)


class TestLogging:
    def test_debug_logs_types_and_sizes_never_payloads(self, fake, caplog):
        """DEBUG logs name event types and sizes, never audio or text content."""
        with (
            caplog.at_level(logging.DEBUG, logger="realtime_client"),
            ConversationSession(transport=fake) as s,
        ):
            s.send_audio(b"SECRETAUDIO" * 3)
            s.send_text("private words")
            fake.wait_for_sent(3)
            fake.push(text_delta(1, "private reply"))
            next(s.events(timeout=WAIT))
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "input_audio_buffer.append" in text
        assert "response.output_text.delta" in text
        for secret in ("U0VDUkVU", "SECRETAUDIO", "private"):
            assert secret not in text


def test_fake_transport_frames_are_json(fake):
    """FakeTransport.sent holds decoded dicts of exactly what was sent."""
    with ConversationSession(transport=fake) as s:
        s.retrieve_item("i1")
        fake.wait_for_sent(1)
    assert [json.loads(f) for f in fake.sent_frames] == fake.sent


class TestOverlappingClose:
    def test_close_waits_for_a_close_already_running(self, fake):
        """close() while the reader is closing (the server closed with 1011 while a
        tool runs) waits for that close: the session is closed when it returns."""
        release = threading.Event()
        started = threading.Event()
        closing = threading.Event()

        def slow() -> str:
            """Slow."""
            started.set()
            release.wait(WAIT)
            return "x"

        s = ConversationSession(
            transport=fake, options=ConversationOptions(tools=[slow]), close_timeout=0.3
        ).open()
        try:
            call = ev.FunctionCallItem(id="i1", call_id="c1", name="slow", arguments="{}")
            fake.push(ev.ResponseCreatedEvent(event_id="c", response=ev.Response(id="r1")))
            fake.push(
                ev.ResponseDoneEvent(
                    event_id="d", response=ev.Response(id="r1", status="completed", output=[call])
                )
            )
            assert started.wait(WAIT)
            handle = s.create_response()  # fails when the reader's close reaches the layer
            handle.add_done_callback(lambda h: closing.set())
            fake.close_from_server(1011, "server error")
            assert closing.wait(WAIT)
            s.close()
            assert SessionState.CLOSED == s.state
            assert 1011 == s.close_info.code
        finally:
            release.set()
            s.close()

    def test_close_from_a_tool_during_a_close_returns(self, fake):
        """A tool calling close() while the reader's close waits for that tool
        returns at once (no deadlock), and the session then closes."""
        started = threading.Event()
        closing = threading.Event()
        state_seen: list[SessionState] = []
        s = ConversationSession(transport=fake, close_timeout=WAIT).open()

        def stop() -> str:
            """Stop."""
            started.set()
            assert closing.wait(WAIT)
            s.close()
            state_seen.append(s.state)
            return "ok"

        s.tools.register(stop)
        handle = s.create_response()
        handle.add_done_callback(lambda h: closing.set())
        call = ev.FunctionCallItem(id="i1", call_id="c1", name="stop", arguments="{}")
        fake.push(
            ev.ResponseDoneEvent(
                event_id="d", response=ev.Response(id="r1", status="completed", output=[call])
            )
        )
        assert started.wait(WAIT)
        fake.close_from_server(1011, "server error")
        assert s.wait_closed(WAIT)
        assert [SessionState.CLOSING] == state_seen

    def test_entering_a_closed_session_raises(self, fake):
        """`with` on a closed session raises SessionClosedError."""
        s = ConversationSession(transport=fake).open()
        s.close()
        with pytest.raises(SessionClosedError, match="reopened"), s:
            pass


class TestIterationAfterCloseFromACallback:
    def test_event_being_dispatched_is_still_delivered(self, fake):
        """events() called between a close from a callback and the queueing of
        the event that callback ran for still yields that event, then ends."""
        closed_in_callback = threading.Event()
        proceed = threading.Event()
        s = ConversationSession(transport=fake, close_timeout=2.0).open()

        @s.on("response.done")
        def close_here(event: object) -> None:
            s.close()
            closed_in_callback.set()
            proceed.wait(WAIT)

        fake.push(done())
        assert closed_in_callback.wait(WAIT)
        assert SessionState.CLOSED == s.state
        iterator = s.events(timeout=WAIT)
        proceed.set()
        assert [ev.ResponseDoneEvent] == [type(e) for e in iterator]
