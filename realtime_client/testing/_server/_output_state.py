"""What the client has received of a response's output, and how open output is closed.

The response's events are generated one ahead of sending (the connection needs
the next event's due time), so the generator's own position is not what the
client has seen. :class:`OutputState` is updated from each event *as it is
sent*; everything that depends on what the client holds reads it:
cancellation (which parts to close, with which transcript), truncation of an
item still streaming (how much audio exists), the conversation's copy of each
output item (with its audio, for ``conversation.item.retrieve``) and
``response.done``'s output.

Closing an open output item always takes the same steps, whether the item ended
normally, was cut by a truncation or its response was cancelled, which is what
the spec says of every ``*.done`` event ("also emitted when a Response is
interrupted, incomplete, or cancelled"): the open part's ``output_audio.done``,
``output_audio_transcript.done`` (or ``output_text.done``) and
``content_part.done``, a function call's ``function_call_arguments.done``, then
``output_item.done`` and ``conversation.item.done``.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import attrs

from ...events import (
    AssistantContent,
    AssistantMessageItem,
    ConversationItem,
    ConversationItemAddedEvent,
    ConversationItemDoneEvent,
    FunctionCallItem,
    ItemStatus,
    OutputAudioContent,
    OutputTextContent,
    ResponseContentPart,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
    ServerEvent,
)
from ._conversation import Conversation, strip_audio
from ._util import new_id

__all__ = ["OutputState", "SentOutput"]


@attrs.define(kw_only=True)
class _Part:
    """A content part as sent: its text (or transcript) and audio so far."""

    kind: Literal["text", "audio"]
    index: int
    text: str = ""
    audio: bytearray = attrs.Factory(bytearray)
    closed: bool = False
    finished: set[str] = attrs.Factory(set)
    """The part's ``.done`` events sent so far: ``"audio"``, ``"transcript"``, ``"text"``."""

    def content(self, cut_ms: int | None, bytes_per_ms: int) -> AssistantContent:
        if self.kind == "text":
            return OutputTextContent(text=self.text)
        if cut_ms is not None:  # truncated: the audio heard, and no transcript
            return OutputAudioContent(
                audio=bytes(self.audio[: cut_ms * bytes_per_ms]), transcript=""
            )
        return OutputAudioContent(audio=bytes(self.audio), transcript=self.text)


@attrs.define(kw_only=True)
class SentOutput:
    """One output item of the response, as the client has received it."""

    index: int
    item: ConversationItem
    in_conversation: bool = False
    done: bool = False
    parts: list[_Part] = attrs.Factory(list)
    arguments: str = ""
    arguments_done: bool = False
    conversation_done: bool = False
    cut_ms: int | None = None
    """Set when the client truncated the item while it streamed: its audio ends here."""

    @property
    def item_id(self) -> str:
        return str(getattr(self.item, "id", ""))

    @property
    def open_part(self) -> _Part | None:
        return self.parts[-1] if self.parts and not self.parts[-1].closed else None


