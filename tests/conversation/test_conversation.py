"""ConversationState: order, updates, late transcripts, export and seeding."""

from __future__ import annotations

import json
import threading

import pytest

from realtime_client import events as ev
from realtime_client.conversation import ConversationState

from ._build import Ids, audio_turn, call_turn, text_turn


def user_audio(item_id: str, transcript: str | None = None) -> ev.UserMessageItem:
    return ev.UserMessageItem(
        id=item_id, status="completed", content=[ev.InputAudioContent(transcript=transcript)]
    )


def user_text(item_id: str, text: str) -> ev.UserMessageItem:
    return ev.UserMessageItem(id=item_id, content=[ev.InputTextContent(text=text)])


def added(item, previous=None, n=[0]):  # noqa: B006 - a counter for event ids
    n[0] += 1
    return ev.ConversationItemAddedEvent(
        event_id=f"ea{n[0]}", item=item, previous_item_id=previous
    )


def transcribed(
    item_id: str, transcript: str, seconds: float = 1.0, event_id: str = "t"
) -> ev.ConversationItemInputAudioTranscriptionCompletedEvent:
    """The server's final input transcript of ``item_id``'s first content part."""
    return ev.ConversationItemInputAudioTranscriptionCompletedEvent(
        event_id=event_id,
        item_id=item_id,
        content_index=0,
        transcript=transcript,
        usage=ev.TranscriptionDurationUsage(seconds=seconds),
    )


def ids_of(state: ConversationState) -> list[str | None]:
    return [item.id for item in state.items]


def test_items_in_server_order_with_previous_item_id():
    state = ConversationState()
    state.feed(added(user_text("a", "1")))
    state.feed(added(user_text("c", "3"), previous="a"))
    state.feed(added(user_text("b", "2"), previous="a"))  # inserted between a and c
    state.feed(added(user_text("d", "4"), previous="unknown"))  # unknown: at the end
    assert ids_of(state) == ["a", "b", "c", "d"]
    assert len(state) == 4
    assert "b" in state
    assert "z" not in state
    assert state.get("c") == user_text("c", "3")
    assert [i.id for i in state] == ["a", "b", "c", "d"]


def test_done_replaces_in_place_and_turns_fill_the_state():
    ids = Ids()
    state = ConversationState()
    state.feed(ev.ConversationCreatedEvent(event_id="e", conversation=ev.Conversation(id="conv")))
    state.feed(added(user_text("u1", "hi")))
    for event in text_turn(ids, ["Hello", "!"], item_id="a1", previous_item_id="u1"):
        state.feed(event)
    assert state.conversation_id == "conv"
    assert ids_of(state) == ["u1", "a1"]
    reply = state.get("a1")
    assert isinstance(reply, ev.AssistantMessageItem)
    assert reply.status == "completed"
    assert reply.content == [ev.OutputTextContent(text="Hello!")]


def test_out_of_band_items_never_join():
    state = ConversationState()
    for event in text_turn(Ids(), ["aside"], out_of_band=True):
        state.feed(event)
    assert state.items == ()


def test_late_input_transcript_attaches_to_its_item():
    ids = Ids()
    state = ConversationState()
    state.feed(added(user_audio("u1")))
    state.feed(ev.ConversationItemDoneEvent(event_id="d", item=user_audio("u1")))
    for event in audio_turn(ids, [b"\x00\x00"], ["Sure."], item_id="a1"):
        state.feed(event)
    # The user's transcript arrives after the assistant's whole reply.
    state.feed(
        ev.ConversationItemInputAudioTranscriptionDeltaEvent(
            event_id="t1", item_id="u1", content_index=0, delta="What time "
        )
    )
    partial = state.get("u1")
    assert isinstance(partial, ev.UserMessageItem)
    assert partial.content[0].transcript == "What time "
    state.feed(transcribed("u1", "What time is it?", event_id="t2"))
    user = state.get("u1")
    assert isinstance(user, ev.UserMessageItem)
    assert user.content[0] == ev.InputAudioContent(transcript="What time is it?")
    assert ids_of(state) == ["u1", "a1"]


