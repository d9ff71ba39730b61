"""Builders of realistic server event sequences, made with the typed event classes."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator
from typing import Any

import attrs

from realtime_client import events as ev


def minimal(cls: type) -> Any:
    """The smallest valid instance of an attrs model: required fields only."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if not field.init or field.default is not attrs.NOTHING:
            continue
        kwargs[field.name] = _value(hints[field.name])
    return cls(**kwargs)


def _value(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _value(typing.get_args(tp)[0])
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    if origin is list:
        return []
    if origin is dict:
        return {}
    simple = {str: "x", int: 0, float: 0.0, bool: False, bytes: b""}
    if tp in simple:
        return simple[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    if attrs.has(tp):
        return minimal(tp)
    raise TypeError(f"no minimal value for {tp!r}")


class Ids:
    """Numbered ids, so each test builds distinct events."""

    def __init__(self) -> None:
        self._n = 0

    def __call__(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n:06d}"


def usage(
    *, text_in: int = 10, audio_in: int = 0, cached: int = 0, text_out: int = 5, audio_out: int = 0
) -> ev.Usage:
    """A response usage record."""
    return ev.Usage(
        total_tokens=text_in + audio_in + text_out + audio_out,
        input_tokens=text_in + audio_in,
        output_tokens=text_out + audio_out,
        input_token_details=ev.InputTokenDetails(
            text_tokens=text_in,
            audio_tokens=audio_in,
            image_tokens=0,
            cached_tokens=cached,
            cached_tokens_details=ev.CachedTokenDetails(
                text_tokens=cached, audio_tokens=0, image_tokens=0
            ),
        ),
        output_token_details=ev.OutputTokenDetails(text_tokens=text_out, audio_tokens=audio_out),
    )


def text_turn(
    ids: Ids,
    deltas: list[str],
    *,
    response_id: str | None = None,
    item_id: str | None = None,
    previous_item_id: str | None = None,
    status: ev.ResponseStatus = "completed",
    out_of_band: bool = False,
    metadata: dict[str, str] | None = None,
    turn_usage: ev.Usage | None = None,
) -> Iterator[Any]:
    """The events of a text response with one assistant message, in server order."""
    rid = response_id or ids("resp")
    iid = item_id or ids("item")
    conversation_id = None if out_of_band else "conv_1"
    yield ev.ResponseCreatedEvent(
        event_id=ids("event"),
        response=ev.Response(
            id=rid,
            status="in_progress",
            output=[],
            metadata=metadata,
            conversation_id=conversation_id,
        ),
    )
    empty = ev.AssistantMessageItem(id=iid, status="in_progress", content=[])
    yield ev.ResponseOutputItemAddedEvent(
        event_id=ids("event"), response_id=rid, output_index=0, item=empty
    )
    if not out_of_band:
        yield ev.ConversationItemAddedEvent(
            event_id=ids("event"), item=empty, previous_item_id=previous_item_id
        )
    where = {"response_id": rid, "item_id": iid, "output_index": 0, "content_index": 0}
    yield ev.ResponseContentPartAddedEvent(
        event_id=ids("event"), part=ev.ResponseContentPart(type="text", text=""), **where
    )
    for delta in deltas:
        yield ev.ResponseOutputTextDeltaEvent(event_id=ids("event"), delta=delta, **where)
    text = "".join(deltas)
    item_status: ev.ItemStatus = "completed" if status == "completed" else "incomplete"
    if status == "completed":
        yield ev.ResponseOutputTextDoneEvent(event_id=ids("event"), text=text, **where)
        yield ev.ResponseContentPartDoneEvent(
            event_id=ids("event"), part=ev.ResponseContentPart(type="text", text=text), **where
        )
    done = ev.AssistantMessageItem(
        id=iid, status=item_status, content=[ev.OutputTextContent(text=text)]
    )
    yield ev.ResponseOutputItemDoneEvent(
        event_id=ids("event"), response_id=rid, output_index=0, item=done
    )
    if not out_of_band:
        yield ev.ConversationItemDoneEvent(
            event_id=ids("event"), item=done, previous_item_id=previous_item_id
        )
    details = None
    if status == "cancelled":
        details = ev.ResponseStatusDetails(type="cancelled", reason="client_cancelled")
    yield ev.ResponseDoneEvent(
        event_id=ids("event"),
        response=ev.Response(
            id=rid,
            status=status,
            status_details=details,
            output=[done],
            metadata=metadata,
            usage=turn_usage or usage(),
            conversation_id=conversation_id,
        ),
    )


def audio_turn(
    ids: Ids,
    chunks: list[bytes],
    transcript_deltas: list[str],
    *,
    response_id: str | None = None,
    item_id: str | None = None,
    status: ev.ResponseStatus = "completed",
) -> Iterator[Any]:
    """The events of an audio response: audio and transcript deltas interleaved."""
    rid = response_id or ids("resp")
    iid = item_id or ids("item")
    yield ev.ResponseCreatedEvent(
        event_id=ids("event"),
        response=ev.Response(id=rid, status="in_progress", output=[], conversation_id="conv_1"),
    )
    empty = ev.AssistantMessageItem(id=iid, status="in_progress", content=[])
    yield ev.ResponseOutputItemAddedEvent(
        event_id=ids("event"), response_id=rid, output_index=0, item=empty
    )
    yield ev.ConversationItemAddedEvent(event_id=ids("event"), item=empty)
    where = {"response_id": rid, "item_id": iid, "output_index": 0, "content_index": 0}
    yield ev.ResponseContentPartAddedEvent(
        event_id=ids("event"), part=ev.ResponseContentPart(type="audio", transcript=""), **where
    )
    for i in range(max(len(chunks), len(transcript_deltas))):
        if i < len(chunks):
            yield ev.ResponseOutputAudioDeltaEvent(event_id=ids("event"), delta=chunks[i], **where)
        if i < len(transcript_deltas):
            yield ev.ResponseOutputAudioTranscriptDeltaEvent(
                event_id=ids("event"), delta=transcript_deltas[i], **where
            )
    transcript = "".join(transcript_deltas)
    if status == "completed":
        yield ev.ResponseOutputAudioDoneEvent(event_id=ids("event"), **where)
        yield ev.ResponseOutputAudioTranscriptDoneEvent(
            event_id=ids("event"), transcript=transcript, **where
        )
    # The server leaves the audio out of the items it reports back.
    done = ev.AssistantMessageItem(
        id=iid,
        status="completed" if status == "completed" else "incomplete",
        content=[ev.OutputAudioContent(transcript=transcript)],
    )
    yield ev.ResponseOutputItemDoneEvent(
        event_id=ids("event"), response_id=rid, output_index=0, item=done
    )
    yield ev.ConversationItemDoneEvent(event_id=ids("event"), item=done)
    yield ev.ResponseDoneEvent(
        event_id=ids("event"),
        response=ev.Response(
            id=rid,
            status=status,
            status_details=None
            if status == "completed"
            else ev.ResponseStatusDetails(type=status, reason="turn_detected"),
            output=[done],
            usage=usage(audio_in=40, audio_out=len(chunks)),
            conversation_id="conv_1",
        ),
    )


def call_turn(
    ids: Ids,
    calls: list[tuple[str, str]],
    *,
    response_id: str | None = None,
) -> Iterator[Any]:
    """The events of a response making parallel function calls: (name, arguments) each."""
    rid = response_id or ids("resp")
    yield ev.ResponseCreatedEvent(
        event_id=ids("event"),
        response=ev.Response(id=rid, status="in_progress", output=[], conversation_id="conv_1"),
    )
    items = []
    for index, (name, arguments) in enumerate(calls):
        iid = ids("item")
        call_id = ids("call")
        pending = ev.FunctionCallItem(
            id=iid, call_id=call_id, name=name, arguments="", status="in_progress"
        )
        yield ev.ResponseOutputItemAddedEvent(
            event_id=ids("event"), response_id=rid, output_index=index, item=pending
        )
        yield ev.ConversationItemAddedEvent(event_id=ids("event"), item=pending)
        half = len(arguments) // 2
        for piece in (arguments[:half], arguments[half:]):
            yield ev.ResponseFunctionCallArgumentsDeltaEvent(
                event_id=ids("event"),
                response_id=rid,
                item_id=iid,
                output_index=index,
                call_id=call_id,
                delta=piece,
            )
        yield ev.ResponseFunctionCallArgumentsDoneEvent(
            event_id=ids("event"),
            response_id=rid,
            item_id=iid,
            output_index=index,
            call_id=call_id,
            name=name,
            arguments=arguments,
        )
        done = ev.FunctionCallItem(
            id=iid, call_id=call_id, name=name, arguments=arguments, status="completed"
        )
        items.append(done)
        yield ev.ResponseOutputItemDoneEvent(
            event_id=ids("event"), response_id=rid, output_index=index, item=done
        )
        yield ev.ConversationItemDoneEvent(event_id=ids("event"), item=done)
    yield ev.ResponseDoneEvent(
        event_id=ids("event"),
        response=ev.Response(
            id=rid, status="completed", output=items, usage=usage(), conversation_id="conv_1"
        ),
    )
