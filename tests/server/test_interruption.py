"""Interruption, truncation, cancellation and retrieval: the paths apps find hardest to test.

Each test drives the server with a raw WebSocket peer and checks what the
service sends (docs/testing.md, "Where the offline server's order comes from").
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from realtime_client.testing import FakeConnection, FakeRealtimeServer
from realtime_client.testing._server import AudioReply, FunctionCallReply, TextReply

from .conftest import Peer, speech_fixture, types
from .protocol_order import assert_order, wire_events

SECOND = b"\x10\x00" * 24000  # one second of quiet PCM16 at 24 kHz
WAIT = 5.0
CLOSING_AUDIO = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def _audio_server(make_server: Any, seconds: int = 3) -> FakeRealtimeServer:
    """A server at real speed whose every reply is ``seconds`` of audio with a transcript."""
    reply = AudioReply(transcript="one two three four five six seven", audio=SECOND * seconds)
    server: FakeRealtimeServer = make_server(speed=1.0, responder=lambda _: reply)
    return server


def _start(server: FakeRealtimeServer, make_peer: Any) -> tuple[Peer, FakeConnection]:
    peer: Peer = make_peer(server.url)
    peer.until("conversation.created")
    return peer, server.wait_for_connection()


def _truncate(item_id: str, ms: int) -> dict[str, Any]:
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": ms,
    }


def _wait_client_frames(connection: FakeConnection, count: int) -> None:
    """Wait until the server has taken in ``count`` frames from the client (held or not)."""

    def arrived() -> bool:
        return sum(1 for e in connection.traffic if e.sender == "client" and e.frame) >= count

    with connection._cond:  # the connection's own condition, notified on every frame
        assert connection._cond.wait_for(arrived, WAIT)


def _audio_bytes(events: list[dict[str, Any]], item_id: str) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"])
        for e in events
        if e["type"] == "response.output_audio.delta" and e["item_id"] == item_id
    )


class TestTruncateWhileStreaming:
    def test_truncate_alone_stops_the_item(self, make_server, make_peer) -> None:
        """Truncating the item still streaming works (openai-agents' interrupt()) and stops it.

        No audio or transcript delta for it follows ``conversation.item.truncated``;
        the item closes with every ``.done`` event (status incomplete) and the
        conversation keeps only the audio heard, without a transcript.
        """
        server = _audio_server(make_server)
        peer, _ = _start(server, make_peer)
        peer.send({"type": "response.create"})
        first = peer.until("response.output_audio.delta")
        item_id = first[-1]["item_id"]
        peer.send(_truncate(item_id, 20))
        events = first + peer.until("response.done")
        truncated_at = next(
            i for i, e in enumerate(events) if e["type"] == "conversation.item.truncated"
        )
        after = [e["type"] for e in events[truncated_at:]]
        assert not any(t.endswith(".delta") for t in after)
        assert CLOSING_AUDIO == types(events)[-6:]
        assert "incomplete" == events[-3]["item"]["status"]
        assert "completed" == events[-1]["response"]["status"]
        peer.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = peer.until("conversation.item.retrieved")[-1]["item"]
        assert (20 * 48, "") == (
            len(base64.b64decode(item["content"][0]["audio"])),
            item["content"][0]["transcript"],
        )

    def test_truncate_then_cancel(self, make_server, make_peer) -> None:
        """Truncate and cancel sent together: truncated, then the response ends as cancelled."""
        server = _audio_server(make_server)
        peer, connection = _start(server, make_peer)
        peer.send({"type": "response.create"})
        item_id = peer.until("response.output_audio.delta")[-1]["item_id"]
        connection.stall()  # both frames are taken in before either is handled
        frames_before = sum(1 for e in connection.traffic if e.sender == "client" and e.frame)
        peer.send(_truncate(item_id, 20))
        peer.send({"type": "response.cancel"})
        _wait_client_frames(connection, frames_before + 2)
        connection.resume()
        events = peer.until("response.done")
        assert "error" not in types(events)
        assert "conversation.item.truncated" in types(events)
        assert CLOSING_AUDIO == types(events)[-6:]
        assert ("cancelled", "client_cancelled") == (
            events[-1]["response"]["status"],
            events[-1]["response"]["status_details"]["reason"],
        )

    def test_cancel_then_truncate(self, make_server, make_peer) -> None:
        """Cancel first: the part closes with the transcript sent so far; truncate then works."""
        server = _audio_server(make_server)
        peer, _ = _start(server, make_peer)
        peer.send({"type": "response.create"})
        events = peer.until("response.output_audio.delta")
        item_id = events[-1]["item_id"]
        peer.send({"type": "response.cancel"})
        events += peer.until("response.done")
        assert CLOSING_AUDIO == types(events)[-6:]
        said = "".join(
            e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
        )
        transcript_done = next(
            e for e in events if e["type"] == "response.output_audio_transcript.done"
        )
        assert said == transcript_done["transcript"]
        assert "cancelled" == events[-1]["response"]["status"]
        heard_ms = len(_audio_bytes(events, item_id)) // 48
        peer.send(_truncate(item_id, heard_ms))
        assert heard_ms == peer.until("conversation.item.truncated")[-1]["audio_end_ms"]

    def test_text_item_cannot_be_truncated(self, peer: Peer) -> None:
        """A text reply has no audio to cut: the service's unsupported_content_type error."""
        peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        item_id = peer.until("response.done")[-1]["response"]["output"][0]["id"]
        peer.send(_truncate(item_id, 0))
        error = peer.until("error")[-1]["error"]
        assert (
            "unsupported_content_type",
            "Only model output audio messages can be truncated",
        ) == (
            error["code"],
            error["message"],
        )


class TestCancelClosesEverything:
    def test_text_response(self, make_server, make_peer) -> None:
        """A cancelled text reply ends with output_text.done, content_part.done (text so far)."""
        long_text = " ".join(["word"] * 400)  # 400 deltas, 8 s of model time
        server = make_server(speed=1.0, responder=lambda _: TextReply(text=long_text))
        peer, _ = _start(server, make_peer)
        peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        events = peer.until("response.output_text.delta")
        peer.send({"type": "response.cancel"})
        events += peer.until("response.done")
        sent = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        assert [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ] == types(events)[-5:]
        assert sent == events[-5]["text"]
        assert [{"type": "output_text", "text": sent}] == events[-3]["item"]["content"]

    def test_function_call(self, make_server, make_peer) -> None:
        """A cancelled function call ends with function_call_arguments.done (arguments so far)."""
        arguments = '{"city": "' + "x " * 300 + '"}'
        server = make_server(
            speed=1.0, responder=lambda _: FunctionCallReply(name="lookup", arguments=arguments)
        )
        peer, _ = _start(server, make_peer)
        peer.send({"type": "response.create"})
        events = peer.until("response.function_call_arguments.delta")
        peer.send({"type": "response.cancel"})
        events += peer.until("response.done")
        sent = "".join(
            e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"
        )
        assert [
            "response.function_call_arguments.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ] == types(events)[-4:]
        assert (sent, "incomplete") == (events[-4]["arguments"], events[-3]["item"]["status"])


class TestBargeIn:
    def test_speech_started_comes_before_the_cancelled_responses_end(
        self, make_server, make_peer
    ) -> None:
        """Server VAD barge-in: speech_started, then the open part's .done events, response.done.

        The whole exchange keeps the protocol's order and leaves nothing open.
        """
        server = _audio_server(make_server, seconds=5)
        peer, connection = _start(server, make_peer)
        peer.send({"type": "response.create"})
        events = peer.until("response.output_audio.delta")
        peer.append(speech_fixture(lead_ms=0, speech_ms=300, tail_ms=0))
        events += peer.until("response.done")
        order = types(events)
        assert ["input_audio_buffer.speech_started", *CLOSING_AUDIO] == order[-7:]
        assert "turn_detected" == events[-1]["response"]["status_details"]["reason"]
        connection.wait_for_sent("rate_limits.updated")
        assert_order(wire_events(connection.sent), complete=True)

    def test_audio_start_ms_includes_the_prefix_padding(self, make_server, make_peer) -> None:
        """speech_started.audio_start_ms is where the committed audio starts (detection - padding)."""
        server = make_server(speed=1.0)
        peer, _ = _start(server, make_peer)
        peer.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {
                            "turn_detection": {"type": "server_vad", "prefix_padding_ms": 100}
                        }
                    },
                },
            }
        )
        peer.until("session.updated")
        peer.append(speech_fixture(lead_ms=700, speech_ms=400, tail_ms=700))
        started = peer.until("input_audio_buffer.speech_started")[-1]
        assert abs(started["audio_start_ms"] - 600) <= 30


