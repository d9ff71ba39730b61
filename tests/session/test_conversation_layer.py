"""The conversation layer end to end, over real sockets against the offline server:
turns, items, usage, tools, out-of-band responses, ask(), seeding."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from realtime_client import ServerError
from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.client import ConversationClient
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeRealtimeServer
from realtime_client.testing._server import ErrorReply, FunctionCallReply, TextReply

WAIT = 5.0
TEXT = ConversationOptions(output_modalities=["text"])


def get_weather(city: str) -> dict[str, object]:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature": 3}


@pytest.fixture
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer(speed=math.inf, speech_engine="synthetic") as s:
        yield s


def connect(server: FakeRealtimeServer, options: ConversationOptions = TEXT, **kwargs):
    client = ConversationClient(base_url=server.base_url, api_key="sk-test")
    return client.start_conversation(options=options, **kwargs)


def answer_after_tools(session: ConversationSession) -> str:
    """Read messages until a turn finishes without function calls; its text."""
    for message in session.receive_messages(timeout=WAIT):
        if message.turn_finished and session.last_turn and not session.last_turn.function_calls:
            return session.last_turn.text
    raise AssertionError("the session ended before the answer")


class TestTurns:
    def test_text_turn_is_in_last_turn_before_the_finishing_event(self, server):
        """ask() returns the turn; last_turn is already set when response.done's
        callback runs and when the iterator yields TURN_FINISHED."""
        seen: list[object] = []
        with connect(server) as session:
            assert session.last_turn is None

            @session.on(ev.ResponseDoneEvent)
            def check(event: ev.ResponseDoneEvent) -> None:
                seen.append(session.last_turn and session.last_turn.response_id)

            turn = session.ask("Hello there", timeout=WAIT)
            assert 'You said: "Hello there"' == turn.text
            assert "completed" == turn.status
            assert turn is session.last_turn
            assert [turn.response_id] == seen
            for message in session.receive_messages(timeout=WAIT):
                if message.turn_finished:
                    assert message.response_id == session.last_turn.response_id
                    break

    def test_audio_turn_and_audio_prompt(self, server):
        """An audio answer accumulates its audio and transcript; ask() takes audio bytes."""
        options = ConversationOptions(output_modalities=["audio"], turn_detection=None)
        with connect(server, options) as session:
            turn = session.ask(b"\x00\x10" * 24000, timeout=WAIT)  # 1 s of PCM16
            assert "I heard 1.0 seconds of speech" in turn.transcript
            assert len(turn.audio) > 0
            assert len(turn.audio) % 2 == 0
            assert "" == turn.text
            user = session.items[0]
            assert isinstance(user, ev.UserMessageItem)
            assert isinstance(user.content[0], ev.InputAudioContent)

    def test_cancelled_turn_keeps_what_was_received(self):
        """Cancelling through the handle ends the turn as cancelled, with the text so far."""
        long_reply = TextReply(text=" ".join(f"word{i}" for i in range(400)))
        with (
            FakeRealtimeServer(speed=1.0, responder=[long_reply]) as slow,
            connect(slow) as session,
        ):
            first = threading.Event()
            session.on(ev.ResponseOutputTextDeltaEvent, lambda e: first.set())
            handle = session.create_response()
            assert first.wait(WAIT)
            handle.cancel()
            turn = handle.result(WAIT)
        assert "cancelled" == turn.status
        assert "client_cancelled" == turn.status_details.reason
        assert turn.text
        assert long_reply.text.startswith(turn.text)
        assert len(turn.text) < len(long_reply.text)
        assert turn is session.last_turn

    def test_accumulation_off_keeps_no_turn_but_ask_still_answers(self, server):
        """With accumulate_last_turn=False, last_turn stays None; ask() still gets its turn."""
        options = ConversationOptions(output_modalities=["text"], accumulate_last_turn=False)
        with connect(server, options) as session:
            turn = session.ask("one", timeout=WAIT)
            assert 'You said: "one"' == turn.text
            session.send_text("two")
            for message in session.receive_messages(timeout=WAIT):
                if message.turn_finished and message.response_id != turn.response_id:
                    break
            assert session.last_turn is None
            assert 2 == session.usage.turns


class TestOutOfBand:
    def test_out_of_band_goes_to_its_handle_not_last_turn(self, server):
        """An out-of-band response is delivered to its caller, tagged, and joins nothing."""
        with connect(server) as session:
            first = session.ask("Remember this", timeout=WAIT)
            items = session.items
            handle = session.create_response(
                ev.ResponseOptions(conversation="none", metadata={"topic": "summary"})
            )
            turn = handle.result(WAIT)
            assert turn.out_of_band
            assert handle.out_of_band
            assert turn.text
            assert "summary" == turn.metadata["topic"]
            assert handle.tag == turn.metadata["realtime_client.request"]
            assert session.last_turn is first
            assert items == session.items
            assert 2 == session.usage.turns  # billed all the same


class TestItemsAndSeeding:
    def test_delete_and_truncate_update_items(self, server):
        """Deleting removes the item; truncating an audio reply drops its transcript."""
        options = ConversationOptions(output_modalities=["audio"], turn_detection=None)
        with connect(server, options) as session:
            turn = session.ask("Tell me something", timeout=WAIT)
            user, reply = session.items
            assert reply.content[0].transcript == turn.transcript
            done = threading.Event()
            session.on(ev.ConversationItemDeletedEvent, lambda e: done.set())
            session.truncate_item(reply.id, 0, 100)
            session.delete_item(user.id)
            assert done.wait(WAIT)
            (left,) = session.items
            assert reply.id == left.id
            assert left.content[0].transcript is None

    def test_export_then_seed_a_new_session(self, server):
        """A new session started with items= holds the same conversation and continues it."""
        with connect(server) as session:
            session.ask("My name is Ada", timeout=WAIT)
            exported = session.export_items()
        assert ["message", "message"] == [e["type"] for e in exported]
        with connect(server, items=exported) as resumed:
            turn = resumed.ask("What did I say?", timeout=WAIT)
            texts = [part.text for item in resumed.items for part in item.content if part.text]
        assert texts[:2] == ["My name is Ada", 'You said: "My name is Ada"']
        assert 'You said: "What did I say?"' == turn.text
        received = server.wait_for_connection(1).received
        assert "conversation.item.create" == received[1].type

    def test_bad_seed_fails_before_connecting(self, server):
        """An invalid exported item raises ValueError naming its position; nothing connects."""
        with pytest.raises(ValueError, match="entry 1"):
            connect(server, items=[{"type": "message", "role": "user", "content": []}, {"x": 1}])
        assert [] == server.connections


class TestTools:
    def test_options_tools_are_configured_and_run(self, server):
        """Tools from the options are in the session config, run, and answered."""
        options = ConversationOptions(output_modalities=["text"], tools=[get_weather])
        with connect(server, options) as session:
            session.send_text("get_weather city=Oslo")
            answer = answer_after_tools(session)
        config = server.connections[0].session
        assert ["get_weather"] == [t.name for t in config.tools]
        assert 'The get_weather tool returned: {"city": "Oslo", "temperature": 3}' == answer

    def test_tools_registered_after_connecting_are_sent(self, server):
        """@session.tool on an open session sends the new tool list."""
        with connect(server) as session:
            updated = threading.Event()
            session.on(ev.SessionUpdatedEvent, lambda e: e.session.tools and updated.set())

            @session.tool
            def local_time(timezone: str) -> str:
                """The local time.

                Args:
                    timezone: An IANA zone.
                """
                return "12:00"

            assert updated.wait(WAIT)
            session.send_text("local_time timezone=UTC")
            assert "The local_time tool returned: 12:00" == answer_after_tools(session)

    @pytest.mark.parametrize(
        ("call", "expected"),
        [
            (FunctionCallReply(name="nope"), "unknown tool 'nope'"),
            (FunctionCallReply(name="get_weather", arguments="{oops"), "are not valid JSON"),
            (FunctionCallReply(name="get_weather", arguments={}), "bad arguments for"),
            (FunctionCallReply(name="explode"), "raised RuntimeError: boom"),
            (FunctionCallReply(name="hang"), "did not finish within 0.2 s"),
        ],
        ids=["unknown", "bad-json", "bad-arguments", "exception", "timeout"],
    )
    def test_every_failure_answers_the_model(self, call, expected):
        """Each failure becomes an error output and a follow-up; the session goes on."""
        release = threading.Event()

        def explode() -> str:
            """Fails."""
            raise RuntimeError("boom")

        def hang() -> str:
            """Blocks until released."""
            release.wait(WAIT)
            return "late"

        options = ConversationOptions(
            output_modalities=["text"], tools=[get_weather, explode, hang], tool_timeout=0.2
        )
        try:
            with (
                FakeRealtimeServer(speed=math.inf, responder=[call]) as server,
                connect(server, options) as session,
            ):
                session.send_text("go")
                answer = answer_after_tools(session)
                release.set()  # the timed-out call's thread can end before the close
                assert expected in answer
                assert '{"error": ' in answer
                assert 'You said: "again"' == session.ask("again", timeout=WAIT).text
        finally:
            release.set()

    def test_parallel_calls_get_one_follow_up(self):
        """Two calls in one response: both outputs, then exactly one response.create."""
        calls = [
            FunctionCallReply(name="get_weather", arguments={"city": "Oslo"}, call_id="c1"),
            FunctionCallReply(name="get_weather", arguments={"city": "Rome"}, call_id="c2"),
        ]
        options = ConversationOptions(output_modalities=["text"], tools=[get_weather])
        with (
            FakeRealtimeServer(speed=math.inf, responder=[calls]) as server,
            connect(server, options) as session,
        ):
            session.send_text("weather twice")
            answer_after_tools(session)
            types = [e.type for e in server.connections[0].received]
            outputs = [
                e.item.call_id
                for e in server.connections[0].received
                if e.type == "conversation.item.create"
                and isinstance(e.item, ev.FunctionCallOutputItem)
            ]
        assert ["c1", "c2"] == outputs
        assert 2 == types.count("response.create")
        last_output = len(types) - 1 - types[::-1].index("conversation.item.create")
        assert "response.create" == types[last_output + 1]

    def test_follow_up_opt_out_sends_only_the_output(self):
        """A tool with follow_up=False is answered without asking for a response."""
        with (
            FakeRealtimeServer(
                speed=math.inf, responder=[FunctionCallReply(name="hang_up")]
            ) as server,
            connect(server) as session,
        ):

            @session.tool(follow_up=False)
            def hang_up() -> str:
                """End the call."""
                return "bye"

            turn = session.ask("please hang up", timeout=WAIT)
            assert "hang_up" == turn.function_calls[0].name
            connection = server.connections[0]
            output = connection.wait_for_received("conversation.item.create", count=2)
            assert "bye" == output.item.output
            # A marker after the output: had a follow-up been asked, it would come first.
            session.retrieve_item(output.item.call_id and session.items[-1].id)
            connection.wait_for_received("conversation.item.retrieve")
            types = [e.type for e in connection.received]
        assert 1 == types.count("response.create")

    def test_manual_tool_answers_without_registered_tools(self, server):
        """Tools only in the explicit session config are left to submit_tool_response()."""
        tool = ev.FunctionTool(
            name="get_weather",
            description="Weather.",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}},
        )
        config = ev.RealtimeSessionConfig(tools=[tool])
        with connect(server, session=config) as session:
            turn = session.ask("get_weather city=Oslo", timeout=WAIT)
            (call,) = turn.function_calls
            assert {"city": "Oslo"} == call.parsed_arguments
            session.submit_tool_response(call.call_id, {"temperature": 5})
            assert 'The get_weather tool returned: {"temperature": 5}' == answer_after_tools(
                session
            )


class TestResponsesWithoutRaces:
    def test_back_to_back_requests_never_provoke_the_server(self, server):
        """Several create_response() at once are sent one at a time: no server error."""
        errors: list[BaseException] = []
        with connect(server, on_error=errors.append) as session:
            session.send_text("first")
            handles = [session.create_response() for _ in range(3)]
            turns = [h.result(WAIT) for h in handles]
        assert ["completed"] * 3 == [t.status for t in turns]
        assert 4 == session.usage.turns
        assert [] == errors

    def test_cancel_policy_cancels_the_active_response(self):
        """response_conflict="cancel": the active response is cancelled, the new one runs."""
        long_reply = TextReply(text=" ".join(f"w{i}" for i in range(400)))
        options = ConversationOptions(output_modalities=["text"], response_conflict="cancel")
        with (
            FakeRealtimeServer(speed=1.0, responder=[long_reply, "short"]) as slow,
            connect(slow, options) as session,
        ):
            started = threading.Event()
            session.on(ev.ResponseOutputTextDeltaEvent, lambda e: started.set())
            first = session.create_response()
            assert started.wait(WAIT)
            second = session.create_response()
            assert "cancelled" == first.result(WAIT).status
            assert "short" == second.result(WAIT).text

    def test_failed_response_is_a_turn_and_refusal_is_an_error(self):
        """A failed response is a turn with status failed; a refused request raises."""
        with (
            FakeRealtimeServer(speed=math.inf, responder=[ErrorReply()]) as server,
            connect(server) as session,
        ):
            assert "failed" == session.create_response().result(WAIT).status
            bad = session.create_response(ev.ResponseOptions(conversation="conv_missing"))
            with pytest.raises(ServerError, match="not found") as raised:
                bad.result(WAIT)
            assert "invalid_value" == raised.value.code
            assert 'You said: "still here"' == session.ask("still here", timeout=WAIT).text


class TestUsage:
    def test_usage_and_cost_add_up_per_turn(self, server):
        """session.usage counts every turn by modality and prices gpt-realtime."""
        with connect(server) as session:
            session.ask("one", timeout=WAIT)
            first = session.usage.total
            session.ask("two", timeout=WAIT)
            last = session.usage.last_turn
        assert 2 == session.usage.turns
        assert first + last == session.usage.total
        assert last.text_output > 0
        assert last.audio_output == 0
        cost = session.usage.estimated_cost()
        assert cost is not None
        assert cost > 0


class TestExamples:
    @pytest.mark.parametrize(
        ("script", "expected"),
        [
            ("hello.py", 'You said: "Say hello in three languages."'),
            ("tools.py", 'The get_weather tool returned: {"city": "Oslo"'),
        ],
    )
    def test_example_runs_offline(self, script, expected):
        """The examples run end to end against the offline server."""
        root = Path(__file__).resolve().parents[2]
        done = subprocess.run(
            [sys.executable, str(root / "examples" / script), "--offline"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert 0 == done.returncode, done.stderr
        assert expected in done.stdout
