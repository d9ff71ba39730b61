"""Reconnection against a minimal server written for the tests: it sends only what the
spec requires (session.created without expires_at, no item events, no metadata echo)."""

from __future__ import annotations

import queue
import threading
from typing import Any

from realtime_client import ConversationClient, ConversationOptions
from tests.session._peers import PeerConnection, RawPeer

WAIT = 5.0


class _Server:
    """Connection 1 drops (no close frame) at the first response.create; connection 2
    records what it receives and answers each response.create minimally."""

    def __init__(self) -> None:
        self.connections = 0
        self.second: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def __call__(self, connection: PeerConnection) -> None:
        with self._lock:
            self.connections += 1
            number = self.connections
        try:
            for _ in range(100):  # bounded
                event = connection.read_event()
                if number == 1:
                    if event["type"] == "response.create":
                        return  # the peer ends the TCP connection: a drop
                    continue
                self.second.put(event)
                if event["type"] == "response.create":
                    response = {"id": "resp_1"}
                    connection.send_event(
                        {"type": "response.created", "event_id": "a", "response": response}
                    )
                    done = {**response, "status": "completed", "output": []}
                    connection.send_event(
                        {"type": "response.done", "event_id": "b", "response": done}
                    )
        except (ConnectionError, OSError):
            return


class TestMinimalServer:
    def test_a_drop_before_the_answer_resends_the_question_and_the_request(self) -> None:
        """The drop comes before the server reported the user's message: the new
        connection gets the configuration, the message (sent again, same id) and the
        request, in that order, and ask() returns the second connection's answer."""
        server = _Server()
        with RawPeer(server) as peer:
            client = ConversationClient(
                base_url=peer.base_url, api_key="sk-test", close_timeout=0.5
            )
            options = ConversationOptions(reconnect=True, instructions="short answers")
            with client.start_conversation(options=options) as session:
                turn = session.ask("are you there?", timeout=WAIT)
                assert ("resp_1", "completed") == (turn.response_id, turn.status)
            kinds = []
            while not server.second.empty():
                kinds.append(server.second.get())
        types = [e["type"] for e in kinds]
        assert types[:3] == ["session.update", "conversation.item.create", "response.create"]
        assert "short answers" == kinds[0]["session"]["instructions"]
        assert "are you there?" == kinds[1]["item"]["content"][0]["text"]
        assert 2 == server.connections
