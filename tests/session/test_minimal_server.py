"""Against a minimal server written for the tests: it sends only what the spec
requires (no metadata echo, no optional fields), plus fields and events this
client does not know. Responses still match their requests, without a stall."""

from __future__ import annotations

import time
from typing import Any

from realtime_client._config import ConversationOptions
from realtime_client.client import ConversationClient
from tests.session._peers import PeerConnection, RawPeer

WAIT = 5.0


def _minimal_server(connection: PeerConnection) -> None:
    """Answers every response.create with response.created / response.done carrying
    only required fields (and unknown ones), never the request's metadata."""
    number = 0
    try:
        for _ in range(100):  # bounded
            event = connection.read_event()
            if event["type"] != "response.create":
                continue
            number += 1
            rid = f"resp_{number}"
            response: dict[str, Any] = {"id": rid, "future_field": {"nested": [1, 2]}}
            connection.send_event(
                {"type": "response.created", "event_id": f"e{number}a", "response": response}
            )
            connection.send_event({"type": "response.brand_new_event", "event_id": "x"})
            done = {**response, "status": "completed", "output": []}
            connection.send_event(
                {"type": "response.done", "event_id": f"e{number}b", "response": done}
            )
    except (ConnectionError, OSError):
        return


class TestServerWithoutMetadataEcho:
    def test_each_response_matches_its_request_without_waiting(self):
        """Three create_response() in a row each finish with the server's response,
        long before response_start_timeout: the untagged response.created goes to the
        oldest request in flight."""
        with RawPeer(_minimal_server) as peer:
            client = ConversationClient(base_url=peer.base_url, api_key="sk-test")
            options = ConversationOptions(response_start_timeout=60.0)
            with client.start_conversation(options=options) as session:
                started = time.monotonic()
                handles = [session.create_response() for _ in range(3)]
                turns = [h.result(timeout=WAIT) for h in handles]
                assert ["resp_1", "resp_2", "resp_3"] == [t.response_id for t in turns]
                assert ["completed"] * 3 == [t.status for t in turns]
                assert time.monotonic() - started < WAIT  # no response_start_timeout stall
                assert not session.closed  # unknown fields and events are not fatal
