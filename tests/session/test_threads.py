"""Threads: two named threads per session while no tool runs, a tool thread only while
a tool runs, none left after close (a stuck tool neither holds up close nor the
interpreter's exit); the hot append frame is the converter's JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client._frames import append_frame
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeTransport

WAIT = 5.0


def _session_threads(before: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t not in before and t.is_alive())


class TestThreads:
    def test_two_named_threads_while_no_tool_runs(self):
        """An open session runs exactly a reader and a writer, named after it; asking
        for responses starts no watchdog (the writer keeps every deadline)."""
        before = set(threading.enumerate())
        fake = FakeTransport()
        with ConversationSession(transport=fake) as session:
            session.create_response()
            fake.wait_for_type("response.create")
            names = _session_threads(before)
            assert 2 == len(names)
            reader, writer = names
            assert reader.startswith("realtime-reader-")
            assert writer.startswith("realtime-writer-")
            assert reader.rsplit("-", 1)[1] == writer.rsplit("-", 1)[1]
        assert [] == _session_threads(before)

    def test_no_thread_left_after_a_network_close(self):
        """A session the server closed leaves no thread behind once closed."""
        before = set(threading.enumerate())
        fake = FakeTransport()
        session = ConversationSession(transport=fake).open()
        fake.close_from_server(1011, "bye")
        assert session.wait_closed(WAIT)
        session.close()
        for thread in set(threading.enumerate()) - before:  # the reader is returning
            thread.join(WAIT)
        assert [] == _session_threads(before)


def _call_response(rid: str, call_id: str, name: str) -> list[object]:
    """A completed response whose only output is a call of ``name``."""
    item = ev.FunctionCallItem(id=f"i_{call_id}", call_id=call_id, name=name, arguments="{}")
    return [
        ev.ResponseCreatedEvent(event_id="", response=ev.Response(id=rid, status="in_progress")),
        ev.ResponseDoneEvent(
            event_id="",
            response=ev.Response(
                id=rid, status="completed", output=[item], conversation_id="conv_1"
            ),
        ),
    ]


def _output_of(fake: FakeTransport, call_id: str) -> str:
    """The output the session sent for ``call_id``, once it is sent."""
    deadline = time.monotonic() + WAIT
    while True:
        for frame in fake.sent:
            item = frame.get("item") or {}
            if frame["type"] == "conversation.item.create" and item.get("call_id") == call_id:
                return str(item["output"])
        fake.wait_for_sent(len(fake.sent) + 1, max(0.0, deadline - time.monotonic()))


def _tool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("realtime-tool-")]


class TestToolThreads:
    def test_a_tool_thread_only_while_a_tool_runs(self):
        """A tool runs on a thread named after the session and the tool; before the
        model calls it and once it has returned, the session runs its two threads only."""
        before = set(threading.enumerate())
        fake = FakeTransport()
        started, release = threading.Event(), threading.Event()

        def lookup() -> str:
            """Look something up."""
            started.set()
            release.wait(WAIT)
            return "found"

        options = ConversationOptions(tools=[lookup])
        with ConversationSession(transport=fake, options=options) as session:
            assert 2 == len(_session_threads(before))
            for event in _call_response("r1", "c1", "lookup"):
                fake.push(event)
            assert started.wait(WAIT)
            [tool] = _tool_threads()
            reader = next(n for n in _session_threads(before) if "reader" in n)
            assert tool.name == f"realtime-tool-{reader.rsplit('-', 1)[1]}-lookup"
            assert 3 == len(_session_threads(before))
            release.set()
            assert "found" == _output_of(fake, "c1")
            tool.join(WAIT)
            assert 2 == len(_session_threads(before))
            assert not session.closed
        assert [] == _session_threads(before)

    def test_a_stuck_tool_is_answered_and_does_not_block_the_next(self):
        """A tool past its limit: the model gets the timeout error, the next call runs at
        once, and close() returns within its bound while the stuck function still runs."""
        fake = FakeTransport()
        release = threading.Event()

        def stuck() -> str:
            """Never answers in time."""
            release.wait(WAIT * 4)
            return "late"

        def quick() -> str:
            """Answers at once."""
            return "fast"

        options = ConversationOptions(tools=[stuck, quick], tool_timeout=0.2)
        session = ConversationSession(transport=fake, options=options, close_timeout=0.5)
        try:
            session.open()
            for event in _call_response("r1", "c1", "stuck"):
                fake.push(event)
            assert "did not finish within 0.2 s" in _output_of(fake, "c1")
            for event in _call_response("r2", "c2", "quick"):
                fake.push(event)
            assert "fast" == _output_of(fake, "c2")
            started = time.monotonic()
            session.close()
            assert time.monotonic() - started < WAIT
            assert all(t.name.endswith("-stuck") for t in _tool_threads())
        finally:
            release.set()
            for thread in _tool_threads():
                thread.join(WAIT)

    def test_a_stuck_tool_does_not_hold_up_interpreter_exit(self):
        """An application whose tool never returns still exits: tool threads are
        daemons (a ThreadPoolExecutor's workers would be joined at exit)."""
        script = textwrap.dedent(
            """
            import threading
            from realtime_client import events as ev
            from realtime_client._config import ConversationOptions
            from realtime_client.session import ConversationSession
            from realtime_client.testing import FakeTransport

            def forever() -> str:
                \"\"\"Never returns.\"\"\"
                threading.Event().wait()
                return ""

            fake = FakeTransport()
            options = ConversationOptions(tools=[forever], tool_timeout=0.1)
            session = ConversationSession(transport=fake, options=options, close_timeout=0.2)
            session.open()
            item = ev.FunctionCallItem(id="i", call_id="c", name="forever", arguments="{}")
            fake.push(ev.ResponseCreatedEvent(event_id="", response=ev.Response(id="r")))
            fake.push(ev.ResponseDoneEvent(event_id="", response=ev.Response(
                id="r", status="completed", output=[item], conversation_id="conv")))
            fake.wait_for_type("conversation.item.create")
            session.close()
            print("closed", flush=True)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
        )
        assert (0, "closed\n") == (done.returncode, done.stdout), done.stderr


class TestAppendFrame:
    @pytest.mark.parametrize(
        "event",
        [
            ev.InputAudioBufferAppendEvent(audio=b""),
            ev.InputAudioBufferAppendEvent(audio=bytes(range(256))),
            ev.InputAudioBufferAppendEvent(audio=b"\x00\x01", event_id='quote " and \\ é'),
        ],
    )
    def test_same_json_as_the_converter(self, event):
        """The direct frame of an append decodes to what the converter would send."""
        assert json.loads(ev.encode_client_event(event)) == json.loads(append_frame(event))
