"""Response requests, turns and state over FakeTransport (the test plays the server):
waiting and cancelling around server-started responses, refusals, interleaved
and out-of-band turns, late transcripts, threads, and flat memory."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from realtime_client import (
    ProtocolError,
    RealtimeTimeoutError,
    ServerError,
    SessionClosedError,
    UsageError,
    WaitTimeoutError,
)
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
        """result(timeout) raises WaitTimeoutError (a wait in the app's call, not a
        transport timeout) while the response runs."""
        with open_session(fake) as session, pytest.raises(WaitTimeoutError):
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


def call_events(rid: str, call_id: str, name: str, args: str = "{}") -> list[object]:
    """A response the server started itself (VAD) that calls ``name``: no
    conversation id (the real server sends null) and no conversation.item events."""
    item = ev.FunctionCallItem(
        id=f"item-{call_id}", call_id=call_id, name=name, arguments=args, status="completed"
    )
    return [
        created(rid, status="in_progress"),
        ev.ResponseFunctionCallArgumentsDoneEvent(
            event_id=f"a-{call_id}",
            response_id=rid,
            item_id=item.id,
            output_index=0,
            call_id=call_id,
            name=name,
            arguments=args,
        ),
        done(rid, output=[item]),
    ]


def probe(session: ConversationSession, fake: FakeTransport) -> list[str]:
    """What was sent before a probe frame queued now (the outbox is FIFO)."""
    session.retrieve_item("probe")
    fake.wait_for_type("conversation.item.retrieve")
    sent = types(fake)
    return sent[: sent.index("conversation.item.retrieve")]


class TestServerStartedResponses:
    @pytest.mark.parametrize("accumulate", [True, False])
    def test_vad_tool_call_runs(self, fake, accumulate):
        """A function call in a response the server started with conversation_id
        null runs, with accumulation on or off: only the session's own
        conversation="none" requests are out of band."""
        ran = threading.Event()

        def weather(city: str) -> str:
            """Weather.

            Args:
                city: The city.
            """
            ran.set()
            return "sunny"

        with open_session(fake, tools=[weather], accumulate_last_turn=accumulate):
            for event in call_events("vad", "c1", "weather", '{"city": "Oslo"}'):
                fake.push(event)
            assert ran.wait(WAIT)
            output = fake.wait_for_type("conversation.item.create")["item"]
            assert ("function_call_output", "c1", "sunny") == (
                output["type"],
                output["call_id"],
                output["output"],
            )
            fake.wait_for_type("response.create")

    def test_vad_turn_is_the_last_turn(self, fake):
        """A server-started response with conversation_id null becomes last_turn."""
        with open_session(fake) as session:
            finished = threading.Event()
            session.on(ev.ResponseDoneEvent, lambda e: finished.set())
            fake.push(created("vad"))
            fake.push(text("vad", "i1", "Hi"))
            fake.push(done("vad", output=[ev.AssistantMessageItem(id="i1", content=[])]))
            assert finished.wait(WAIT)
            assert ("vad", False) == (session.last_turn.response_id, session.last_turn.out_of_band)


class TestUndecodableResponseEvents:
    def test_refused_response_done_still_ends_the_response(self, fake):
        """A response.done the decoder refuses is reported to on_error, and still
        finishes its request and frees the queue for the next one."""
        errors: list[BaseException] = []
        with open_session(fake) as session:
            session.on_error(errors.append)
            first = session.create_response()
            fake.wait_for_type("response.create")
            fake.push(created("r1", first.tag))
            fake.push(text("r1", "i1", "partial"))
            fake.push(
                '{"type":"response.done","event_id":"e2","response":{"id":"r1",'
                '"status":"completed","output_modalities":["text","video"],'
                f'"metadata":{{"{TAG}":"{first.tag}"}}}}}}'
            )
            turn = first.result(WAIT)
            assert ("r1", "completed", "partial") == (turn.response_id, turn.status, turn.text)
            assert () == session._layer.gate.active
            second = session.create_response()
            assert second.tag == fake.wait_for_sent(2)[1]["event_id"]
        assert any(isinstance(e, ProtocolError) for e in errors)

    def test_refused_response_created_still_holds_requests(self, fake):
        """A response.created the decoder refuses still counts as an active
        response: a request waits for its end instead of being refused."""
        with open_session(fake) as session:
            fake.push(
                '{"type":"response.created","event_id":"e1","response":{"id":"vad",'
                '"status":"in_progress","output_modalities":["video"]}}'
            )
            reported = threading.Event()
            session.on_error(lambda exc: reported.set())
            assert reported.wait(WAIT)
            handle = session.create_response()
            assert "response.create" not in probe(session, fake)
            fake.push(done("vad"))
            assert handle.tag == fake.wait_for_type("response.create")["event_id"]


class TestRefusalWithoutEventId:
    @staticmethod
    def refusal(code: str) -> ev.ErrorEvent:
        details = ev.ErrorDetails(
            type="invalid_request_error", code=code, message="bad", param="response.x"
        )
        return ev.ErrorEvent(event_id="e", error=details)

    def test_fails_the_only_request_in_flight(self, fake):
        """An error with no event_id refuses the one request in flight: its handle
        fails and the next request is sent."""
        with open_session(fake) as session:
            first = session.create_response()
            second = session.create_response()
            fake.wait_for_type("response.create")
            fake.push(self.refusal("invalid_value"))
            with pytest.raises(ServerError, match="bad"):
                first.result(WAIT)
            assert second.tag == fake.wait_for_sent(2)[1]["event_id"]

    def test_active_response_refusal_is_retried(self, fake):
        """conversation_already_has_active_response with no event_id requeues the
        request in flight behind the active response."""
        with open_session(fake) as session:
            handle = session.create_response()
            fake.wait_for_type("response.create")
            fake.push(created("vad"))
            fake.push(self.refusal("conversation_already_has_active_response"))
            fake.push(done("vad"))
            frames = fake.wait_for_sent(2)
            assert [handle.tag, handle.tag] == [f["event_id"] for f in frames]
            assert not handle.done()

    def test_unanswered_request_times_out_and_frees_the_queue(self, fake):
        """A request the server neither starts nor refuses fails after
        response_start_timeout, and the queued request goes out."""
        with open_session(fake, response_start_timeout=0.2) as session:
            lost = session.create_response()
            queued = session.create_response()
            with pytest.raises(RealtimeTimeoutError, match="neither started nor refused"):
                lost.result(WAIT)
            assert queued.tag == fake.wait_for_sent(2)[1]["event_id"]
            fake.push(created("r2", queued.tag))
            fake.push(done("r2", queued.tag))
            assert "r2" == queued.result(WAIT).response_id

    def test_start_timeout_must_be_positive(self):
        """response_start_timeout is validated."""
        with pytest.raises(ValueError, match="response_start_timeout"):
            ConversationOptions(response_start_timeout=0)


class TestAppTools:
    @staticmethod
    def add(a: int, b: int) -> int:
        """Add.

        Args:
            a: One.
            b: Two.
        """
        return a + b

    def declare(self, fake: FakeTransport, session: ConversationSession) -> None:
        """The server reports a tool the app declared itself, next to the registry's."""
        seen = threading.Event()
        session.on("session.updated", lambda e: seen.set())
        fake.push(
            {
                "type": "session.updated",
                "event_id": "s1",
                "session": {
                    "type": "realtime",
                    "tools": [
                        {"type": "function", "name": "lookup_order"},
                        {"type": "function", "name": "add"},
                    ],
                },
            }
        )
        assert seen.wait(WAIT)

    def test_calls_to_the_apps_own_tools_are_left_to_it(self, fake):
        """With a Python tool registered, a call to a tool the app declared itself
        gets no automatic output: the app answers with submit_tool_response."""
        with open_session(fake, tools=[self.add]) as session:
            self.declare(fake, session)
            finished = threading.Event()
            session.on(ev.ResponseDoneEvent, lambda e: finished.set())
            for event in call_events("vad", "c1", "lookup_order", '{"id": "42"}'):
                fake.push(event)
            assert finished.wait(WAIT)
            assert [] == probe(session, fake)
            assert ["lookup_order"] == [c.name for c in session.last_turn.function_calls]

    def test_mixed_response_answers_ours_without_a_follow_up(self, fake):
        """A response calling a registered tool and an app tool: the session sends
        its output but leaves the follow-up response to the app."""
        with open_session(fake, tools=[self.add]) as session:
            self.declare(fake, session)
            calls = [
                ev.FunctionCallItem(id="i1", call_id="c1", name="add", arguments='{"a":1,"b":2}'),
                ev.FunctionCallItem(id="i2", call_id="c2", name="lookup_order", arguments="{}"),
            ]
            fake.push(created("vad"))
            fake.push(done("vad", output=calls))
            output = fake.wait_for_type("conversation.item.create")["item"]
            assert ("c1", "3") == (output["call_id"], output["output"])
            assert ["conversation.item.create"] == probe(session, fake)
            session.submit_tool_response("c2", {"status": "shipped"})
            fake.wait_for_type("response.create")

    def test_unknown_name_still_gets_an_error_output(self, fake):
        """A name neither registered nor declared by the app is answered with an
        error output, so the model is never left waiting."""
        with open_session(fake, tools=[self.add]) as session:
            self.declare(fake, session)
            for event in call_events("vad", "c1", "nope"):
                fake.push(event)
            output = fake.wait_for_type("conversation.item.create")["item"]
            assert "unknown tool 'nope'" in output["output"]
            fake.wait_for_type("response.create")
