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
from typing import Any, Final, Literal

import attrs

from ...events import (
    AssistantMessageItem,
    AudioFormat,
    ConversationItem,
    ConversationItemAddedEvent,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioContent,
    InputTextContent,
    InputTokenDetails,
    ItemStatus,
    OutputAudioContent,
    OutputTextContent,
    OutputTokenDetails,
    Response,
    ResponseAudio,
    ResponseAudioOutput,
    ResponseContentPart,
    ResponseContentPartAddedEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputTextDeltaEvent,
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
from ._conversation import Conversation
from ._output_state import OutputState
from ._replies import AudioReply, ErrorReply, FunctionCallReply, Reply, TextReply
from ._speech import SpeechEngine, synthesize
from ._util import new_id

__all__ = ["AUDIO_CHUNKS_MS", "ResponseStream", "estimate_input_tokens", "text_pieces"]

AUDIO_CHUNKS_MS: Final = (40, 80, 120, 200)
"""Durations of the first audio deltas; later ones repeat the last value."""
TEXT_DELTA_S: Final = 0.02
"""Model time between two text deltas (50 tokens per second)."""
_CHARS_PER_TOKEN: Final = 4
_MAX_CLOSING_EVENTS: Final = 8  # an item's closing events number seven at most
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


class ResponseStream:
    """The events of one response, produced lazily so it can be cancelled at any point.

    Events are produced one ahead of sending; the session tells the stream of
    each event as it goes out (:meth:`observe`), and everything that depends on
    what the client holds (closing on cancel or truncation, the conversation's
    copy of the output) works from that.

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
        self._state = OutputState(
            response_id=response_id,
            conversation=conversation,
            bytes_per_ms=bytes_per_ms(audio_format),
        )
        self._cut: set[str] = set()
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

    @property
    def audio_ms_sent(self) -> int:
        """Milliseconds of audio the client has received from this response."""
        return self._state.audio_ms

    def observe(self, event: ServerEvent) -> None:
        """Take note of one of this response's events as it is sent."""
        self._state.observe(event)
        if isinstance(event, ResponseDoneEvent):
            self._finished = True  # sent, not only produced: a cancel now has nothing to end

    def truncated(self, item_id: str, audio_end_ms: int) -> bool:
        """The client truncated one of this response's items; True if it was still streaming.

        An item still streaming stops: no more audio or transcript for it, its
        open part and the item itself close (status ``incomplete``) from the next
        event on, and the response goes on with its next output, if any.
        """
        if self._state.cut(item_id, audio_end_ms):
            self._cut.add(item_id)
            return True
        return False

    def _response(
        self, status: ResponseStatus, details: ResponseStatusDetails | None = None
    ) -> Response:
        done = status != "in_progress"
        return Response(
            id=self.id,
            object="realtime.response",
            status=status,
            status_details=details,
            output=self._state.response_output() if done else [],
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
        index = len(self._state.outputs)
        yield (
            t,
            ResponseOutputItemAddedEvent(
                event_id=self._ev_id(), response_id=self.id, output_index=index, item=item
            ),
        )
        if self._conversation is not None:
            yield (
                t,
                ConversationItemAddedEvent(
                    event_id=self._ev_id(), item=item, previous_item_id=self._conversation.last_id
                ),
            )

    def _close(self, item_id: str, t: float) -> Iterator[Emit]:
        """Close the item from what the client has received (cut items as incomplete).

        One event at a time, each worked out after the one before went out: a
        truncation between them makes the rest ``incomplete``, and an event
        produced but dropped (see :meth:`SessionLogic._on_conversation_item_truncate`)
        is produced again.
        """
        for _ in range(_MAX_CLOSING_EVENTS):  # each turn sends one, so the list shrinks
            output = self._state.find(item_id)
            if output is None:
                return
            status: ItemStatus = "incomplete" if item_id in self._cut else "completed"
            events = self._state.closing(output, status)
            if not events:
                return
            yield t, events[0]

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
        index = len(self._state.outputs)
        yield from self._open(item, t)
        ids = _Ids(response_id=self.id, item_id=item_id, output_index=index)
        yield (
            t,
            ResponseContentPartAddedEvent(
                event_id=self._ev_id(),
                **ids.kw(),
                content_index=0,
                part=ResponseContentPart(type="text", text=""),
            ),
        )
        for piece in text_pieces(text):
            t += TEXT_DELTA_S
            self._text_tokens += 1
            yield (
                t,
                ResponseOutputTextDeltaEvent(
                    event_id=self._ev_id(), **ids.kw(), content_index=0, delta=piece
                ),
            )
        yield from self._close(item_id, t)
        return t

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
        index = len(self._state.outputs)
        yield from self._open(item, t)
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
        per_ms = bytes_per_ms(self._format)
        position_ms = 0
        chunk = 0
        while (position_ms < duration_ms or said < len(pieces)) and item_id not in self._cut:
            step = AUDIO_CHUNKS_MS[min(chunk, len(AUDIO_CHUNKS_MS) - 1)]
            end_ms = min(duration_ms, position_ms + step)
            # The transcript runs a little ahead of the audio, as the service's does.
            target = len(pieces) if end_ms >= duration_ms else len(pieces) * end_ms // duration_ms
            while said < target and item_id not in self._cut:
                said += 1
                self._text_tokens += 1
                yield (
                    t,
                    ResponseOutputAudioTranscriptDeltaEvent(
                        event_id=self._ev_id(), **ids.kw(), content_index=0, delta=pieces[said - 1]
                    ),
                )
            if end_ms > position_ms and item_id not in self._cut:
                stop = len(audio) if end_ms >= duration_ms else end_ms * per_ms
                self._audio_tokens += max(1, (end_ms - position_ms) // _AUDIO_MS_PER_TOKEN)
                yield (
                    t,
                    ResponseOutputAudioDeltaEvent(
                        event_id=self._ev_id(),
                        **ids.kw(),
                        content_index=0,
                        delta=audio[position_ms * per_ms : stop],
                    ),
                )
                t = started + end_ms / 1000.0
            position_ms = end_ms
            chunk += 1
        yield from self._close(item_id, t)
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
        index = len(self._state.outputs)
        yield from self._open(item, t)
        for piece in text_pieces(reply.arguments):
            t += TEXT_DELTA_S
            self._text_tokens += 1
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
        yield from self._close(item_id, t)
        return t

    def cancel(self, reason: Literal["turn_detected", "client_cancelled"]) -> list[ServerEvent]:
        """End the response now: its open item closes as incomplete, then ``response.done``.

        The open item is closed from what the client has received: its part's
        ``.done`` events carry the transcript or text sent so far.

        Returns:
            The events to send, in order (already observed); empty if the
            response's ``response.done`` already went out. Closing events
            already sent are not repeated; those produced but not sent yet are.
        """
        if self._finished:
            return []
        self._finished = True
        self.status = "cancelled"
        out: list[ServerEvent] = []
        output = self._state.last_output
        if output is not None:
            out.extend(self._state.closing(output, "incomplete"))
        for event in out:  # all go out at once: the state can take them now
            self._state.observe(event)
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