class TestRetrieve:
    def test_assistant_audio_item_carries_its_audio(self, make_server, make_peer) -> None:
        """conversation.item.retrieved has the item's audio (base64) and its transcript."""
        reply = AudioReply(transcript="all of it", audio=SECOND[: len(SECOND) // 4])
        server = make_server(responder=lambda _: reply)
        peer, _ = _start(server, make_peer)
        peer.send({"type": "response.create"})
        events = peer.until("response.done")
        item_id = events[-1]["response"]["output"][0]["id"]
        assert "audio" not in events[-1]["response"]["output"][0]["content"][0]
        peer.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = peer.until("conversation.item.retrieved")[-1]["item"]
        content = item["content"][0]
        assert (_audio_bytes(events, item_id), "all of it", "completed") == (
            base64.b64decode(content["audio"]),
            content["transcript"],
            item["status"],
        )

    def test_item_still_streaming_has_the_audio_sent_so_far(self, make_server, make_peer) -> None:
        """A retrieve mid-reply returns exactly the audio the client received before it."""
        server = _audio_server(make_server)
        peer, _ = _start(server, make_peer)
        peer.send({"type": "response.create"})
        events = peer.until("response.output_audio.delta")
        item_id = events[-1]["item_id"]
        peer.send({"type": "conversation.item.retrieve", "item_id": item_id})
        events += peer.until("conversation.item.retrieved")
        item = events[-1]["item"]
        assert ("in_progress", _audio_bytes(events, item_id)) == (
            item["status"],
            base64.b64decode(item["content"][0]["audio"]),
        )


def _audio_ms(events: list[dict[str, Any]]) -> int:
    return (
        len(
            b"".join(
                base64.b64decode(e["delta"])
                for e in events
                if e["type"] == "response.output_audio.delta"
            )
        )
        // 48
    )


class TestPauseReply:
    def test_barge_in_at_a_chosen_millisecond(self, make_server, make_peer) -> None:
        """pause_reply(at_audio_ms=1000) holds the reply at 1000 ms of audio until speech cuts it.

        At full speed the reply would be over before the test could speak; held,
        the barge-in lands at the chosen point on any machine.
        """
        reply = AudioReply(transcript="a long reply " * 10, audio=SECOND * 5)
        server = make_server(responder=lambda _: reply)  # speed: as fast as possible
        peer, connection = _start(server, make_peer)
        connection.pause_reply(at_audio_ms=1000)
        peer.send({"type": "response.create"})
        events: list[dict[str, Any]] = []
        while _audio_ms(events) < 1000:
            events += peer.until("response.output_audio.delta")
        peer.append(speech_fixture(lead_ms=0, speech_ms=300, tail_ms=0))
        events += peer.until("response.done")
        assert 1000 <= _audio_ms(events) < 1200  # one 200 ms chunk at most past the point
        assert ["input_audio_buffer.speech_started", *CLOSING_AUDIO] == types(events)[-7:]
        assert "turn_detected" == events[-1]["response"]["status_details"]["reason"]

    def test_truncate_at_a_chosen_millisecond(self, make_server, make_peer) -> None:
        """Held at 1000 ms, a truncate at 700 ms cuts the item there and ends the hold."""
        reply = AudioReply(transcript="a long reply " * 10, audio=SECOND * 5)
        server = make_server(responder=lambda _: reply)
        peer, connection = _start(server, make_peer)
        connection.pause_reply(at_audio_ms=1000)
        peer.send({"type": "response.create"})
        events: list[dict[str, Any]] = []
        while _audio_ms(events) < 1000:
            events += peer.until("response.output_audio.delta")
        item_id = events[-1]["item_id"]
        peer.send(_truncate(item_id, 700))
        events += peer.until("response.done")
        assert CLOSING_AUDIO == types(events)[-6:]
        peer.send({"type": "conversation.item.retrieve", "item_id": item_id})
        item = peer.until("conversation.item.retrieved")[-1]["item"]
        assert 700 * 48 == len(base64.b64decode(item["content"][0]["audio"]))

    def test_resume_lets_the_reply_finish(self, make_server, make_peer) -> None:
        """resume() ends the hold: the reply completes with all its audio."""
        reply = AudioReply(transcript="short", audio=SECOND)
        server = make_server(responder=lambda _: reply)
        peer, connection = _start(server, make_peer)
        connection.pause_reply(at_audio_ms=300)
        peer.send({"type": "response.create"})
        events: list[dict[str, Any]] = []
        while _audio_ms(events) < 300:
            events += peer.until("response.output_audio.delta")
        connection.resume()
        events += peer.until("response.done")
        assert (1000, "completed") == (_audio_ms(events), events[-1]["response"]["status"])

    def test_negative_point_is_refused(self, server: FakeRealtimeServer, peer: Peer) -> None:
        """A negative at_audio_ms is a caller error, raised at once."""
        with pytest.raises(ValueError, match="at_audio_ms"):
            server.wait_for_connection().pause_reply(at_audio_ms=-1)


_CLOSING = [
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
]


def _logic(sent: list[Any]) -> Any:
    """The server's session logic alone, driven as its connection's worker drives it."""
    import math

    from realtime_client.testing._server._config import initial_realtime_session
    from realtime_client.testing._server._session import SessionLogic
    from realtime_client.testing._server._settings import ServerSettings

    class Connection:
        def _note_error(self, error: Any) -> None:
            pass

    pcm = b"\x00\x10" * 24 * 300
    return SessionLogic(
        settings=ServerSettings(
            speed=math.inf, responder=lambda r: AudioReply(transcript="a b", audio=pcm)
        ),
        session=initial_realtime_session(model="m", max_duration_s=60),
        send=sent.append,
        connection=Connection(),
    )


class TestClosingInterleaved:
    """A cancel or a truncation landing between an item's closing events."""

    @pytest.mark.parametrize("after", _CLOSING)
    def test_a_cancel_between_closing_events_sends_each_once_then_done(self, after) -> None:
        """However late response.cancel comes (after any of the item's closing
        events, with the next one already produced), the client gets each closing
        event exactly once and then response.done, status cancelled: the done a
        client waits for is never lost, and nothing is repeated."""
        from realtime_client.events import ResponseCancelEvent

        sent: list[Any] = []
        logic = _logic(sent)
        logic.start_response(None)
        for _ in range(10_000):  # bounded: until the chosen event went out
            if sent and sent[-1].type == after:
                break
            assert logic.pump() or logic.next_due() is not None
        logic.next_due()  # the worker produces the next event before it reads a frame
        logic.handle(ResponseCancelEvent())
        for _ in range(100):
            if not logic.pump():
                break
        kinds = [event.type for event in sent]
        for kind in _CLOSING[1:]:
            assert 1 == kinds.count(kind), (kind, kinds)
        assert 1 == kinds.count("response.done")
        done = next(event for event in sent if event.type == "response.done")
        assert "cancelled" == done.response.status
        assert kinds.index("conversation.item.done") < kinds.index("response.done")

    def test_a_truncate_after_the_last_delta_still_closes_the_audio(self) -> None:
        """A barge-in truncating the item after its last audio delta, while its
        output_audio.done is already produced but not sent, still gets
        output_audio.done, and the item ends incomplete."""
        from realtime_client.events import ConversationItemTruncateEvent

        sent: list[Any] = []
        logic = _logic(sent)
        logic.start_response(None)
        for _ in range(10_000):  # bounded: until the last audio delta went out
            logic.pump()
            logic.next_due()  # the worker's next turn produces the next event
            if logic._next is not None and logic._next[1].type == "response.output_audio.done":
                break
        else:
            raise AssertionError("output_audio.done was never produced")
        item_id = next(e.item_id for e in sent if e.type == "response.output_audio.delta")
        logic.handle(
            ConversationItemTruncateEvent(item_id=item_id, content_index=0, audio_end_ms=100)
        )
        for _ in range(100):
            if not logic.pump():
                break
        kinds = [event.type for event in sent]
        assert 1 == kinds.count("response.output_audio.done")
        item_done = next(e for e in sent if e.type == "response.output_item.done")
        assert "incomplete" == item_done.item.status
        assert kinds.index("conversation.item.truncated") < kinds.index(
            "response.output_audio.done"
        )
