"""ConversationMessage: every server event maps, fields only where they apply."""

from __future__ import annotations

import pytest

from realtime_client import events as ev
from realtime_client.messages import ConversationMessage, FunctionCall, MessageKind

from ._build import Ids, minimal, text_turn

ALL_CLASSES = sorted(ev.SERVER_EVENT_TYPES.values(), key=lambda c: c.__name__)

EXPECTED_KINDS = {
    ev.ResponseOutputTextDeltaEvent: MessageKind.TEXT_DELTA,
    ev.ResponseOutputAudioDeltaEvent: MessageKind.AUDIO_DELTA,
    ev.ResponseOutputAudioTranscriptDeltaEvent: MessageKind.TRANSCRIPT_DELTA,
    ev.ConversationItemInputAudioTranscriptionCompletedEvent: MessageKind.INPUT_TRANSCRIPT,
    ev.ResponseFunctionCallArgumentsDoneEvent: MessageKind.FUNCTION_CALL,
    ev.ConversationItemAddedEvent: MessageKind.ITEM_ADDED,
    ev.ConversationItemCreatedEvent: MessageKind.ITEM_ADDED,
    ev.ConversationItemDoneEvent: MessageKind.ITEM_DONE,
    ev.ResponseCreatedEvent: MessageKind.TURN_STARTED,
    ev.ResponseDoneEvent: MessageKind.TURN_FINISHED,
    ev.InputAudioBufferSpeechStartedEvent: MessageKind.SPEECH_STARTED,
    ev.InputAudioBufferSpeechStoppedEvent: MessageKind.SPEECH_STOPPED,
    ev.ErrorEvent: MessageKind.ERROR,
}


def test_inventory_is_complete():
    assert len(ALL_CLASSES) == 46


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_every_server_event_maps(cls):
    event = minimal(cls)
    message = ConversationMessage.from_event(event)
    assert message.event is event
    assert message.kind is EXPECTED_KINDS.get(cls, MessageKind.OTHER)
    assert message.turn_finished is (cls is ev.ResponseDoneEvent)
    # Only the field of its kind is set.
    assert (message.text is not None) is (message.kind is MessageKind.TEXT_DELTA)
    assert (message.audio is not None) is (message.kind is MessageKind.AUDIO_DELTA)
    assert (message.transcript is not None) is (message.kind is MessageKind.TRANSCRIPT_DELTA)
    assert (message.input_transcript is not None) is (message.kind is MessageKind.INPUT_TRANSCRIPT)
    assert (message.function_call is not None) is (message.kind is MessageKind.FUNCTION_CALL)
    assert (message.error is not None) is (message.kind is MessageKind.ERROR)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_ids_are_carried(cls):
    event = minimal(cls)
    message = ConversationMessage.from_event(event)
    item_id = getattr(event, "item_id", None)
    if item_id is None and hasattr(event, "item"):
        item_id = event.item.id
    response_id = getattr(event, "response_id", None)
    if response_id is None and hasattr(event, "response"):
        response_id = event.response.id
    assert message.item_id == item_id
    assert message.response_id == response_id


def test_unknown_event_is_other_with_ids():
    event = ev.UnknownServerEvent(
        type="response.future_thing.delta",
        raw={"type": "response.future_thing.delta", "item_id": "item_1", "response_id": 7},
    )
    message = ConversationMessage.from_event(event)
    assert message.kind is MessageKind.OTHER
    assert message.item_id == "item_1"
    assert message.response_id is None  # not a string: not trusted
    assert not message.turn_finished


def test_beta_event_names_are_unknown_and_other():
    event = ev.decode_server_event(
        '{"type": "response.text.delta", "event_id": "e", "response_id": "r", '
        '"item_id": "i", "output_index": 0, "content_index": 0, "delta": "hi"}'
    )
    message = ConversationMessage.from_event(event)
    assert message.kind is MessageKind.OTHER
    assert message.text is None


def test_hello_world_prints_text_once():
    """Printing text of each message until turn_finished gives the reply exactly once."""
    printed = []
    finished = None
    for event in text_turn(Ids(), ["Hel", "lo", ", world"]):
        message = ConversationMessage.from_event(event)
        printed.append(message.text or "")
        if message.turn_finished:
            finished = message
            break
    assert "".join(printed) == "Hello, world"
    assert finished is not None
    assert finished.usage is not None
    assert finished.usage.output_tokens == 5


def test_audio_and_transcript_deltas():
    where = {
        "event_id": "e",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "content_index": 0,
    }
    audio = ConversationMessage.from_event(
        ev.ResponseOutputAudioDeltaEvent(delta=b"\x01\x02", **where)
    )
    assert audio.audio == b"\x01\x02"
    assert audio.text is None
    transcript = ConversationMessage.from_event(
        ev.ResponseOutputAudioTranscriptDeltaEvent(delta="hi", **where)
    )
    assert transcript.transcript == "hi"
    done = ConversationMessage.from_event(
        ev.ResponseOutputAudioTranscriptDoneEvent(transcript="hi", **where)
    )
    assert done.kind is MessageKind.OTHER
    assert done.transcript is None  # never printed twice


def test_input_transcript():
    event = ev.ConversationItemInputAudioTranscriptionCompletedEvent(
        event_id="e",
        item_id="item_user",
        content_index=0,
        transcript="What's the weather?",
        usage=ev.TranscriptionDurationUsage(seconds=1.5),
    )
    message = ConversationMessage.from_event(event)
    assert message.kind is MessageKind.INPUT_TRANSCRIPT
    assert message.input_transcript == "What's the weather?"
    assert message.item_id == "item_user"


def test_function_call_message():
    event = ev.ResponseFunctionCallArgumentsDoneEvent(
        event_id="e",
        response_id="r",
        item_id="i",
        output_index=0,
        call_id="call_1",
        name="get_weather",
        arguments='{"city": "Paris"}',
    )
    call = ConversationMessage.from_event(event).function_call
    assert call == FunctionCall(
        name="get_weather",
        call_id="call_1",
        arguments='{"city": "Paris"}',
        item_id="i",
        response_id="r",
    )
    assert call.parsed_arguments == {"city": "Paris"}


def test_error_message():
    details = ev.ErrorDetails(type="invalid_request_error", message="bad", code="x")
    message = ConversationMessage.from_event(ev.ErrorEvent(event_id="e", error=details))
    assert message.kind is MessageKind.ERROR
    assert message.error is details


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [("", {}), ("  ", {}), ('{"a": [1, 2]}', {"a": [1, 2]})],
)
def test_parsed_arguments(arguments, expected):
    call = FunctionCall(name="f", call_id="c", arguments=arguments)
    assert call.parsed_arguments == expected


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ('{"a": ', "'f' \\(call c\\) are not valid JSON"),
        ("[1]", "must be a JSON object, got list"),
    ],
)
def test_parsed_arguments_errors(arguments, match):
    call = FunctionCall(name="f", call_id="c", arguments=arguments)
    with pytest.raises(ValueError, match=match):
        call.parsed_arguments  # noqa: B018


def test_messages_are_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        ConversationMessage(MessageKind.OTHER, None)  # type: ignore[misc]
    message = ConversationMessage.from_event(minimal(ev.InputAudioBufferClearedEvent))
    with pytest.raises(AttributeError):
        message.text = "x"  # type: ignore[misc]
