"""Input audio with VAD, transcription, idle timeout; faults, limits, concurrency, replay."""

from __future__ import annotations

import json
import threading

import pytest
import websocket

from realtime_client.testing import FakeRealtimeServer
from realtime_client.testing._server import MAX_DURATION_REASON, load_traffic

from .conftest import Peer, speech_fixture, types

TOLERANCE_MS = 30  # three 10 ms VAD frames


class TestVad:
    def test_speech_timing_commit_and_auto_response(self, peer: Peer) -> None:
        """speech_started/stopped match the fixture; the turn is committed and answered.

        audio_start_ms includes the 300 ms prefix padding (speech at 500 ms: 200 ms),
        as the spec says: it is where the audio sent to the model begins.
        """
        peer.append(speech_fixture(lead_ms=500, speech_ms=1000, tail_ms=1000))
        events = peer.until("response.done")
        started = next(e for e in events if e["type"] == "input_audio_buffer.speech_started")
        stopped = next(e for e in events if e["type"] == "input_audio_buffer.speech_stopped")
        assert abs(started["audio_start_ms"] - (500 - 300)) <= TOLERANCE_MS
        assert abs(stopped["audio_end_ms"] - (1500 + 500)) <= TOLERANCE_MS
        assert started["item_id"] == stopped["item_id"]
        order = types(events)
        assert (
            order.index("input_audio_buffer.speech_stopped")
            < order.index("input_audio_buffer.committed")
            < order.index("conversation.item.added")
            < order.index("response.created")
        )
        transcript = "".join(
            e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
        )
        # no transcription configured: the default model says how much speech it got
        # (prefix padding 300 + speech 1000 + silence 500 ms)
        assert "I heard 1.8 seconds of speech" in transcript

    def test_threshold_from_session(self, peer: Peer) -> None:
        """Audio below the session's threshold is not speech."""
        peer.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {
                        "input": {"turn_detection": {"type": "server_vad", "threshold": 0.95}}
                    },
                },
            }
        )
        peer.until("session.updated")
        peer.append(speech_fixture(lead_ms=100, speech_ms=600, tail_ms=800))
        peer.send({"type": "input_audio_buffer.clear"})
        assert ["input_audio_buffer.cleared"] == types(peer.until("input_audio_buffer.cleared"))

    def test_manual_turns_and_short_commit(self, peer: Peer) -> None:
        """turn_detection null: nothing until commit; a too-short buffer is the real error."""
        peer.send(
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
            }
        )
        peer.until("session.updated")
        peer.append(b"\x00\x00" * 1200)  # 50 ms
        peer.send({"type": "input_audio_buffer.commit", "event_id": "c"})
        error = peer.recv()
        assert "input_audio_buffer_commit_empty" == error["error"]["code"]
        peer.append(speech_fixture(lead_ms=0, speech_ms=500, tail_ms=0))
        peer.send({"type": "input_audio_buffer.commit"})
        assert [
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.done",
        ] == types(peer.until("conversation.item.done"))

    def test_interrupt_response(self, make_server, make_peer) -> None:
        """Speech during a response: speech_started first, then the cancelled response's end."""
        server = make_server(speed=1.0)
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send({"type": "response.create"})
        peer.until("response.output_audio.delta")
        peer.append(speech_fixture(lead_ms=0, speech_ms=300, tail_ms=0))
        events = peer.until("response.done")
        order = types(events)
        assert order.index("input_audio_buffer.speech_started") < order.index(
            "response.output_audio.done"
        )
        assert [
            "response.output_audio.done",
            "response.output_audio_transcript.done",
            "response.content_part.done",
            "response.output_item.done",
            "conversation.item.done",
            "response.done",
        ] == order[-6:]
        done = events[-1]
        assert ("cancelled", "turn_detected") == (
            done["response"]["status"],
            done["response"]["status_details"]["reason"],
        )

    def test_input_transcription(self, make_server, make_peer) -> None:
        """With transcription configured: delta and completed (with usage) for the user item."""
        server = make_server(transcribe="turn on the lights")
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
                },
            }
        )
        peer.until("session.updated")
        peer.append(speech_fixture(lead_ms=200, speech_ms=600, tail_ms=700))
        events = peer.until("response.done")
        completed = next(
            e
            for e in events
            if e["type"] == "conversation.item.input_audio_transcription.completed"
        )
        assert "turn on the lights" == completed["transcript"]
        assert "tokens" == completed["usage"]["type"]
        text = "".join(
            e["delta"] for e in events if e["type"] == "response.output_audio_transcript.delta"
        )
        assert 'You said: "turn on the lights"' == text

    def test_idle_timeout(self, make_server, make_peer) -> None:
        """idle_timeout_ms after a response without speech gives timeout_triggered and a reply."""
        server = make_server(speed=100.0)
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "output_modalities": ["text"],
                    "audio": {
                        "input": {
                            "turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}
                        }
                    },
                },
            }
        )
        peer.until("session.updated")
        peer.send({"type": "response.create"})
        events = peer.until("input_audio_buffer.timeout_triggered")
        assert "rate_limits.updated" in types(events)
        assert "input_audio_buffer.committed" == peer.recv()["type"]


