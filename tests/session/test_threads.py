"""Threads: two named threads per session while no tool runs, none left after
close; the hot append frame is the converter's JSON."""

from __future__ import annotations

import json
import threading

import pytest

from realtime_client import events as ev
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