def test_transcript_before_item_is_kept_until_the_item_arrives():
    state = ConversationState()
    state.feed(transcribed("u1", "early", seconds=0.5))
    state.feed(added(user_audio("u1")))
    user = state.get("u1")
    assert isinstance(user, ev.UserMessageItem)
    assert user.content[0].transcript == "early"
    # A later done without a transcript does not erase it.
    state.feed(ev.ConversationItemDoneEvent(event_id="d", item=user_audio("u1")))
    assert state.get("u1").content[0].transcript == "early"  # type: ignore[union-attr]


def test_early_transcripts_are_bounded():
    state = ConversationState()
    for n in range(200):
        state.feed(
            ev.ConversationItemInputAudioTranscriptionDeltaEvent(
                event_id=f"t{n}", item_id=f"never_{n}", content_index=0, delta="x"
            )
        )
    assert len(state._transcripts) <= 64  # the private map: its bound is the point


def test_transcription_failure_is_recorded():
    state = ConversationState()
    state.feed(added(user_audio("u1")))
    error = ev.TranscriptionError(type="server_error", message="no speech")
    state.feed(
        ev.ConversationItemInputAudioTranscriptionFailedEvent(
            event_id="f", item_id="u1", content_index=0, error=error
        )
    )
    assert state.transcription_error("u1") == error
    assert state.transcription_error("other") is None


def test_delete():
    state = ConversationState()
    for name, previous in (("a", None), ("b", "a"), ("c", "b")):
        state.feed(added(user_text(name, name), previous))
    state.feed(ev.ConversationItemDeletedEvent(event_id="x", item_id="b"))
    state.feed(ev.ConversationItemDeletedEvent(event_id="y", item_id="never"))  # harmless
    assert ids_of(state) == ["a", "c"]
    assert state.get("b") is None
    state.feed(added(user_text("d", "d"), previous="a"))
    assert ids_of(state) == ["a", "d", "c"]


def test_truncate_cuts_audio_and_drops_transcript():
    state = ConversationState(audio_bytes_per_ms=48)
    item = ev.AssistantMessageItem(
        id="a1",
        status="completed",
        content=[ev.OutputAudioContent(audio=bytes(48 * 1000), transcript="a whole second")],
    )
    state.feed(added(item))
    state.feed(
        ev.ConversationItemTruncatedEvent(
            event_id="t", item_id="a1", content_index=0, audio_end_ms=250
        )
    )
    cut = state.get("a1")
    assert isinstance(cut, ev.AssistantMessageItem)
    assert cut.content[0] == ev.OutputAudioContent(audio=bytes(48 * 250), transcript=None)
    # Truncating something that is not assistant audio changes nothing.
    state.feed(
        ev.ConversationItemTruncatedEvent(
            event_id="u", item_id="a1", content_index=5, audio_end_ms=1
        )
    )
    state.feed(
        ev.ConversationItemTruncatedEvent(
            event_id="v", item_id="zz", content_index=0, audio_end_ms=1
        )
    )
    assert state.get("a1") == cut


def test_retrieved_updates_item():
    state = ConversationState()
    state.feed(added(user_audio("u1")))
    full = ev.UserMessageItem(
        id="u1", content=[ev.InputAudioContent(audio=b"\x01\x02", transcript="hey")]
    )
    state.feed(ev.ConversationItemRetrievedEvent(event_id="r", item=full))
    assert state.get("u1") == full


