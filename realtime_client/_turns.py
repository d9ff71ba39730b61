"""Last-turn accumulation: the deltas of one response, assembled into a :class:`Turn`.

Re-exported from :mod:`realtime_client.messages`; import it from there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Final, Literal, final

import attrs

from . import events as ev

__all__ = ["FunctionCall", "Turn", "TurnAccumulator", "TurnStatus"]

_log = logging.getLogger("realtime_client")

TurnStatus = Literal["completed", "cancelled", "incomplete", "failed"]
"""How a response ended. ``cancelled`` and ``incomplete`` turns keep what was received."""

_FINAL_STATUSES: Final = frozenset({"completed", "cancelled", "incomplete", "failed"})


@final
@attrs.frozen(kw_only=True)
class FunctionCall:
    """A function call the model made, with its complete arguments.

    Args:
        name: The function's name.
        call_id: The id to answer with in the ``function_call_output`` item.
        arguments: The arguments as JSON text, exactly as the model wrote them.
        item_id: The id of the ``function_call`` item, when known.
        response_id: The id of the response that made the call, when known.

    .. versionadded:: 0.2
    """

    name: str
    call_id: str
    arguments: str
    item_id: str | None = None
    response_id: str | None = None

    @property
    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments decoded from JSON.

        Empty (or all-blank) arguments decode to ``{}``: models send them for
        functions without parameters.

        Raises:
            ValueError: The arguments are not JSON, or not a JSON object. The
                message names the function and the call id.
        """
        text = self.arguments
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"arguments of {self.name!r} (call {self.call_id}) are not valid JSON: {exc}"
            ) from exc
        if not isinstance(value, dict):
            raise ValueError(
                f"arguments of {self.name!r} (call {self.call_id}) must be a JSON object, "
                f"got {type(value).__name__}"
            )
        return value

    @classmethod
    def from_event(cls, event: ev.ResponseFunctionCallArgumentsDoneEvent) -> FunctionCall:
        """Build the call from ``response.function_call_arguments.done``.

        .. versionadded:: 0.2
        """
        return cls(
            name=event.name,
            call_id=event.call_id,
            arguments=event.arguments,
            item_id=event.item_id,
            response_id=event.response_id,
        )

    @classmethod
    def from_item(
        cls, item: ev.FunctionCallItem, *, response_id: str | None = None
    ) -> FunctionCall:
        """Build the call from a ``function_call`` conversation item.

        Args:
            item: The item, as reported in ``response.output_item.done`` or ``response.done``.
            response_id: The response that made the call, when known.
        """
        return cls(
            name=item.name,
            call_id=item.call_id or "",
            arguments=item.arguments,
            item_id=item.id,
            response_id=response_id,
        )


@final
@attrs.frozen(kw_only=True)
class Turn:
    """One finished response, assembled from its events.

    Built by the session's turn accumulator on ``response.done``. Text, transcript and
    audio are the concatenation of the response's content parts in output order
    (by output index, then content index), whatever order their deltas arrived
    in. A cancelled or incomplete turn holds what was received before it ended.

    Args:
        response_id: The server's response id.
        status: How the response ended.
        status_details: Why it was cancelled, cut short or failed, when the server said.
        text: All output text.
        audio: All output audio, in the session's output format.
        transcript: The transcript of the output audio.
        function_calls: The function calls with complete arguments, in output order.
        items: The output items, in output order, as last reported by the server.
        usage: Token usage, when the server sent it.
        metadata: The metadata given in ``response.create``, echoed by the server.
        conversation_id: The conversation the output went to, when the server named it.
        conversation: ``"auto"`` when the output joined the session's conversation,
            ``"none"`` for an out-of-band response.
        response: The server's response object from ``response.done``.

    .. versionadded:: 0.2
    """

    response_id: str | None
    status: TurnStatus
    status_details: ev.ResponseStatusDetails | None = None
    text: str = ""
    audio: bytes = attrs.field(default=b"", repr=lambda a: f"<{len(a)} bytes>")
    transcript: str = ""
    function_calls: tuple[FunctionCall, ...] = ()
    items: tuple[ev.ConversationItem, ...] = attrs.field(default=(), repr=False)
    usage: ev.Usage | None = None
    metadata: dict[str, str] | None = None
    conversation_id: str | None = None
    conversation: str = "auto"
    response: ev.Response | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def out_of_band(self) -> bool:
        """Whether the response was out of band (``conversation="none"``)."""
        return self.conversation == "none"


