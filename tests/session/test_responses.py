"""Response requests, turns and state over FakeTransport (the test plays the server):
waiting and cancelling around server-started responses, refusals, interleaved
and out-of-band turns, late transcripts, threads, and flat memory."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from realtime_client import RealtimeTimeoutError, ServerError, SessionClosedError, UsageError
from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeTransport

WAIT = 5.0
TAG = "realtime_client.request"


@pytest.fixture
def fake() -> FakeTransport:
    return FakeTransport()


def open_session(fake: FakeTransport, **options: object) -> ConversationSession:
    return ConversationSession(
        transport=fake, options=ConversationOptions(**options), close_timeout=2.0
    ).open()


def response(rid: str, tag: str | None = None, **fields: object) -> ev.Response:
    return ev.Response(id=rid, metadata={TAG: tag} if tag else None, **fields)


def created(rid: str, tag: str | None = None, **fields: object) -> ev.ResponseCreatedEvent:
    return ev.ResponseCreatedEvent(event_id=f"c-{rid}", response=response(rid, tag, **fields))


def done(rid: str, tag: str | None = None, status: str = "completed", **fields: object):
    return ev.ResponseDoneEvent(
        event_id=f"d-{rid}", response=response(rid, tag, status=status, **fields)
    )


def text(rid: str, item: str, delta: str, index: int = 0) -> ev.ResponseOutputTextDeltaEvent:
    return ev.ResponseOutputTextDeltaEvent(
        event_id="t",
        response_id=rid,
        item_id=item,
        output_index=index,
        content_index=0,
        delta=delta,
    )


def types(fake: FakeTransport) -> list[str]:
    return fake.sent_types()


class TestWaiting:
    def test_request_waits_for_a_server_started_response(self, fake):
        """A response the server started (VAD) holds create_response until it is done."""
        with open_session(fake) as session:
            fake.push(created("vad"))
            marker = threading.Event()
            session.on("response.created", lambda e: marker.set())
            assert marker.wait(WAIT)
            handle = session.create_response()
            session.retrieve_item("probe")  # sent at once, unlike the response
            fake.wait_for_type("conversation.item.retrieve")
            assert "response.create" not in types(fake)
            fake.push(done("vad"))
            sent = fake.wait_for_type("response.create")
            assert handle.tag == sent["event_id"] == sent["response"]["metadata"][TAG]
            fake.push(created("r1", handle.tag))
            fake.push(done("r1", handle.tag))
            assert "r1" == handle.result(WAIT).response_id

    def test_cancel_policy_cancels_then_sends(self, fake):
        """response_conflict="cancel": response.cancel for the active one, then the request."""
        with open_session(fake, response_conflict="cancel") as session:
            seen = threading.Event()
            session.on("response.created", lambda e: seen.set())
            fake.push(created("vad"))
            assert seen.wait(WAIT)
            handle = session.create_response()
            assert "vad" == fake.wait_for_type("response.cancel")["response_id"]
            assert "response.create" not in types(fake)
            fake.push(done("vad", status="cancelled"))
            fake.wait_for_type("response.create")
            assert handle.response_id is None

    def test_refusal_for_an_active_response_is_retried(self, fake):
        """A refusal (another response started meanwhile) requeues the request."""
        with open_session(fake) as session:
            handle = session.create_response()
            fake.wait_for_type("response.create")
            fake.push(created("vad"))
            refusal = ev.ErrorDetails(
                type="invalid_request_error",
                code="conversation_already_has_active_response",
                message="active",
                event_id=handle.tag,
            )
            fake.push(ev.ErrorEvent(event_id="e", error=refusal))
            fake.push(done("vad"))
            frames = fake.wait_for_sent(2)
            assert ["response.create", "response.create"] == [f["type"] for f in frames]
            assert frames[0]["event_id"] == frames[1]["event_id"]
            assert not handle.done()

    def test_other_refusal_fails_the_handle_and_frees_the_queue(self, fake):
        """A refusal for another reason raises from result(); the next request goes out."""
        with open_session(fake) as session:
            first = session.create_response()
            second = session.create_response()
            fake.wait_for_type("response.create")
            refusal = ev.ErrorDetails(
                type="invalid_request_error",
                code="invalid_value",
                message="bad",
                event_id=first.tag,
            )
            fake.push(ev.ErrorEvent(event_id="e", error=refusal))
            with pytest.raises(ServerError, match="bad"):
                first.result(WAIT)
            frames = fake.wait_for_sent(2)
            assert second.tag == frames[1]["event_id"]

    def test_cancel_a_queued_request_drops_it(self, fake):
        """Cancelling a request still queued never sends it; its turn is cancelled."""
        with open_session(fake) as session:
            first = session.create_response()
            second = session.create_response()
            second.cancel()
            turn = second.result(WAIT)
            assert ("cancelled", None) == (turn.status, turn.response_id)
            fake.push(created("r1", first.tag))
            fake.push(done("r1", first.tag))
            first.result(WAIT)
            session.retrieve_item("probe")
            fake.wait_for_type("conversation.item.retrieve")
            assert 1 == types(fake).count("response.create")

    def test_send_text_queues_its_response_but_not_its_message(self, fake):
        """While a response is active, send_text's message goes now, its response later."""
        with open_session(fake) as session:
            seen = threading.Event()
            session.on("response.created", lambda e: seen.set())
            fake.push(created("vad"))
            assert seen.wait(WAIT)
            session.send_text("hi")
            fake.wait_for_type("conversation.item.create")
            fake.push(done("vad"))
            fake.wait_for_type("response.create")
            assert ["conversation.item.create", "response.create"] == types(fake)