def test_export_is_json_and_seeding_recreates():
    ids = Ids()
    state = ConversationState()
    state.feed(added(ev.SystemMessageItem(id="s", content=[ev.InputTextContent(text="Be brief")])))
    state.feed(added(user_audio("u1", transcript="weather in Paris?"), previous="s"))
    for event in call_turn(ids, [("get_weather", '{"city": "Paris"}')]):
        state.feed(event)
    call = state.items[-1]
    assert isinstance(call, ev.FunctionCallItem)
    state.feed(
        added(
            ev.FunctionCallOutputItem(id="o1", call_id=call.call_id or "", output='{"temp": 21}'),
            previous=call.id,
        )
    )
    for event in audio_turn(ids, [b"\x00\x01"], ["It is 21 degrees."], item_id="a1"):
        state.feed(event)

    exported = json.loads(json.dumps(state.export()))
    assert [e["type"] for e in exported] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert exported[1]["content"][0] == {"type": "input_audio", "transcript": "weather in Paris?"}

    created = ConversationState.seed_events(exported)
    items = [e.item for e in created]
    assert items[0] == ev.SystemMessageItem(id="s", content=[ev.InputTextContent(text="Be brief")])
    assert items[1] == ev.UserMessageItem(
        id="u1", content=[ev.InputTextContent(text="weather in Paris?")]
    )
    assert isinstance(items[2], ev.FunctionCallItem)
    assert items[2].status is None
    assert items[3] == ev.FunctionCallOutputItem(
        id="o1", call_id=call.call_id or "", output='{"temp": 21}'
    )
    assert items[4] == ev.AssistantMessageItem(
        id="a1", content=[ev.OutputTextContent(text="It is 21 degrees.")]
    )
    # The events encode as valid client frames.
    for event in created:
        assert json.loads(ev.encode_client_event(event))["type"] == "conversation.item.create"
    # Seeding from item objects gives the same.
    assert ConversationState.seed_events(state.items) == created


def test_seeding_drops_audio_without_transcript():
    created = ConversationState.seed_events([user_audio("u", None)])
    assert created == []
    kept = ConversationState.seed_events(
        [ev.UserMessageItem(id="u", content=[ev.InputAudioContent(audio=b"\x01\x00")])]
    )
    assert kept[0].item.content == [ev.InputAudioContent(audio=b"\x01\x00")]


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"type": "message", "role": "pirate", "content": []}, "entry 1 .* not a valid item"),
        ({"type": "function_call"}, "entry 1 .* not a valid item"),
        (
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": object()}],
            },
            "entry 1 .* not JSON data",
        ),
    ],
)
def test_seeding_rejects_bad_entries(entry, match):
    good = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}
    with pytest.raises(ValueError, match=match):
        ConversationState.seed_events([good, entry])


def test_clear():
    state = ConversationState()
    state.feed(added(user_text("a", "1")))
    state.clear()
    assert state.items == ()


def test_invalid_bytes_per_ms():
    with pytest.raises(ValueError, match="audio_bytes_per_ms must be at least 1, got 0"):
        ConversationState(audio_bytes_per_ms=0)


def test_reads_from_another_thread_see_whole_updates():
    """A reader thread never sees a torn list while the feeding thread works."""
    state = ConversationState()
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                items = state.items
                assert all(item.id is not None for item in items)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, name="test-reader")
    reader.start()
    previous = None
    for n in range(2000):
        state.feed(added(user_text(f"i{n}", "x"), previous))
        previous = f"i{n}"
        if n % 3 == 0:
            state.feed(ev.ConversationItemDeletedEvent(event_id=f"d{n}", item_id=f"i{n}"))
            previous = f"i{n - 1}" if n else None
    stop.set()
    reader.join(10)
    assert not reader.is_alive()
    assert errors == []
    assert len(state) == 2000 - len(range(0, 2000, 3))


def test_handled_events_are_all_that_feed_uses():
    """A dispatcher that feeds the state only the classes in ``handled_events`` (as the
    session's conversation layer does) ends with the same conversation as feeding it
    everything; response deltas are not among them."""
    ids = Ids()
    stream = [
        ev.ConversationCreatedEvent(event_id="e", conversation=ev.Conversation(id="conv")),
        added(user_audio("u1")),
        *audio_turn(ids, [b"\x00\x01" * 4], ["Hi", " there"], item_id="a1"),
        *call_turn(ids, [("lookup", "{}")]),
        transcribed("u1", "hello"),
    ]
    everything, handled = ConversationState(), ConversationState()
    for event in stream:
        everything.feed(event)
        if type(event) in handled.handled_events:
            handled.feed(event)
    assert everything.export() == handled.export()
    assert len(everything) >= 3
    assert ev.ConversationItemAddedEvent in handled.handled_events
    assert ev.ResponseOutputAudioDeltaEvent not in handled.handled_events
