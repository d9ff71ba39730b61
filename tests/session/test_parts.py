"""The session's parts on their own: the termination record, the connection's
classification of an end, and the event pump."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from realtime_client import (
    ConnectionClosedError,
    ProtocolError,
    SessionExpiredError,
    WaitTimeoutError,
)
from realtime_client import events as ev
from realtime_client._callbacks import CallbackRegistry
from realtime_client._connection import EndCause, Termination, classify_close
from realtime_client._pump import BATCH_MAX, EventPump


class TestTermination:
    def test_the_first_cause_wins(self):
        """An app close racing a server close: whichever is recorded first is kept."""
        record = Termination()
        assert record.record(EndCause.CLOSED_BY_APP)
        error = ConnectionClosedError("gone", code=1011)
        assert not record.record(EndCause.CLOSED_BY_SERVER, error)
        assert EndCause.CLOSED_BY_APP == record.ending.cause  # type: ignore[union-attr]
        assert record.error is None

    def test_the_peer_close_frame_is_kept_apart(self):
        """The peer's close code and reason are kept even when the app closed first."""
        record = Termination()
        record.record(EndCause.CLOSED_BY_APP)
        record.note_peer_close(ConnectionClosedError("bye", code=1000, reason="done"))
        record.note_peer_close(ConnectionClosedError("later", code=1011, reason="x"))
        assert (1000, "done") == (record.peer_code, record.peer_reason)

    def test_records_from_many_threads_keep_one(self):
        """Set once under one lock: of many racing records exactly one wins."""
        record = Termination()
        wins: list[bool] = []
        threads = [
            threading.Thread(target=lambda: wins.append(record.record(EndCause.BROKEN)))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert 1 == wins.count(True)


class TestClassifyClose:
    @pytest.mark.parametrize(
        ("code", "reason", "cause", "error"),
        [
            (None, "", EndCause.BROKEN, ConnectionClosedError),
            (1000, "", EndCause.CLOSED_BY_SERVER, type(None)),
            (1011, "oops", EndCause.CLOSED_BY_SERVER, ConnectionClosedError),
            (1001, "maximum duration reached", EndCause.EXPIRED, SessionExpiredError),
            (1001, "going away", EndCause.CLOSED_BY_SERVER, ConnectionClosedError),
        ],
    )
    def test_what_an_end_means(self, code, reason, cause, error):
        """A close code (or none) maps to one cause and one terminal error."""
        ending = classify_close(ConnectionClosedError("end", code=code, reason=reason))
        assert cause == ending.cause
        assert isinstance(ending.error, error)


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.raw: list[dict[str, Any]] = []

    def observe(self, event: Any) -> None:
        self.seen.append(event.type)

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        self.raw.append(raw)


class _Failing:
    def observe(self, event: Any) -> None:
        raise RuntimeError("observer bug")

    def observe_undecodable(self, raw: dict[str, Any]) -> None:
        raise RuntimeError("observer bug")


def _frame(n: int) -> str:
    return json.dumps(
        {
            "type": "response.output_text.delta",
            "event_id": f"e{n}",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "x",
        }
    )


class TestEventPump:
    def make(self, *observers: Any, buffer: bool = True) -> tuple[EventPump, list[Any]]:
        errors: list[Any] = []
        callbacks = CallbackRegistry()
        callbacks.on_error(errors.append)
        pump = EventPump(
            decode=ev.decode_server_event,
            callbacks=callbacks,
            observers=observers,
            buffer=buffer,
            undecodable_markers=('"response.',),
        )
        return pump, errors

    def test_observers_see_every_event_in_order_and_a_failing_one_is_reported(self):
        """Every observer sees each event; one that raises is reported, the rest go on."""
        recorder = _Recorder()
        pump, errors = self.make(_Failing(), recorder)
        pump.handle(_frame(1))
        pump.handle(_frame(2))
        assert ["response.output_text.delta"] * 2 == recorder.seen
        assert 2 == len(errors)

    def test_events_are_handed_over_in_batches_then_the_end(self):
        """Iterators get what was flushed, in order, then the end (and the terminal error)."""
        pump, _ = self.make()
        for n in range(BATCH_MAX + 3):  # one full batch is handed over by itself
            pump.handle(_frame(n))
        pump.end()
        error = ConnectionClosedError("gone")
        events = pump.iterate(1.0, lambda: error)
        got = [next(events).event_id for _ in range(BATCH_MAX + 3)]
        assert [f"e{n}" for n in range(BATCH_MAX + 3)] == got
        with pytest.raises(ConnectionClosedError):
            next(events)

    def test_a_bad_frame_is_reported_and_still_observed(self):
        """A frame the decoder refuses is reported as ProtocolError and, if it is a
        response event, shown to the observers as raw JSON."""
        recorder = _Recorder()
        pump, errors = self.make(recorder)
        pump.handle('{"type":"response.done","event_id":"e","response":{"status":42}}')
        assert [ProtocolError] == [type(e) for e in errors]
        assert [{"type": "response.done", "event_id": "e", "response": {"status": 42}}] == (
            recorder.raw
        )

    def test_iterating_with_nothing_arriving_is_a_wait_timeout(self):
        """No event within the timeout: WaitTimeoutError."""
        pump, _ = self.make()
        with pytest.raises(WaitTimeoutError):
            next(pump.iterate(0.01, lambda: None))