class TestTurns:
    def test_interleaved_default_and_out_of_band(self, fake):
        """Parts of two responses in flight land in their own turns; the
        out-of-band one goes to its handle only."""
        with open_session(fake) as session:
            handle = session.create_response(ev.ResponseOptions(conversation="none"))
            fake.wait_for_type("response.create")
            fake.push(created("oob", handle.tag))
            fake.push(created("vad"))
            fake.push(text("vad", "i1", "Hel"))
            fake.push(text("oob", "i2", "Sum"))
            fake.push(text("vad", "i1", "lo"))
            fake.push(text("oob", "i2", "mary"))
            fake.push(done("oob", handle.tag))
            fake.push(done("vad", conversation_id="conv_1"))
            finished = threading.Event()
            session.on(ev.ResponseDoneEvent, lambda e: finished.set())
            assert "Summary" == handle.result(WAIT).text
            assert handle.result(WAIT).out_of_band
            fake.push(text("x", "i3", "!"))
            fake.push(done("x", conversation_id="conv_1"))
            assert finished.wait(WAIT)
            for _ in session.events(timeout=WAIT):
                if session.last_turn is not None and session.last_turn.response_id == "x":
                    break
            assert session.usage.turns == 3

    def test_late_input_transcript_lands_on_its_item(self, fake):
        """A transcript arriving after the assistant's reply is attached to the user's item."""
        with open_session(fake) as session:
            user = ev.UserMessageItem(id="u1", content=[ev.InputAudioContent()])
            fake.push(ev.ConversationItemAddedEvent(event_id="a", item=user))
            fake.push(created("r1"))
            fake.push(text("r1", "i1", "Hi"))
            fake.push(done("r1", conversation_id="conv_1"))
            fake.push(
                ev.ConversationItemInputAudioTranscriptionCompletedEvent(
                    event_id="t",
                    item_id="u1",
                    content_index=0,
                    transcript="hello",
                    usage=ev.TranscriptionDurationUsage(seconds=1.0),
                )
            )
            got = threading.Event()
            session.on(
                ev.ConversationItemInputAudioTranscriptionCompletedEvent, lambda e: got.set()
            )
            assert got.wait(WAIT)
            assert "hello" == session.items[0].content[0].transcript
            assert "Hi" == session.last_turn.text