class _Part:
    """One content part being received: text, audio and transcript pieces."""

    __slots__ = ("audio", "output_index", "text", "text_final", "transcript", "transcript_final")

    def __init__(self, output_index: int) -> None:
        self.output_index = output_index
        self.text: list[str] = []
        self.text_final: str | None = None
        self.audio: list[bytes] = []
        self.transcript: list[str] = []
        self.transcript_final: str | None = None


class _Open:
    """Everything received so far for one response."""

    __slots__ = ("calls", "in_conversation", "items", "parts")

    def __init__(self) -> None:
        self.parts: dict[tuple[str, int], _Part] = {}
        self.items: dict[int, ev.ConversationItem] = {}
        self.calls: dict[str, tuple[int, FunctionCall]] = {}
        self.in_conversation = False


@final
class TurnAccumulator:
    """Assembles each response's events into a :class:`Turn`.

    Contract: one thread (the session's reader) calls :meth:`feed` with every
    server event, in the order received; ``feed`` returns the finished
    :class:`Turn` for ``response.done`` and ``None`` for anything else. The
    accumulator is not thread-safe and never raises for an event's content.

    Events are keyed by response id, item id and content index, so several
    responses in flight at once (a default response and out-of-band ones) and
    parts that arrive out of order land where they belong. Audio pieces are
    kept as a list and joined once, when the turn finishes. The state of a
    response is dropped when it finishes; at most ``max_open_responses``
    unfinished responses are kept (the oldest is dropped, with a warning, when a
    newer one would exceed the limit), so memory is bounded by the turns in flight.

    Args:
        max_open_responses: How many unfinished responses to keep at most.
        is_out_of_band: Decides whether a finished response was out of band,
            given the response and whether any of its items joined the
            conversation. Standing alone, the accumulator can only guess: by
            default a response with output is out of band when the server named
            no conversation and none of its items joined it. A session knows
            exactly and passes its own rule: only the responses it asked for
            with ``conversation="none"`` are out of band (the real server sends
            ``conversation_id: null`` for every response, and a session may
            not see the item events of every response).

    .. versionadded:: 0.2
    """

    def __init__(
        self,
        *,
        max_open_responses: int = 32,
        is_out_of_band: Callable[[ev.Response, bool], bool] | None = None,
    ) -> None:
        if max_open_responses < 1:
            raise ValueError(f"max_open_responses must be at least 1, got {max_open_responses}")
        self._max_open = max_open_responses
        self._is_out_of_band = is_out_of_band or _default_out_of_band
        self._open: dict[str, _Open] = {}
        self._item_response: dict[str, str] = {}  # item id -> open response id
        self._handlers: dict[type, Callable[[Any], Turn | None]] = {
            ev.ResponseCreatedEvent: self._on_created,
            ev.ResponseOutputItemAddedEvent: self._on_output_item,
            ev.ResponseOutputItemDoneEvent: self._on_output_item,
            ev.ResponseContentPartAddedEvent: self._on_content_part,
            ev.ResponseContentPartDoneEvent: self._on_content_part,
            ev.ResponseOutputTextDeltaEvent: self._on_text_delta,
            ev.ResponseOutputTextDoneEvent: self._on_text_done,
            ev.ResponseOutputAudioDeltaEvent: self._on_audio_delta,
            ev.ResponseOutputAudioTranscriptDeltaEvent: self._on_transcript_delta,
            ev.ResponseOutputAudioTranscriptDoneEvent: self._on_transcript_done,
            ev.ResponseFunctionCallArgumentsDoneEvent: self._on_call_done,
            ev.ConversationItemAddedEvent: self._on_conversation_item,
            ev.ConversationItemCreatedEvent: self._on_conversation_item,
            ev.ConversationItemDoneEvent: self._on_conversation_item,
            ev.ResponseDoneEvent: self._on_done,
        }

    @property
    def open_responses(self) -> int:
        """How many responses have started (or sent parts) and not finished."""
        return len(self._open)

    @property
    def handled_events(self) -> frozenset[type]:
        """The event classes :meth:`feed` uses (it ignores any other)."""
        return frozenset(self._handlers)

    def feed(self, event: object) -> Turn | None:
        """Take one server event; return the finished turn on ``response.done``.

        Args:
            event: Any server event, typed or unknown; events that carry nothing
                for a turn are ignored.

        Returns:
            The :class:`Turn` when ``event`` is ``response.done``, else ``None``.
        """
        handler = self._handlers.get(type(event))
        return None if handler is None else handler(event)

    def discard(self, response_id: str) -> None:
        """Forget an unfinished response (for example after the connection dropped)."""
        state = self._open.pop(response_id, None)
        if state is not None:
            self._forget_items(response_id, state)

    def clear(self) -> None:
        """Forget every unfinished response."""
        self._open.clear()
        self._item_response.clear()

    # --- state ------------------------------------------------------------------------------

    def _state(self, response_id: str) -> _Open:
        state = self._open.get(response_id)
        if state is None:
            if len(self._open) >= self._max_open:
                oldest = next(iter(self._open))
                _log.warning(
                    "dropping unfinished response %s: more than %d responses in flight",
                    oldest,
                    self._max_open,
                )
                self.discard(oldest)
            state = self._open[response_id] = _Open()
        return state

    def _part(self, response_id: str, item_id: str, output_index: int, index: int) -> _Part:
        state = self._state(response_id)
        part = state.parts.get((item_id, index))
        if part is None:
            part = state.parts[(item_id, index)] = _Part(output_index)
            self._item_response[item_id] = response_id
        return part

    def _forget_items(self, response_id: str, state: _Open) -> None:
        ids = {key[0] for key in state.parts}
        ids.update(item.id for item in state.items.values() if item.id)
        for item_id in ids:
            if self._item_response.get(item_id) == response_id:
                del self._item_response[item_id]

    # --- handlers ---------------------------------------------------------------------------

    def _on_created(self, e: ev.ResponseCreatedEvent) -> None:
        if e.response.id is not None:
            self._state(e.response.id)

    def _on_output_item(
        self, e: ev.ResponseOutputItemAddedEvent | ev.ResponseOutputItemDoneEvent
    ) -> None:
        self._state(e.response_id).items[e.output_index] = e.item
        if e.item.id:
            self._item_response[e.item.id] = e.response_id

    def _on_content_part(
        self, e: ev.ResponseContentPartAddedEvent | ev.ResponseContentPartDoneEvent
    ) -> None:
        part = self._part(e.response_id, e.item_id, e.output_index, e.content_index)
        if e.part.text is not None and e.part.text:
            part.text_final = e.part.text
        if e.part.transcript:
            part.transcript_final = e.part.transcript

    def _on_text_delta(self, e: ev.ResponseOutputTextDeltaEvent) -> None:
        self._part(e.response_id, e.item_id, e.output_index, e.content_index).text.append(e.delta)

    def _on_text_done(self, e: ev.ResponseOutputTextDoneEvent) -> None:
        self._part(e.response_id, e.item_id, e.output_index, e.content_index).text_final = e.text

    def _on_audio_delta(self, e: ev.ResponseOutputAudioDeltaEvent) -> None:
        self._part(e.response_id, e.item_id, e.output_index, e.content_index).audio.append(e.delta)

    def _on_transcript_delta(self, e: ev.ResponseOutputAudioTranscriptDeltaEvent) -> None:
        part = self._part(e.response_id, e.item_id, e.output_index, e.content_index)
        part.transcript.append(e.delta)

    def _on_transcript_done(self, e: ev.ResponseOutputAudioTranscriptDoneEvent) -> None:
        part = self._part(e.response_id, e.item_id, e.output_index, e.content_index)
        part.transcript_final = e.transcript

    def _on_call_done(self, e: ev.ResponseFunctionCallArgumentsDoneEvent) -> None:
        call = FunctionCall.from_event(e)
        self._state(e.response_id).calls[e.call_id] = (e.output_index, call)
        self._item_response[e.item_id] = e.response_id

    def _on_conversation_item(
        self,
        e: ev.ConversationItemAddedEvent
        | ev.ConversationItemCreatedEvent
        | ev.ConversationItemDoneEvent,
    ) -> None:
        response_id = self._item_response.get(e.item.id) if e.item.id else None
        if response_id is not None:
            state = self._open.get(response_id)
            if state is not None:
                state.in_conversation = True

    def _on_done(self, e: ev.ResponseDoneEvent) -> Turn:
        response = e.response
        state = self._open.pop(response.id, None) if response.id is not None else None
        if state is None:
            state = _Open()
        elif response.id is not None:
            self._forget_items(response.id, state)
        return _finish(response, state, self._is_out_of_band)


