"""Rollover at the session limit and the summary hook (#12 item 3)."""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import Any

from realtime_client import (
    ConversationClient,
    ConversationOptions,
    ReconnectPolicy,
    SessionReconnected,
)
from realtime_client.testing import FakeRealtimeServer

KEY = "sk-test"
WAIT = 10.0


def _open(server: FakeRealtimeServer, policy: ReconnectPolicy) -> Any:
    client = ConversationClient(base_url=server.base_url, api_key=KEY)
    options = ConversationOptions(reconnect=policy, output_modalities=["text"])
    session = client.start_conversation(options=options)
    seen: queue.Queue[SessionReconnected] = queue.Queue()
    session.on("session.reconnected", seen.put)
    return session, seen


def _roles(server: FakeRealtimeServer, index: int) -> list[str]:
    conn = server.wait_for_connection(index)
    assert conn.logic is not None
    return [getattr(item, "role", item.type) for item in conn.logic.conversation.items]


class TestRollover:
    def test_moves_before_the_limit_between_turns(self) -> None:
        """With a 4 s limit and a 1 s margin the session moves to a new connection
        before the server ends it: the old one closes with 1000 from the client,
        the items are replayed, and the conversation goes on."""
        with FakeRealtimeServer(api_key=KEY, speed=50, max_session_duration=4) as server:
            session, seen = _open(server, ReconnectPolicy(rollover_margin=1.0))
            with session:
                session.ask("one", timeout=WAIT)
                notice = seen.get(timeout=WAIT)
                assert (True, "rollover", 2) == (
                    notice.rollover,
                    notice.reason,
                    notice.items_replayed,
                )
                old = server.wait_for_connection(0)
                assert old.wait_closed(WAIT)
                assert 1000 == old.close_code
                session.ask("two", timeout=WAIT)
                assert ["user", "assistant", "user", "assistant"] == _roles(server, 1)

    def test_expiry_by_the_server_reconnects(self) -> None:
        """Rollover off: the server's 1001 at the limit is followed by a reconnection."""
        with FakeRealtimeServer(api_key=KEY, speed=50, max_session_duration=1) as server:
            session, seen = _open(server, ReconnectPolicy(rollover=False))
            with session:
                session.ask("one", timeout=WAIT)
                notice = seen.get(timeout=WAIT)
                assert ("expired", False) == (notice.reason, notice.rollover)
                assert 1001 == server.wait_for_connection(0).close_code
                assert "two" in session.ask("two", timeout=WAIT).text

    def test_a_summary_replaces_the_oldest_items(self) -> None:
        """Beyond max_replay_items the hook's summary is replayed as a system message
        instead of the oldest items, which leave the local state too."""
        given: list[Sequence[dict[str, Any]]] = []

        def summarize(items: Sequence[dict[str, Any]]) -> str:
            given.append(items)
            return f"{len(items)} earlier items"

        policy = ReconnectPolicy(max_replay_items=3, summarize=summarize)
        with FakeRealtimeServer(api_key=KEY, speed=50) as server:
            session, seen = _open(server, policy)
            with session:
                for text in ("a", "b", "c"):
                    session.ask(text, timeout=WAIT)
                done: queue.Queue[Any] = queue.Queue()
                session.on("conversation.item.done", done.put)  # the replay's echoes
                server.wait_for_connection(0).drop()
                assert 3 == seen.get(timeout=WAIT).items_replayed
                assert [4] == [len(items) for items in given]
                server.wait_for_connection(1).wait_for_sent("conversation.item.done", count=3)
                assert ["system", "user", "assistant"] == _roles(server, 1)
                conn = server.wait_for_connection(1)
                assert conn.logic is not None
                first = conn.logic.conversation.items[0]
                assert "4 earlier items" == first.content[0].text  # type: ignore[union-attr]
                for _ in range(3):  # the state is updated before callbacks run
                    done.get(timeout=WAIT)
                assert 3 == len(session.items)

    def test_manual_turns_wait_for_the_commit(self) -> None:
        """With turn_detection=None, audio appended and not committed holds the
        rollover (the server's input buffer would be lost); after the commit it goes."""
        with FakeRealtimeServer(api_key=KEY, speed=50) as server:
            client = ConversationClient(base_url=server.base_url, api_key=KEY)
            options = ConversationOptions(reconnect=True, turn_detection=None)
            with client.start_conversation(options=options) as session:
                seen: queue.Queue[SessionReconnected] = queue.Queue()
                session.on("session.reconnected", seen.put)
                reconnector = session._core.reconnector
                assert reconnector is not None
                later = 1e12  # far past the limit
                session.send_audio(bytes(4800))
                assert reconnector.rollover_due(later) is not None  # held: look again
                assert seen.empty()
                session.commit_audio()
                assert reconnector.rollover_due(later) is None  # started
                assert seen.get(timeout=WAIT).rollover


class TestCloseDuringRollover:
    def test_close_from_a_callback_of_the_retiring_connection(self, monkeypatch) -> None:
        """A turn still running on the old connection during a rollover, whose
        callback closes the session: close() returns at once (it does not wait for
        the rollover, which waits for that very callback's thread), and the
        iterator ends instead of waiting forever."""
        import threading
        import time

        from realtime_client import _reconnect

        created = threading.Event()
        holder: dict[str, Any] = {}
        open_new = _reconnect.Reconnector._open_new

        def open_new_during_a_turn(self: Any) -> Any:
            holder["session"].create_response()  # a turn on the old connection
            assert created.wait(WAIT)
            return open_new(self)

        monkeypatch.setattr(_reconnect.Reconnector, "_open_new", open_new_during_a_turn)
        with FakeRealtimeServer(api_key=KEY, speed=5, max_session_duration=4) as server:
            client = ConversationClient(base_url=server.base_url, api_key=KEY, close_timeout=2.0)
            session = client.start_conversation(
                options=ConversationOptions(
                    reconnect=ReconnectPolicy(rollover_margin=1.0), output_modalities=["text"]
                )
            )
            holder["session"] = session
            took: list[float] = []

            def close_in_callback(_: object) -> None:
                started = time.monotonic()
                session.close()
                took.append(time.monotonic() - started)

            session.on("response.created", lambda _: created.set())
            session.on("response.done", close_in_callback)
            for _ in session.events(timeout=WAIT):  # ends: no WaitTimeoutError
                pass
            assert session.closed
            assert 1 == len(took)
            assert took[0] < 1.0, took  # well under close_timeout (2 s)
