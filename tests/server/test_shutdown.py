"""stop(): bounded in time, no thread left, the close code the server sent."""

from __future__ import annotations

import math
import threading
import time

import websocket

from realtime_client.testing import FakeRealtimeServer
from realtime_client.testing._server import AudioReply

from .conftest import Peer

LONG_AUDIO = b"\x01\x00" * 24000 * 600  # ten minutes: far more than any socket buffers


def _server_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("realtime-server-")]


class TestStop:
    def test_client_that_never_reads(self, make_peer) -> None:
        """A send blocked on a client that never reads does not hold stop() past its timeout."""
        server = FakeRealtimeServer(
            speed=math.inf,
            speech_engine="synthetic",
            responder=[AudioReply(transcript="a long answer", audio=LONG_AUDIO)],
        ).start()
        peer = make_peer(server.url)
        peer.until("conversation.created")
        peer.send({"type": "response.create"})
        server.wait_for_connection().wait_for_sent("response.output_audio.delta")
        # stop() on a helper thread, so that a hang fails this test instead of the run
        stopper = threading.Thread(target=server.stop, kwargs={"timeout": 1.0})
        started = time.monotonic()
        stopper.start()
        stopper.join(10)
        elapsed = time.monotonic() - started

        assert not stopper.is_alive()
        assert elapsed < 1.5
        assert [] == _server_threads()

    def test_close_code_is_what_the_server_sent(self) -> None:
        """After stop(), close_code is the 1001 the server sent, not the client's reply."""
        server = FakeRealtimeServer(speed=1.0, speech_engine="synthetic").start()
        peer = Peer(server.url)
        try:
            peer.until("conversation.created")
            got: list[tuple[int, str]] = []

            def answer_close() -> None:  # replies to the close frame with its own code 1000
                opcode, data = peer.ws.recv_data(control_frame=True)
                while opcode != websocket.ABNF.OPCODE_CLOSE:
                    opcode, data = peer.ws.recv_data(control_frame=True)
                got.append((int.from_bytes(data[:2], "big"), data[2:].decode()))
                peer.ws.send_close(1000)
                peer.ws.shutdown()  # the client ends TCP: the server need not wait for it

            reader = threading.Thread(target=answer_close, name="test-reader")
            reader.start()
            server.stop()
            reader.join(5)
        finally:
            peer.close()
        conn = server.wait_for_connection()
        assert [(1001, "")] == got
        assert (1001, "") == (conn.close_code, conn.close_reason)


class TestKeepClosed:
    def test_a_server_that_runs_for_ever_lets_go_of_ended_connections(self) -> None:
        """With keep_closed=False (what ``realtime-client serve`` uses), a connection
        that ended is dropped with its traffic and its socket, conversation and
        translation alike, so a long-running server does not grow with every
        connection it ever had."""
        with FakeRealtimeServer(speed=math.inf, keep_closed=False) as server:
            for _ in range(3):
                peer = Peer(server.url)
                assert "session.created" == peer.recv()["type"]
                connection = server.wait_for_connection(0)
                peer.close()
                assert connection.wait_closed()
                assert [] == server.connections
            peer = Peer(server.base_url + "/realtime/translations?model=gpt-realtime-translate")
            assert "session.created" == peer.recv()["type"]
            translation = server.translations.wait_for_connection(0)
            peer.close()
            assert translation.wait_closed()
            assert [] == server.translations.connections
            assert [] == server._sockets  # closed connections' sockets are let go

    def test_by_default_every_connection_stays_for_the_test_to_inspect(self) -> None:
        """The default keeps every ended connection (tests read their traffic)."""
        with FakeRealtimeServer(speed=math.inf) as server:
            for _ in range(2):
                peer = Peer(server.url)
                peer.recv()
                peer.close()
            assert server.wait_for_connection(1).wait_closed()
            assert 2 == len(server.connections)