def _default_out_of_band(response: ev.Response, joined_conversation: bool) -> bool:
    """The stand-alone guess (see ``TurnAccumulator``); sessions pass their own rule."""
    if response.conversation_id is not None or joined_conversation:
        return False
    return bool(response.output)


def _finish(
    response: ev.Response, state: _Open, is_out_of_band: Callable[[ev.Response, bool], bool]
) -> Turn:
    # Items: what arrived in response.output_item.*, overridden by the server's final list.
    items = dict(state.items)
    for index, item in enumerate(response.output or ()):
        items[index] = item
    ordered_items = tuple(items[i] for i in sorted(items))

    # Content: the received parts, plus parts that only the final items carry.
    pieces: list[tuple[int, int, str, list[bytes], str]] = []
    seen: set[tuple[str, int]] = set()
    for (item_id, index), part in state.parts.items():
        seen.add((item_id, index))
        text = part.text_final if part.text_final is not None else "".join(part.text)
        transcript = (
            part.transcript_final
            if part.transcript_final is not None
            else "".join(part.transcript)
        )
        pieces.append((part.output_index, index, text, part.audio, transcript))
    for output_index in sorted(items):
        item = items[output_index]
        if not isinstance(item, ev.AssistantMessageItem):
            continue
        for index, content in enumerate(item.content):
            if (item.id or "", index) in seen:
                continue
            if isinstance(content, ev.OutputTextContent):
                pieces.append((output_index, index, content.text or "", [], ""))
            elif isinstance(content, ev.OutputAudioContent):
                pieces.append(
                    (output_index, index, "", [content.audio or b""], content.transcript or "")
                )
    pieces.sort(key=lambda p: (p[0], p[1]))

    # Function calls: complete arguments from the events, plus calls only the items carry.
    calls = dict(state.calls)
    for output_index, item in items.items():
        if (
            isinstance(item, ev.FunctionCallItem)
            and item.call_id
            and item.call_id not in calls
            and item.status in (None, "completed")
        ):
            calls[item.call_id] = (
                output_index,
                FunctionCall.from_item(item, response_id=response.id),
            )

    status = response.status if response.status in _FINAL_STATUSES else "incomplete"
    out_of_band = is_out_of_band(response, state.in_conversation)
    return Turn(
        response_id=response.id,
        status=status,  # type: ignore[arg-type]  # narrowed by _FINAL_STATUSES
        status_details=response.status_details,
        text="".join(p[2] for p in pieces),
        audio=b"".join(chunk for p in pieces for chunk in p[3]),  # the one copy of the audio
        transcript="".join(p[4] for p in pieces),
        function_calls=tuple(c for _, c in sorted(calls.values(), key=lambda v: v[0])),
        items=ordered_items,
        usage=response.usage,
        metadata=response.metadata,
        conversation_id=response.conversation_id,
        conversation="none" if out_of_band else "auto",
        response=response,
    )