class TestFaults:
    def test_close_mid_response(self, server: FakeRealtimeServer, peer: Peer) -> None:
        """close(after=...) closes with the code right after that event."""
        server.wait_for_connection().close(1011, "boom", after="response.output_audio.delta")
        peer.send({"type": "response.create"})
        peer.until("response.output_audio.delta")
        assert (1011, "boom") == peer.wait_close()
        conn = server.wait_for_connection()
        assert conn.wait_closed()
        assert 1011 == conn.close_code

    def test_drop_tcp(self, server: FakeRealtimeServer, peer: Peer) -> None:
        """drop() ends the TCP connection without a close frame."""
        server.wait_for_connection().drop()
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            peer.recv()

    def test_stall_and_send_raw(self, server: FakeRealtimeServer, peer: Peer) -> None:
        """A stalled server holds events; raw frames go out exactly as given."""
        conn = server.wait_for_connection()
        conn.stall()
        peer.send({"type": "input_audio_buffer.clear"})
        conn.send_raw("{not json")
        conn.resume()
        assert "{not json" == peer.ws.recv()
        assert "input_audio_buffer.cleared" == peer.recv()["type"]

    def test_max_session_duration(self, make_server, make_peer) -> None:
        """At the limit the session closes with 1001 and the service's reason."""
        server = make_server(max_session_duration=0.2)
        peer = make_peer(server.url)
        peer.until("conversation.created")
        assert (1001, MAX_DURATION_REASON) == peer.wait_close()
        conn = server.wait_for_connection()
        assert conn.wait_closed()
        assert (1001, MAX_DURATION_REASON) == (conn.close_code, conn.close_reason)


def test_concurrent_sessions(server: FakeRealtimeServer, make_peer) -> None:
    """Many connections at once each get their own session and conversation."""
    peers = [make_peer(server.url) for _ in range(6)]
    results: dict[int, str] = {}

    def talk(i: int, peer: Peer) -> None:
        peer.until("conversation.created")
        peer.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": f"n{i}"}],
                },
            }
        )
        peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        results[i] = peer.until("response.output_text.done")[-1]["text"]

    threads = [
        threading.Thread(target=talk, args=(i, p), name=f"test-peer-{i}")
        for i, p in enumerate(peers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert {i: f'You said: "n{i}"' for i in range(6)} == results
    assert 6 == len({c.session.id for c in server.connections if c.session})  # type: ignore[union-attr]


def test_stop_leaves_no_threads(make_peer) -> None:
    """stop() with open connections ends every server thread."""
    server = FakeRealtimeServer(speed=1.0, speech_engine="synthetic").start()
    peer = make_peer(server.url)
    peer.until("conversation.created")
    peer.send({"type": "response.create"})
    peer.until("response.output_audio.delta")
    server.stop()
    alive = [t.name for t in threading.enumerate() if t.name.startswith("realtime-server-")]
    assert [] == alive


def test_record_and_replay(tmp_path, make_server, make_peer) -> None:
    """A recorded session's server side replays against a new client, frame for frame."""
    server = make_server(record_dir=tmp_path)
    peer = make_peer(server.url)
    peer.until("conversation.created")
    peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    original = peer.until("rate_limits.updated")
    peer.close()
    assert server.wait_for_connection().wait_closed()
    recording = tmp_path / f"server-{server.recording_tag}-connection-0.jsonl"
    entries = load_traffic(recording)
    assert ["server", "server", "client"] == [e.sender for e in entries[:3]]
    assert entries[-1].frame is None  # the close

    replay = make_server(replay=recording)
    again = make_peer(replay.url)
    assert ["session.created", "conversation.created"] == [
        again.recv()["type"],
        again.recv()["type"],
    ]
    again.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    replayed = again.until("rate_limits.updated")
    assert original == replayed
    assert [] == replay.wait_for_connection().replay_mismatches


def test_bad_recording_is_rejected(tmp_path) -> None:
    """A file that is not a recording fails at construction, naming the problem."""
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"format": "realtime-client-traffic"}) + '\n{"t": -1}\n')
    with pytest.raises(ValueError, match="line 2"):
        FakeRealtimeServer(replay=path)


class TestRecordDir:
    def test_created_when_missing(self, tmp_path, make_server, make_peer) -> None:
        """A record_dir that does not exist yet is created, and the recording lands in it."""
        folder = tmp_path / "a" / "b"
        server = make_server(record_dir=folder)
        assert folder.is_dir()
        make_peer(server.url).close()
        assert server.wait_for_connection().wait_closed()
        name = f"server-{server.recording_tag}-connection-0.jsonl"
        assert [name] == [p.name for p in folder.iterdir()]

    def test_two_servers_share_a_folder(self, tmp_path, make_server, make_peer) -> None:
        """Two servers recording into one folder keep both recordings."""
        servers = [make_server(record_dir=tmp_path) for _ in range(2)]
        for server in servers:
            make_peer(server.url).close()
            assert server.wait_for_connection().wait_closed()
        assert 2 == len({s.recording_tag for s in servers})
        assert 2 == len(list(tmp_path.glob("server-*-connection-0.jsonl")))

    def test_impossible_folder_fails_early(self, tmp_path) -> None:
        """A record_dir that cannot be created fails at construction, naming it."""
        blocker = tmp_path / "file"
        blocker.write_text("")
        with pytest.raises(ValueError, match=r"record_dir .*file/sub.* cannot be created"):
            FakeRealtimeServer(record_dir=blocker / "sub")