class TestThreads:
    def test_waiting_in_a_callback_is_refused(self, fake):
        """ask() and handle.result() in a callback raise UsageError instead of deadlocking."""
        errors: list[BaseException] = []
        with open_session(fake) as session:
            handle = session.create_response()
            fake.wait_for_type("response.create")

            @session.on("rate_limits.updated")
            def wait_here(event: object) -> None:
                for attempt in (lambda: session.ask("x"), lambda: handle.result(1)):
                    try:
                        attempt()
                    except UsageError as exc:
                        errors.append(exc)

            fake.push(ev.RateLimitsUpdatedEvent(event_id="r", rate_limits=[]))
            fake.push(created("r1", handle.tag))
            fake.push(done("r1", handle.tag))
            handle.result(WAIT)
        assert 2 == len(errors)

    def test_close_fails_unfinished_requests(self, fake):
        """Closing resolves every unfinished handle with SessionClosedError."""
        session = open_session(fake)
        active = session.create_response()
        queued = session.create_response()
        session.close()
        for handle in (active, queued):
            with pytest.raises(SessionClosedError):
                handle.result(WAIT)
        with pytest.raises(SessionClosedError):
            session.create_response()

    def test_result_times_out(self, fake):
        """result(timeout) raises RealtimeTimeoutError while the response runs."""
        with open_session(fake) as session, pytest.raises(RealtimeTimeoutError):
            session.create_response().result(0.01)

    def test_tool_threads_stop_with_the_session(self, fake):
        """A tool still running at close is answered and its thread ends (conftest checks)."""
        release = threading.Event()
        started = threading.Event()

        def slow() -> str:
            """Slow."""
            started.set()
            release.wait(WAIT)
            return "done"

        session = open_session(fake, tools=[slow])
        try:
            call = ev.FunctionCallItem(id="f1", call_id="c1", name="slow", arguments="{}")
            fake.push(created("r1"))
            fake.push(done("r1", output=[call], conversation_id="conv_1"))
            assert started.wait(WAIT)
        finally:
            release.set()
            session.close()
        alive = [t.name for t in threading.enumerate() if t.name.startswith("realtime-tool-")]
        assert [] == alive

    def test_bad_options_raise_on_the_callers_thread(self, fake):
        """Bad response options raise where they were passed and send nothing."""
        with open_session(fake) as session:
            too_many = {str(i): "v" for i in range(16)}
            with pytest.raises(ValueError, match="16 pairs"):
                session.create_response(ev.ResponseOptions(metadata=too_many))
            with pytest.raises(TypeError):
                session.ask(42)  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                session.ask("")
        assert [] == types(fake)


def _session_bytes(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes allocated by the library, not by the fake server or the test."""
    filters = [
        tracemalloc.Filter(True, "*realtime_client*", all_frames=True),
        tracemalloc.Filter(False, "*realtime_client/testing*", all_frames=True),
        tracemalloc.Filter(False, tracemalloc.__file__),
    ]
    return sum(stat.size for stat in snapshot.filter_traces(filters).statistics("filename"))


class TestMemory:
    @pytest.mark.parametrize("accumulate", [False, True])
    def test_flat_across_a_thousand_turns(self, accumulate):
        """1,000 turns of 10 kB audio each: the library's memory does not grow, and
        with accumulation off not even the last turn is kept."""
        fake = FakeTransport()
        turns_done = threading.Semaphore(0)
        session = ConversationSession(
            transport=fake,
            options=ConversationOptions(accumulate_last_turn=accumulate, buffer_events=False),
        ).open()
        session.on(ev.ResponseDoneEvent, lambda e: turns_done.release())
        chunk = b"\x01" * 10_000

        def turn(n: int) -> None:
            rid, item = f"r{n}", f"i{n}"
            fake.push(created(rid))
            fake.push(
                ev.ResponseOutputAudioDeltaEvent(
                    event_id="a",
                    response_id=rid,
                    item_id=item,
                    output_index=0,
                    content_index=0,
                    delta=chunk,
                )
            )
            fake.push(done(rid))
            assert turns_done.acquire(timeout=WAIT)

        try:
            for n in range(50):  # warm up caches and interned strings
                turn(n)
            gc.collect()
            tracemalloc.start(12)
            before = _session_bytes(tracemalloc.take_snapshot())
            for n in range(50, 1050):
                turn(n)
            gc.collect()
            after = _session_bytes(tracemalloc.take_snapshot())
            tracemalloc.stop()
        finally:
            session.close()
        growth = after - before
        assert growth < 64_000, f"grew by {growth} bytes over 1,000 turns"
        if accumulate:
            assert chunk == session.last_turn.audio
        else:
            assert session.last_turn is None
            assert after < len(chunk), f"holds {after} bytes with accumulation off"
        assert 1050 == session.usage.turns
