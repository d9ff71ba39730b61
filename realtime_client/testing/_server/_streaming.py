"""One response, as the timed sequence of events the service streams.

:class:`ResponseStream` turns the replies a responder chose into events:
``response.created``, then per output item ``output_item.added``,
``conversation.item.added``, the content part, its deltas and ``.done`` events,
``output_item.done``, ``conversation.item.done``, and at last ``response.done``
with usage. Each event comes with the time (seconds of "model time" since the
response started) at which it is due; the connection paces them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Iterator
from typing import Any, Final, Literal, cast

import attrs

from ...events import (
    AssistantContent,
    AssistantMessageItem,
    AudioFormat,
    ConversationItem,
    ConversationItemAddedEvent,
    ConversationItemDoneEvent,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioContent,
    InputTextContent,
    InputTokenDetails,
    OutputAudioContent,
    OutputTextContent,
    OutputTokenDetails,
    Response,
    ResponseAudio,
    ResponseAudioOutput,
    ResponseContentPart,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
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
    ResponseStatus,
    ResponseStatusDetails,
    ResponseStatusError,
    ServerEvent,
    SystemMessageItem,
    Usage,
    UserMessageItem,
)
from ._audio import bytes_per_ms, encode_output
from ._config import format_rate
from ._conversation import Conversation, strip_audio
from ._replies import AudioReply, ErrorReply, FunctionCallReply, Reply, TextReply
from ._speech import SpeechEngine, synthesize
from ._util import new_id

__all__ = ["AUDIO_CHUNKS_MS", "ResponseStream", "estimate_input_tokens", "text_pieces"]

AUDIO_CHUNKS_MS: Final = (40, 80, 120, 200)
"""Durations of the first audio deltas; later ones repeat the last value."""
TEXT_DELTA_S: Final = 0.02
"""Model time between two text deltas (50 tokens per second)."""
_CHARS_PER_TOKEN: Final = 4
_AUDIO_MS_PER_TOKEN: Final = 50
_PIECE = re.compile(r"\s*[\w']+|\s*[^\w\s]|\s+")

Emit = tuple[float, ServerEvent]


def text_pieces(text: str) -> list[str]:
    """Split text into token-like deltas (a word with its leading space, or a punctuation mark)."""
    return _PIECE.findall(text)


def _tokens(text: str) -> int:
    return math.ceil(len(text) / _CHARS_PER_TOKEN)


def estimate_input_tokens(
    items: tuple[ConversationItem, ...], bytes_per_ms: int
) -> tuple[int, int]:
    """(text tokens, audio tokens) a context costs, estimated from its size."""
    text = audio = 0
    for item in items:
        if isinstance(item, (UserMessageItem, SystemMessageItem, AssistantMessageItem)):
            for part in item.content:
                if isinstance(part, (InputTextContent, OutputTextContent)):
                    text += _tokens(part.text or "")
                elif isinstance(part, InputAudioContent):
                    audio += len(part.audio or b"") // bytes_per_ms // _AUDIO_MS_PER_TOKEN
                elif isinstance(part, OutputAudioContent):
                    text += _tokens(part.transcript or "")
        elif isinstance(item, FunctionCallItem):
            text += _tokens(item.name + item.arguments)
        elif isinstance(item, FunctionCallOutputItem):
            text += _tokens(item.output)
    return text, audio


@attrs.define(kw_only=True)
class _Output:
    item: ConversationItem
    index: int
    in_conversation: bool


class ResponseStream:
    """The events of one response, produced lazily so it can be cancelled at any point.

    Args:
        response_id: The response's id.
        replies: What the model says, one output item each.
        modalities: The response's output modalities.
        audio_format: The output audio format.
        voice: The voice (varies the synthetic voice).
        voice_speed: The session's output speed.
        conversation: The conversation to add output to, or None (out of band).
        metadata: Echoed on the response.
        max_output_tokens: The token limit (``"inf"`` or an integer).
        input_tokens: (text, audio) tokens of the context, for usage.
        speech_engine: Which speech synthesizer to use.
    """

    def __init__(
        self,
        *,
        response_id: str,
        replies: list[Reply],
        modalities: list[Literal["text", "audio"]],
        audio_format: AudioFormat | None,
        voice: str,
        voice_speed: float,
        conversation: Conversation | None,
        metadata: dict[str, str] | None,
        max_output_tokens: int | Literal["inf"],
        input_tokens: tuple[int, int],
        speech_engine: SpeechEngine = "auto",
    ) -> None:
        self.id = response_id
        self._replies = replies
        self._modalities = modalities
        self._format = audio_format
        self._voice = voice
        self._voice_speed = voice_speed
        self._conversation = conversation
        self._metadata = metadata
        self._max_tokens = max_output_tokens
        self._input_tokens = input_tokens
        self._engine = speech_engine
        self._outputs: list[_Output] = []
        self._current: _Output | None = None
        self._text_tokens = 0
        self._audio_tokens = 0
        self._finished = False
        self._limited = False
        self.status: ResponseStatus = "in_progress"

    @property
    def total_tokens(self) -> int:
        """Tokens the response has cost so far, input and output."""
        return sum(self._input_tokens) + self._text_tokens + self._audio_tokens

    def _ev_id(self) -> str:
        return new_id("event")

    def _response(
        self, status: ResponseStatus, details: ResponseStatusDetails | None = None
    ) -> Response:
        done = status != "in_progress"
        return Response(
            id=self.id,
            object="realtime.response",
            status=status,
            status_details=details,
            output=[o.item for o in self._outputs] if done else [],
            conversation_id=self._conversation.id if self._conversation is not None else None,
            output_modalities=list(self._modalities),
            max_output_tokens=self._max_tokens,
            audio=ResponseAudio(
                output=ResponseAudioOutput(format=self._format, voice=self._voice)
            ),
            usage=self._usage() if done else None,
            metadata=self._metadata,
        )

    def _usage(self) -> Usage:
        text_in, audio_in = self._input_tokens
        out = self._text_tokens + self._audio_tokens
        return Usage(
            total_tokens=text_in + audio_in + out,
            input_tokens=text_in + audio_in,
            output_tokens=out,
            input_token_details=InputTokenDetails(
                cached_tokens=0, text_tokens=text_in, audio_tokens=audio_in, image_tokens=0
            ),
            output_token_details=OutputTokenDetails(
                text_tokens=self._text_tokens, audio_tokens=self._audio_tokens
            ),
        )

    def _budget(self, text: str) -> str:
        """Cut text to what is left of max_output_tokens; notes when it had to."""
        if self._max_tokens == "inf":
            return text
        left = max(0, self._max_tokens - self._text_tokens - self._audio_tokens)
        if _tokens(text) <= left:
            return text
        self._limited = True
        return text[: left * _CHARS_PER_TOKEN]

    def _open(self, item: ConversationItem, t: float) -> Iterator[Emit]:
        output = _Output(item=item, index=len(self._outputs), in_conversation=False)
        self._outputs.append(output)
        self._current = output
        yield (
            t,
            ResponseOutputItemAddedEvent(
                event_id=self._ev_id(), response_id=self.id, output_index=output.index, item=item
            ),
        )
        if self._conversation is not None:
            previous = self._conversation.add(item)
            output.in_conversation = True
            yield (
                t,
                ConversationItemAddedEvent(
                    event_id=self._ev_id(), item=item, previous_item_id=previous
                ),
            )

    def _close(self, item: ConversationItem, t: float) -> Iterator[Emit]:
        assert self._current is not None
        output = self._current
        output.item = item
        self._current = None
        yield (
            t,
            ResponseOutputItemDoneEvent(
                event_id=self._ev_id(), response_id=self.id, output_index=output.index, item=item
            ),
        )
        if output.in_conversation and self._conversation is not None:
            self._conversation.replace(item)
            yield (
                t,
                ConversationItemDoneEvent(
                    event_id=self._ev_id(),
                    item=strip_audio(item),
                    previous_item_id=self._previous_id(item),
                ),
            )

    def _previous_id(self, item: ConversationItem) -> str | None:
        assert self._conversation is not None
        items = self._conversation.items
        for index, candidate in enumerate(items):
            if candidate.id == getattr(item, "id", None):
                return items[index - 1].id if index > 0 else None
        return None

    def events(self) -> Generator[Emit, None, None]:
        """The response's events with their due times; stops early if cancelled."""
        t = 0.0
        yield (
            t,
            ResponseCreatedEvent(event_id=self._ev_id(), response=self._response("in_progress")),
        )
        for given in self._replies:
            if self._limited:
                break
            reply = TextReply(text=given) if isinstance(given, str) else given
            if isinstance(reply, ErrorReply):
                error = ResponseStatusError(
                    type=reply.error_type, code=reply.code, message=reply.message
                )
                self.status = "failed"
                self._finished = True
                failed = ResponseStatusDetails(type="failed", error=error)
                yield (
                    t,
                    ResponseDoneEvent(
                        event_id=self._ev_id(), response=self._response("failed", failed)
                    ),
                )
                return
            if isinstance(reply, FunctionCallReply):
                t = yield from self._function_call(reply, t)
            elif isinstance(reply, AudioReply) or "audio" in self._modalities:
                t = yield from self._audio_message(reply, t)
            else:
                t = yield from self._text_message(reply.text, t)
        status: ResponseStatus = "incomplete" if self._limited else "completed"
        details: ResponseStatusDetails | None = (
            ResponseStatusDetails(type="incomplete", reason="max_output_tokens")
            if self._limited
            else None
        )
        self.status = status
        self._finished = True
        yield (
            t,
            ResponseDoneEvent(event_id=self._ev_id(), response=self._response(status, details)),
        )

    def _text_message(self, text: str, t: float) -> Generator[Emit, None, float]:
        text = self._budget(text)
        item_id = new_id("item")
        item = AssistantMessageItem(
            id=item_id, object="realtime.item", status="in_progress", content=[]
        )
        yield from self._open(item, t)
        index = len(self._outputs) - 1
        yield (
            t,
            ResponseContentPartAddedEvent(
                event_id=self._ev_id(),
                response_id=self.id,
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=ResponseContentPart(type="text", text=""),
            ),
        )
        written = ""
        for piece in text_pieces(text):
            t += TEXT_DELTA_S
            written += piece
            self._partial(item, [OutputTextContent(text=written)])
            self._text_tokens += 1
            yield (
                t,
                ResponseOutputTextDeltaEvent(
                    event_id=self._ev_id(),
                    response_id=self.id,
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    delta=piece,
                ),
            )
        yield (
            t,
            ResponseOutputTextDoneEvent(
                event_id=self._ev_id(),
                response_id=self.id,
                item_id=item_id,
                output_index=index,
                content_index=0,
                text=text,
            ),
        )
        yield (
            t,
            ResponseContentPartDoneEvent(
                event_id=self._ev_id(),
                response_id=self.id,
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=ResponseContentPart(type="text", text=text),
            ),
        )
        done = attrs.evolve(item, status="completed", content=[OutputTextContent(text=text)])
        yield from self._close(done, t)
        return t

    def _partial(self, item: AssistantMessageItem, content: list[AssistantContent]) -> None:
        if self._current is not None:
            self._current.item = attrs.evolve(item, status="incomplete", content=content)

    def _speech(self, reply: TextReply | AudioReply) -> tuple[str, bytes, int]:
        """(transcript, audio in the output format, duration in ms)."""
        rate = format_rate(self._format)
        if isinstance(reply, AudioReply):
            transcript = self._budget(reply.transcript)
            if reply.audio is not None:
                pcm, pcm_rate = reply.audio[: len(reply.audio) - len(reply.audio) % 2], 24000
                if self._limited:  # keep the share of audio the budget allows
                    keep = len(transcript) / max(1, len(reply.transcript))
                    pcm = pcm[: int(len(pcm) * keep) // 2 * 2]
            else:
                pcm, pcm_rate = self._synthesize(transcript, rate), rate
        else:
            transcript = self._budget(reply.text)
            pcm, pcm_rate = self._synthesize(transcript, rate), rate
        duration_ms = len(pcm) // 2 * 1000 // pcm_rate
        return transcript, encode_output(pcm, pcm_rate, self._format), duration_ms

    def _synthesize(self, text: str, rate: int) -> bytes:
        return synthesize(
            text, rate, speed=self._voice_speed, voice=self._voice, engine=self._engine
        )

    def _audio_message(
        self, reply: TextReply | AudioReply, t: float
    ) -> Generator[Emit, None, float]:
        transcript, audio, duration_ms = self._speech(reply)
        started = t  # this item's audio starts where the response's previous output ended
        item_id = new_id("item")
        item = AssistantMessageItem(
            id=item_id, object="realtime.item", status="in_progress", content=[]
        )
        yield from self._open(item, t)
        index = len(self._outputs) - 1
        ids = _Ids(response_id=self.id, item_id=item_id, output_index=index)
        yield (
            t,
            ResponseContentPartAddedEvent(
                event_id=self._ev_id(),
                **ids.kw(),
                content_index=0,
                part=ResponseContentPart(type="audio", transcript=""),
            ),
        )
        pieces = text_pieces(transcript)
        said = 0  # pieces of the transcript sent so far
        spoken = ""
        per_ms = bytes_per_ms(self._format)
        position_ms = 0
        chunk = 0
        while position_ms < duration_ms or said < len(pieces):
            step = AUDIO_CHUNKS_MS[min(chunk, len(AUDIO_CHUNKS_MS) - 1)]
            end_ms = min(duration_ms, position_ms + step)
            # The transcript runs a little ahead of the audio, as the service's does.
            target = len(pieces) if end_ms >= duration_ms else len(pieces) * end_ms // duration_ms
            while said < target:
                spoken += pieces[said]
                said += 1
                self._text_tokens += 1
                yield (
                    t,
                    ResponseOutputAudioTranscriptDeltaEvent(
                        event_id=self._ev_id(), **ids.kw(), content_index=0, delta=pieces[said - 1]
                    ),
                )
            if end_ms > position_ms:
                stop = len(audio) if end_ms >= duration_ms else end_ms * per_ms
                data = audio[position_ms * per_ms : stop]
                self._audio_tokens += max(1, (end_ms - position_ms) // _AUDIO_MS_PER_TOKEN)
                if self._conversation is not None:
                    self._conversation.audio_ms[(item_id, 0)] = end_ms
                self._partial(item, [OutputAudioContent(transcript=spoken)])
                yield (
                    t,
                    ResponseOutputAudioDeltaEvent(
                        event_id=self._ev_id(), **ids.kw(), content_index=0, delta=data
                    ),
                )
                t = started + end_ms / 1000.0
            position_ms = end_ms
            chunk += 1
        yield t, ResponseOutputAudioDoneEvent(event_id=self._ev_id(), **ids.kw(), content_index=0)
        yield (
            t,
            ResponseOutputAudioTranscriptDoneEvent(
                event_id=self._ev_id(), **ids.kw(), content_index=0, transcript=transcript
            ),
        )
        yield (
            t,
            ResponseContentPartDoneEvent(
                event_id=self._ev_id(),
                **ids.kw(),
                content_index=0,
                part=ResponseContentPart(type="audio", transcript=transcript),
            ),
        )
        done = attrs.evolve(
            item, status="completed", content=[OutputAudioContent(transcript=transcript)]
        )
        yield from self._close(done, t)
        return t

    def _function_call(self, reply: FunctionCallReply, t: float) -> Generator[Emit, None, float]:
        item_id = new_id("item")
        call_id = reply.call_id or new_id("call")
        item = FunctionCallItem(
            id=item_id,
            object="realtime.item",
            status="in_progress",
            name=reply.name,
            call_id=call_id,
            arguments="",
        )
        yield from self._open(item, t)
        index = len(self._outputs) - 1
        written = ""
        for piece in text_pieces(reply.arguments):
            t += TEXT_DELTA_S
            written += piece
            self._text_tokens += 1
            if self._current is not None:
                self._current.item = attrs.evolve(item, status="incomplete", arguments=written)
            yield (
                t,
                ResponseFunctionCallArgumentsDeltaEvent(
                    event_id=self._ev_id(),
                    response_id=self.id,
                    item_id=item_id,
                    output_index=index,
                    call_id=call_id,
                    delta=piece,
                ),
            )
        yield (
            t,
            ResponseFunctionCallArgumentsDoneEvent(
                event_id=self._ev_id(),
                response_id=self.id,
                item_id=item_id,
                output_index=index,
                call_id=call_id,
                name=reply.name,
                arguments=reply.arguments,
            ),
        )
        done = attrs.evolve(item, status="completed", arguments=reply.arguments)
        yield from self._close(done, t)
        return t

    def cancel(self, reason: Literal["turn_detected", "client_cancelled"]) -> list[ServerEvent]:
        """End the response now: the open item closes as incomplete, then ``response.done``.

        Returns:
            The events to send, in order; empty if the response already finished.
        """
        if self._finished:
            return []
        self._finished = True
        self.status = "cancelled"
        out: list[ServerEvent] = []
        if self._current is not None:
            item = attrs.evolve(cast(Any, self._current.item), status="incomplete")
            out.extend(event for _, event in self._close(item, 0.0))
        details = ResponseStatusDetails(type="cancelled", reason=reason)
        out.append(
            ResponseDoneEvent(
                event_id=self._ev_id(), response=self._response("cancelled", details)
            )
        )
        return out


@attrs.frozen(kw_only=True)
class _Ids:
    response_id: str
    item_id: str
    output_index: int

    def kw(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "item_id": self.item_id,
            "output_index": self.output_index,
        }
