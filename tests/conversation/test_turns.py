"""TurnAccumulator: whole turns from their events, whatever the order."""

from __future__ import annotations

import itertools
import random
import tracemalloc

import attrs
import pytest

from realtime_client import events as ev
from realtime_client._turns import TurnAccumulator
from realtime_client.messages import ConversationMessage, FunctionCall, Turn

from ._build import Ids, audio_turn, call_turn, text_turn


def feed_all(acc: TurnAccumulator, events) -> list[Turn]:
    turns = []
    for event in events:
        turn = acc.feed(event)
        if turn is not None:
            turns.append(turn)
    return turns


def test_text_turn():
    acc = TurnAccumulator()
    [turn] = feed_all(acc, text_turn(Ids(), ["The ", "answer ", "is 42."], metadata=None))
    assert turn.text == "The answer is 42."
    assert turn.status == "completed"
    assert turn.audio == b""
    assert turn.transcript == ""
    assert turn.function_calls == ()
    assert len(turn.items) == 1
    assert isinstance(turn.items[0], ev.AssistantMessageItem)
    assert turn.usage is not None
    assert turn.usage.total_tokens == 15
    assert turn.conversation == "auto"
    assert not turn.out_of_band
    assert acc.open_responses == 0


def test_audio_turn_joins_audio_and_transcript():
    chunks = [bytes([i]) * 4800 for i in range(10)]
    acc = TurnAccumulator()
    [turn] = feed_all(acc, audio_turn(Ids(), chunks, ["Sure", ", here", " it is."]))
    assert turn.audio == b"".join(chunks)
    assert turn.transcript == "Sure, here it is."
    assert turn.text == ""
    assert turn.status == "completed"


def test_interleaved_responses_land_in_their_own_turns():
    ids = Ids()
    first = list(text_turn(ids, ["alpha ", "one"]))
    second = list(text_turn(ids, ["beta ", "two"], out_of_band=True, metadata={"k": "v"}))
    # Round-robin merge, keeping each response's own order.
    merged = [e for pair in itertools.zip_longest(first, second) for e in pair if e is not None]
    turns = feed_all(TurnAccumulator(), merged)
    by_text = {t.text: t for t in turns}
    assert set(by_text) == {"alpha one", "beta two"}
    assert by_text["alpha one"].conversation == "auto"
    assert by_text["beta two"].conversation == "none"
    assert by_text["beta two"].metadata == {"k": "v"}
    assert by_text["beta two"].out_of_band


def test_out_of_order_parts_are_placed_by_index():
    rid, where = "resp_1", {"response_id": "resp_1", "output_index": 0}
    events = [
        # Part 1 of item B (output 1) arrives before anything of item A (output 0).
        ev.ResponseOutputTextDeltaEvent(
            event_id="e1",
            item_id="B",
            content_index=0,
            delta="third",
            **{**where, "output_index": 1},
        ),
        ev.ResponseOutputTextDeltaEvent(
            event_id="e2", item_id="A", content_index=1, delta="second ", **where
        ),
        ev.ResponseOutputTextDeltaEvent(
            event_id="e3", item_id="A", content_index=0, delta="first ", **where
        ),
        ev.ResponseDoneEvent(event_id="e4", response=ev.Response(id=rid, status="completed")),
    ]
    [turn] = feed_all(TurnAccumulator(), events)
    assert turn.text == "first second third"