class OutputState:
    """The output of one response as sent so far, kept in step with the conversation.

    Args:
        response_id: The response's id (stamped on the closing events).
        conversation: The conversation the output goes to, or None (out of band).
        bytes_per_ms: Bytes of output audio per millisecond.
    """

    def __init__(
        self, *, response_id: str, conversation: Conversation | None, bytes_per_ms: int
    ) -> None:
        self._response_id = response_id
        self._conversation = conversation
        self._per_ms = bytes_per_ms
        self.outputs: list[SentOutput] = []

    # --- reading --------------------------------------------------------------------------

    def find(self, item_id: str) -> SentOutput | None:
        """The output with this item id, or None."""
        return next((o for o in self.outputs if o.item_id == item_id), None)

    @property
    def last_output(self) -> SentOutput | None:
        """The latest output item, finished or not (closing() says what it still needs)."""
        return self.outputs[-1] if self.outputs else None

    def full_item(self, output: SentOutput, status: ItemStatus) -> ConversationItem:
        """The output's item with everything sent so far, audio bytes included."""
        item: Any = output.item
        if isinstance(item, FunctionCallItem):
            return attrs.evolve(item, status=status, arguments=output.arguments)
        if isinstance(item, AssistantMessageItem):
            content = [
                part.content(output.cut_ms if part.kind == "audio" else None, self._per_ms)
                for part in output.parts
            ]
            return attrs.evolve(item, status=status, content=content)
        return cast(ConversationItem, attrs.evolve(item, status=status))

    @property
    def audio_ms(self) -> int:
        """Milliseconds of audio sent so far, over all the response's items."""
        sent = sum(len(p.audio) for o in self.outputs for p in o.parts if p.kind == "audio")
        return sent // self._per_ms

    def response_output(self) -> list[ConversationItem]:
        """The output for ``response.done``: every item, without audio bytes."""
        return [strip_audio(o.item) for o in self.outputs]

    # --- updating from what is sent --------------------------------------------------------

    def observe(self, event: ServerEvent) -> None:
        """Take note of one of the response's events as it goes out."""
        if isinstance(event, ResponseOutputItemAddedEvent):
            self.outputs.append(SentOutput(index=event.output_index, item=event.item))
            return
        item_id = getattr(event, "item_id", None)
        if item_id is None:
            item_id = getattr(getattr(event, "item", None), "id", None)
        output = self.find(str(item_id))
        if output is None:
            return
        if isinstance(event, ConversationItemAddedEvent):
            output.in_conversation = True
            if self._conversation is not None:
                self._conversation.add(self.full_item(output, "in_progress"))
                self._record_audio(output)
            return
        if isinstance(event, ResponseContentPartAddedEvent):
            kind: Literal["text", "audio"] = "audio" if event.part.type == "audio" else "text"
            output.parts.append(_Part(kind=kind, index=event.content_index))
        elif isinstance(
            event, (ResponseOutputTextDeltaEvent, ResponseOutputAudioTranscriptDeltaEvent)
        ):
            part = output.open_part
            if part is not None:
                part.text += event.delta
        elif isinstance(event, ResponseOutputAudioDeltaEvent):
            part = output.open_part
            if part is not None:
                part.audio += event.delta
        elif isinstance(event, ResponseFunctionCallArgumentsDeltaEvent):
            output.arguments += event.delta
        elif isinstance(event, ResponseOutputAudioDoneEvent):
            if output.open_part is not None:
                output.open_part.finished.add("audio")
            return
        elif isinstance(event, ResponseOutputAudioTranscriptDoneEvent):
            if output.open_part is not None:
                output.open_part.finished.add("transcript")
            return
        elif isinstance(event, ResponseOutputTextDoneEvent):
            if output.open_part is not None:
                output.open_part.finished.add("text")
            return
        elif isinstance(event, ResponseFunctionCallArgumentsDoneEvent):
            output.arguments_done = True
            return
        elif isinstance(event, ResponseContentPartDoneEvent):
            part = output.open_part
            if part is not None:
                part.closed = True
        elif isinstance(event, ResponseOutputItemDoneEvent):
            output.done = True
            output.item = event.item
            return
        elif isinstance(event, ConversationItemDoneEvent):
            output.conversation_done = True
        else:
            return
        if output.in_conversation and self._conversation is not None:
            status: ItemStatus = "in_progress"
            if output.done:
                status = getattr(output.item, "status", None) or "completed"
            self._conversation.replace(self.full_item(output, status))
            self._record_audio(output)

    def _record_audio(self, output: SentOutput) -> None:
        assert self._conversation is not None
        for part in output.parts:
            if part.kind == "audio":
                self._conversation.audio_bytes_per_ms[(output.item_id, part.index)] = self._per_ms

    def cut(self, item_id: str, audio_end_ms: int) -> bool:
        """The client truncated an item; True if it is still streaming (its audio stops)."""
        output = self.find(item_id)
        if output is None:
            return False
        output.cut_ms = audio_end_ms
        return not output.done

    # --- closing ---------------------------------------------------------------------------

    def closing(self, output: SentOutput, status: ItemStatus) -> list[ServerEvent]:
        """The events that still close an output item, from what the client has received.

        Events of the closing already sent are not repeated (a cancel or a
        truncation can come between them), and an item already done only
        needs its ``conversation.item.done``, if that is not sent yet. A
        conversation item the client never saw added (the cut came between
        ``output_item.added`` and ``conversation.item.added``) is added first.
        """
        out: list[ServerEvent] = []
        if output.done:
            if self._conversation is not None and not output.conversation_done:
                out.append(
                    ConversationItemDoneEvent(
                        event_id=new_id("event"),
                        item=output.item,
                        previous_item_id=self._previous_id(output.item_id),
                    )
                )
            return out
        ids: dict[str, Any] = {
            "response_id": self._response_id,
            "item_id": output.item_id,
            "output_index": output.index,
        }
        if self._conversation is not None and not output.in_conversation:
            out.append(
                ConversationItemAddedEvent(
                    event_id=new_id("event"),
                    item=strip_audio(output.item),
                    previous_item_id=self._conversation.last_id,
                )
            )
        part = output.open_part
        if part is not None and part.kind == "audio":
            if "audio" not in part.finished:
                out.append(
                    ResponseOutputAudioDoneEvent(
                        event_id=new_id("event"), **ids, content_index=part.index
                    )
                )
            if "transcript" not in part.finished:
                out.append(
                    ResponseOutputAudioTranscriptDoneEvent(
                        event_id=new_id("event"),
                        **ids,
                        content_index=part.index,
                        transcript=part.text,
                    )
                )
            out += [
                ResponseContentPartDoneEvent(
                    event_id=new_id("event"),
                    **ids,
                    content_index=part.index,
                    part=ResponseContentPart(type="audio", transcript=part.text),
                ),
            ]
        elif part is not None:
            if "text" not in part.finished:
                out.append(
                    ResponseOutputTextDoneEvent(
                        event_id=new_id("event"), **ids, content_index=part.index, text=part.text
                    )
                )
            out += [
                ResponseContentPartDoneEvent(
                    event_id=new_id("event"),
                    **ids,
                    content_index=part.index,
                    part=ResponseContentPart(type="text", text=part.text),
                ),
            ]
        item: Any = output.item
        if isinstance(item, FunctionCallItem) and not output.arguments_done:
            out.append(
                ResponseFunctionCallArgumentsDoneEvent(
                    event_id=new_id("event"),
                    **ids,
                    call_id=item.call_id or "",
                    name=item.name,
                    arguments=output.arguments,
                )
            )
        done = strip_audio(self.full_item(output, status))
        out.append(
            ResponseOutputItemDoneEvent(
                event_id=new_id("event"),
                response_id=self._response_id,
                output_index=output.index,
                item=done,
            )
        )
        if self._conversation is not None:
            out.append(
                ConversationItemDoneEvent(
                    event_id=new_id("event"),
                    item=done,
                    previous_item_id=self._previous_id(output.item_id),
                )
            )
        return out

    def _previous_id(self, item_id: str) -> str | None:
        assert self._conversation is not None
        items = self._conversation.items
        for index, candidate in enumerate(items):
            if getattr(candidate, "id", None) == item_id:
                return getattr(items[index - 1], "id", None) if index > 0 else None
        return self._conversation.last_id
