"""One meaning per exception: what the network did, what the app's own wait did,
and what the caller got wrong are told apart."""

from __future__ import annotations

import pytest

from realtime_client import (
    ConnectionClosedError,
    SendQueueFullError,
    SessionClosedError,
    TransportError,
    UsageError,
    WaitTimeoutError,
)
from realtime_client import events as ev
from realtime_client._config import ConversationOptions
from realtime_client.session import ConversationSession
from realtime_client.testing import FakeTransport

WAIT = 5.0


class TestHandles:
    def test_a_handle_the_network_ended_fails_with_the_close_error(self):
        """The server or the network ending the session fails a waiting handle with
        that ConnectionClosedError, not a misuse error."""
        fake = FakeTransport()
        with ConversationSession(transport=fake) as session:
            handle = session.create_response()
            fake.wait_for_type("response.create")
            fake.close_from_server(1011, "server trouble")
            with pytest.raises(ConnectionClosedError, match="1011") as raised:
                handle.result(WAIT)
            assert not isinstance(raised.value, UsageError)
            assert handle.future.done()

    def test_a_handle_the_app_closed_fails_with_session_closed(self):
        """Closing the session yourself fails a waiting handle with SessionClosedError."""
        fake = FakeTransport()
        session = ConversationSession(transport=fake).open()
        handle = session.create_response()
        session.close()
        with pytest.raises(SessionClosedError):
            handle.result(WAIT)

    def test_the_handle_is_a_future(self):
        """handle.future is a concurrent.futures.Future of the turn."""
        fake = FakeTransport()
        with ConversationSession(transport=fake) as session:
            handle = session.create_response()
            sent = fake.wait_for_type("response.create")
            tag = sent["response"]["metadata"]["realtime_client.request"]
            response = {"id": "r1", "metadata": {"realtime_client.request": tag}}
            fake.push({"type": "response.created", "event_id": "e1", "response": response})
            fake.push(
                {
                    "type": "response.done",
                    "event_id": "e2",
                    "response": {**response, "status": "completed", "output": []},
                }
            )
            assert "r1" == handle.future.result(WAIT).response_id


class TestWaits:
    def test_waits_in_the_apps_own_calls_are_not_transport_errors(self):
        """events(timeout) and a full send queue raise WaitTimeoutError (a TimeoutError),
        never a TransportError: the connection is fine."""
        fake = FakeTransport()
        fake.pause_sends()
        options = ConversationOptions(send_queue_size=1)
        session = ConversationSession(transport=fake, options=options, close_timeout=0.2).open()
        try:
            with pytest.raises(WaitTimeoutError) as waited:
                next(session.events(timeout=0.01))
            assert not isinstance(waited.value, TransportError)
            refused = None
            for _ in range(10):  # bounded: the writer holds one, the queue one
                try:
                    session.send_audio(b"\0\0", timeout=0)
                except SendQueueFullError as exc:
                    refused = exc
                    break
            assert isinstance(refused, WaitTimeoutError)
            assert isinstance(refused, TimeoutError)
            assert not isinstance(refused, TransportError)
        finally:
            fake.resume_sends()
            session.close()


class TestCallerMistakes:
    def test_a_bad_event_field_is_a_value_error(self):
        """A field of the wrong type in an event the app built raises ValueError
        naming the field, not ProtocolError (which is for server frames)."""
        fake = FakeTransport()
        with ConversationSession(transport=fake) as session:
            with pytest.raises(ValueError, match="item_id"):
                session.send(ev.ConversationItemDeleteEvent(item_id=7))  # type: ignore[arg-type]
            assert [] == fake.sent