def test_done_text_wins_over_deltas():
    where = {"response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0}
    events = [
        ev.ResponseOutputTextDeltaEvent(event_id="e1", delta="Hel", **where),
        ev.ResponseOutputTextDoneEvent(event_id="e2", text="Hello", **where),
        ev.ResponseDoneEvent(event_id="e3", response=ev.Response(id="r", status="completed")),
    ]
    [turn] = feed_all(TurnAccumulator(), events)
    assert turn.text == "Hello"


@pytest.mark.parametrize("status", ["cancelled", "incomplete"])
def test_cut_short_turn_keeps_what_was_received(status):
    ids = Ids()
    [turn] = feed_all(
        TurnAccumulator(), audio_turn(ids, [b"\x01\x00" * 10], ["I was"], status=status)
    )
    assert turn.status == status
    assert turn.status_details is not None
    assert turn.status_details.reason == "turn_detected"
    assert turn.audio == b"\x01\x00" * 10
    assert turn.transcript == "I was"


def test_cancelled_before_any_output():
    event = ev.ResponseDoneEvent(
        event_id="e",
        response=ev.Response(
            id="r",
            status="cancelled",
            status_details=ev.ResponseStatusDetails(type="cancelled", reason="client_cancelled"),
            output=[],
        ),
    )
    turn = TurnAccumulator().feed(event)
    assert turn is not None
    assert turn.status == "cancelled"
    assert turn.text == ""
    assert turn.items == ()


def test_failed_turn_has_error_details():
    error = ev.ResponseStatusError(type="server_error", code="x", message="boom")
    event = ev.ResponseDoneEvent(
        event_id="e",
        response=ev.Response(
            id="r",
            status="failed",
            status_details=ev.ResponseStatusDetails(type="failed", error=error),
        ),
    )
    turn = TurnAccumulator().feed(event)
    assert turn is not None
    assert turn.status == "failed"
    assert turn.status_details is not None
    assert turn.status_details.error == error


def test_response_done_alone_fills_from_items():
    """Without deltas (a client that joined late), the final items still give the turn."""
    item = ev.AssistantMessageItem(
        id="i", status="completed", content=[ev.OutputAudioContent(transcript="hi there")]
    )
    event = ev.ResponseDoneEvent(
        event_id="e", response=ev.Response(id="r", status="completed", output=[item])
    )
    turn = TurnAccumulator().feed(event)
    assert turn is not None
    assert turn.transcript == "hi there"
    assert turn.items == (item,)


def test_parallel_function_calls():
    calls = [("get_weather", '{"city": "Paris"}'), ("get_time", '{"tz": "CET"}')]
    [turn] = feed_all(TurnAccumulator(), call_turn(Ids(), calls))
    assert [(c.name, c.arguments) for c in turn.function_calls] == calls
    assert all(
        isinstance(c, FunctionCall) and c.response_id == turn.response_id
        for c in turn.function_calls
    )
    assert turn.function_calls[0].parsed_arguments == {"city": "Paris"}
    assert len({c.call_id for c in turn.function_calls}) == 2


def test_function_call_known_only_from_items():
    item = ev.FunctionCallItem(id="i", call_id="c", name="f", arguments="{}", status="completed")
    partial = ev.FunctionCallItem(
        id="j", call_id="d", name="g", arguments='{"a', status="incomplete"
    )
    event = ev.ResponseDoneEvent(
        event_id="e", response=ev.Response(id="r", status="cancelled", output=[item, partial])
    )
    turn = TurnAccumulator().feed(event)
    assert turn is not None
    assert turn.function_calls == (
        FunctionCall(name="f", call_id="c", arguments="{}", item_id="i", response_id="r"),
    )


def test_in_band_known_without_conversation_id():
    """The server may send conversation_id null: items joining the conversation decide."""

    def strip(event):
        if isinstance(event, (ev.ResponseCreatedEvent, ev.ResponseDoneEvent)):
            return attrs.evolve(event, response=attrs.evolve(event.response, conversation_id=None))
        return event

    [turn] = feed_all(TurnAccumulator(), map(strip, text_turn(Ids(), ["in band"])))
    assert turn.conversation_id is None
    assert turn.conversation == "auto"


def test_custom_out_of_band_rule():
    acc = TurnAccumulator(
        is_out_of_band=lambda response, joined: (response.metadata or {}).get("oob") == "1"
    )
    [turn] = feed_all(acc, text_turn(Ids(), ["x"], metadata={"oob": "1"}))
    assert turn.conversation == "none"


def test_bounded_open_responses(caplog):
    acc = TurnAccumulator(max_open_responses=2)
    for n in range(3):
        acc.feed(ev.ResponseCreatedEvent(event_id=f"e{n}", response=ev.Response(id=f"r{n}")))
    assert acc.open_responses == 2
    assert "dropping unfinished response r0" in caplog.text
    acc.discard("r1")
    assert acc.open_responses == 1
    acc.clear()
    assert acc.open_responses == 0


def test_invalid_limit():
    with pytest.raises(ValueError, match="max_open_responses must be at least 1, got 0"):
        TurnAccumulator(max_open_responses=0)


def test_unrelated_events_are_ignored():
    acc = TurnAccumulator()
    assert acc.feed(ev.InputAudioBufferClearedEvent(event_id="e")) is None
    assert acc.feed(ev.UnknownServerEvent(type="x", raw={"type": "x"})) is None
    assert acc.open_responses == 0


def test_shuffled_deltas_within_parts_keep_part_order():
    """Parts may interleave arbitrarily; each part's own deltas stay in arrival order."""
    rng = random.Random(5)
    where = {"response_id": "r", "output_index": 0}
    streams = {
        ("i", 0): [f"a{n} " for n in range(20)],
        ("i", 1): [f"b{n} " for n in range(20)],
    }
    queues = {k: list(v) for k, v in streams.items()}
    events = []
    for n in range(40):
        choices = [k for k, q in queues.items() if q]
        key = rng.choice(choices)
        events.append(
            ev.ResponseOutputTextDeltaEvent(
                event_id=f"e{n}",
                item_id=key[0],
                content_index=key[1],
                delta=queues[key].pop(0),
                **where,
            )
        )
    events.append(
        ev.ResponseDoneEvent(event_id="d", response=ev.Response(id="r", status="completed"))
    )
    [turn] = feed_all(TurnAccumulator(), events)
    assert turn.text == "".join(streams[("i", 0)]) + "".join(streams[("i", 1)])


def test_memory_flat_across_1000_turns():
    ids = Ids()
    acc = TurnAccumulator()
    chunk = b"\x00\x01" * 2400  # 100 ms of 24 kHz PCM

    def run(n: int) -> None:
        for _ in range(n):
            turns = feed_all(acc, audio_turn(ids, [chunk] * 5, ["a", "b"]))
            assert len(turns) == 1

    run(20)  # warm up caches and interned strings
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run(1000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert acc.open_responses == 0
    # One turn's audio is 24 kB; 1,000 retained turns would be 24 MB.
    assert after - before < 64 * 1024, f"grew by {after - before} bytes over 1000 turns"


def test_function_call_from_event():
    """FunctionCall.from_event copies every field of function_call_arguments.done;
    the accumulator and the message view build their calls with it."""
    event = ev.ResponseFunctionCallArgumentsDoneEvent(
        event_id="e",
        response_id="r1",
        item_id="i1",
        output_index=0,
        call_id="c1",
        name="add",
        arguments='{"a": 1}',
    )
    expected = FunctionCall(
        name="add", call_id="c1", arguments='{"a": 1}', item_id="i1", response_id="r1"
    )
    assert expected == FunctionCall.from_event(event)
    assert expected == ConversationMessage.from_event(event).function_call
