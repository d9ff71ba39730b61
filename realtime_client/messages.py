"""One simple view of any server event, and the last-turn accumulator.

:class:`ConversationMessage` is what :meth:`ConversationSession.receive_messages`
yields: every server event, typed or unknown, becomes one message whose
:attr:`~ConversationMessage.kind` says what happened and whose fields are
filled only where they apply. A hello world reads ``message.text`` until
``message.turn_finished`` and needs no protocol knowledge; the typed event
stays available as ``message.event``.

:class:`Turn` (defined in :mod:`realtime_client._turns` and re-exported here)
is ``session.last_turn``: the whole text, audio, transcript, function calls
and items of a response, finished on ``response.done``. The accumulator
that builds it is private (``TurnAccumulator`` was public before 0.3).

.. versionadded:: 0.2
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final, TypeAlias, final

import attrs

from . import events as ev
from ._reconnect_policy import SessionReconnected
from ._turns import FunctionCall, Turn, TurnStatus

__all__ = [
    "AnyServerEvent",
    "ConversationMessage",
    "FunctionCall",
    "MessageKind",
    "Turn",
    "TurnStatus",
]

AnyServerEvent: TypeAlias = "ev.ServerEvent | ev.UnknownServerEvent | SessionReconnected"
"""Any event the session can deliver: a typed GA event, an unknown one, or the
local :class:`~realtime_client.SessionReconnected`."""


class MessageKind(enum.Enum):
    """What a :class:`ConversationMessage` reports.

    .. versionadded:: 0.2
    """

    TEXT_DELTA = "text_delta"
    """A piece of the model's text (``response.output_text.delta``): see ``text``."""
    AUDIO_DELTA = "audio_delta"
    """A piece of the model's audio (``response.output_audio.delta``): see ``audio``."""
    TRANSCRIPT_DELTA = "transcript_delta"
    """A piece of the transcript of the model's audio: see ``transcript``."""
    INPUT_TRANSCRIPT = "input_transcript"
    """The finished transcript of the user's audio: see ``input_transcript``."""
    INPUT_TRANSCRIPT_DELTA = "input_transcript_delta"
    """A piece of the source transcript of a translation session: see ``input_transcript``.

    .. versionadded:: 0.3
    """
    FUNCTION_CALL = "function_call"
    """The model called a function and its arguments are complete: see ``function_call``."""
    ITEM_ADDED = "item_added"
    """An item joined the conversation (``conversation.item.added`` / ``.created``)."""
    ITEM_DONE = "item_done"
    """A conversation item is final (``conversation.item.done``)."""
    TURN_STARTED = "turn_started"
    """The model started a response (``response.created``)."""
    TURN_FINISHED = "turn_finished"
    """A response ended, in any status (``response.done``): see ``usage``."""
    SPEECH_STARTED = "speech_started"
    """Voice activity detection heard the user start speaking."""
    SPEECH_STOPPED = "speech_stopped"
    """Voice activity detection heard the user stop speaking."""
    ERROR = "error"
    """The server reported an error (the ``error`` event): see ``error``."""
    RECONNECTED = "reconnected"
    """The session carries on over a new connection: see ``reconnected``.

    .. versionadded:: 0.2"""
    OTHER = "other"
    """Anything else; the typed event is in ``event``."""


@final
@attrs.frozen(kw_only=True)
class ConversationMessage:
    """One server event, seen simply.

    Build it with :meth:`from_event`; the session does so for every event it
    yields from ``receive_messages()``. Each field is set only where it applies
    and is ``None`` otherwise, so ``print(message.text or "", end="")`` prints
    exactly the model's text and nothing else. Final ``*.done`` events that
    repeat a whole text (``response.output_text.done`` and the like) leave
    ``text``, ``transcript`` and ``audio`` unset, so printing the deltas never
    prints anything twice; their content is in the event and in the session's
    ``last_turn``.

    Items produced by a response are reported once per conversation change:
    ``conversation.item.added`` / ``.done`` give ``ITEM_ADDED`` / ``ITEM_DONE``;
    ``response.output_item.added`` / ``.done`` (the same items, seen from the
    response) are ``OTHER`` with ``item_id`` and ``response_id`` set.

    Messages are immutable and safe to pass between threads.

    Args:
        kind: What happened.
        event: The typed event underneath, or an
            :class:`~realtime_client.events.UnknownServerEvent`.
        text: A piece of the model's text (``TEXT_DELTA``).
        audio: A piece of the model's audio, in the session's output format (``AUDIO_DELTA``).
        transcript: A piece of the transcript of the model's audio (``TRANSCRIPT_DELTA``).
        input_transcript: The transcript of the user's audio (``INPUT_TRANSCRIPT``).
        function_call: The completed call (``FUNCTION_CALL``).
        item_id: The item the event concerns, when it concerns one.
        response_id: The response the event belongs to, when it belongs to one.
        error: The server's error (``ERROR``).
        usage: The response's token usage (``TURN_FINISHED``, when the server sent it).
        turn_finished: ``True`` exactly for ``response.done``.
        reconnected: What the reconnection did (``RECONNECTED``): the attempt,
            the items replayed, the seconds away, the audio dropped.

    .. versionadded:: 0.2
    """

    kind: MessageKind
    event: AnyServerEvent = attrs.field(repr=False)
    text: str | None = None
    audio: bytes | None = attrs.field(default=None, repr=False)
    transcript: str | None = None
    input_transcript: str | None = None
    function_call: FunctionCall | None = None
    item_id: str | None = None
    response_id: str | None = None
    error: ev.ErrorDetails | None = None
    usage: ev.Usage | None = None
    turn_finished: bool = False
    reconnected: SessionReconnected | None = None

    @classmethod
    def from_event(cls, event: AnyServerEvent) -> ConversationMessage:
        """Describe any server event as a message.

        Pure and total: every GA server event class and
        :class:`~realtime_client.events.UnknownServerEvent` maps to a message;
        an object of any other class maps to ``OTHER``. It does one dictionary
        look-up and builds one object, so it is cheap enough for every event.

        Args:
            event: The event, as the session decoded it.

        Returns:
            The message for the event.
        """
        build = _BUILDERS.get(type(event))
        if build is not None:
            return build(event)
        return _other(event)


# --- the per-class builders -------------------------------------------------------------------
# One function per event class that needs more than the generic look-up. `from_event` picks
# it with a single dict look-up on the exact class: no isinstance chain per event.

_Message = ConversationMessage
_Kind = MessageKind


def _text_delta(e: ev.ResponseOutputTextDeltaEvent) -> _Message:
    return _Message(
        kind=_Kind.TEXT_DELTA, event=e, text=e.delta, item_id=e.item_id, response_id=e.response_id
    )


def _audio_delta(e: ev.ResponseOutputAudioDeltaEvent) -> _Message:
    return _Message(
        kind=_Kind.AUDIO_DELTA,
        event=e,
        audio=e.delta,
        item_id=e.item_id,
        response_id=e.response_id,
    )


def _transcript_delta(e: ev.ResponseOutputAudioTranscriptDeltaEvent) -> _Message:
    return _Message(
        kind=_Kind.TRANSCRIPT_DELTA,
        event=e,
        transcript=e.delta,
        item_id=e.item_id,
        response_id=e.response_id,
    )


def _input_transcript(e: ev.ConversationItemInputAudioTranscriptionCompletedEvent) -> _Message:
    return _Message(
        kind=_Kind.INPUT_TRANSCRIPT, event=e, input_transcript=e.transcript, item_id=e.item_id
    )


def _function_call(e: ev.ResponseFunctionCallArgumentsDoneEvent) -> _Message:
    return _Message(
        kind=_Kind.FUNCTION_CALL,
        event=e,
        function_call=FunctionCall.from_event(e),
        item_id=e.item_id,
        response_id=e.response_id,
    )


def _item_added(e: ev.ConversationItemAddedEvent | ev.ConversationItemCreatedEvent) -> _Message:
    return _Message(kind=_Kind.ITEM_ADDED, event=e, item_id=e.item.id)


def _item_done(e: ev.ConversationItemDoneEvent) -> _Message:
    return _Message(kind=_Kind.ITEM_DONE, event=e, item_id=e.item.id)


def _turn_started(e: ev.ResponseCreatedEvent) -> _Message:
    return _Message(kind=_Kind.TURN_STARTED, event=e, response_id=e.response.id)


def _turn_finished(e: ev.ResponseDoneEvent) -> _Message:
    return _Message(
        kind=_Kind.TURN_FINISHED,
        event=e,
        response_id=e.response.id,
        usage=e.response.usage,
        turn_finished=True,
    )


def _speech_started(e: ev.InputAudioBufferSpeechStartedEvent) -> _Message:
    return _Message(kind=_Kind.SPEECH_STARTED, event=e, item_id=e.item_id)


def _speech_stopped(e: ev.InputAudioBufferSpeechStoppedEvent) -> _Message:
    return _Message(kind=_Kind.SPEECH_STOPPED, event=e, item_id=e.item_id)


def _error(e: ev.ErrorEvent) -> _Message:
    return _Message(kind=_Kind.ERROR, event=e, error=e.error)


def _item_event(
    e: ev.ConversationItemRetrievedEvent | ev.ResponseOutputItemAddedEvent,
) -> _Message:
    return _Message(
        kind=_Kind.OTHER,
        event=e,
        item_id=e.item.id,
        response_id=getattr(e, "response_id", None),
    )


def _unknown(e: ev.UnknownServerEvent) -> _Message:
    item_id = e.raw.get("item_id")
    response_id = e.raw.get("response_id")
    return _Message(
        kind=_Kind.OTHER,
        event=e,
        item_id=item_id if isinstance(item_id, str) else None,
        response_id=response_id if isinstance(response_id, str) else None,
    )


def _reconnected(e: SessionReconnected) -> _Message:
    return _Message(kind=_Kind.RECONNECTED, event=e, reconnected=e)


def _other(e: Any) -> _Message:
    item_id = getattr(e, "item_id", None)
    response_id = getattr(e, "response_id", None)
    return _Message(
        kind=_Kind.OTHER,
        event=e,
        item_id=item_id if isinstance(item_id, str) else None,
        response_id=response_id if isinstance(response_id, str) else None,
    )


_BUILDERS: Final[dict[type, Callable[[Any], ConversationMessage]]] = {
    ev.ResponseOutputTextDeltaEvent: _text_delta,
    ev.ResponseOutputAudioDeltaEvent: _audio_delta,
    ev.ResponseOutputAudioTranscriptDeltaEvent: _transcript_delta,
    ev.ConversationItemInputAudioTranscriptionCompletedEvent: _input_transcript,
    ev.ResponseFunctionCallArgumentsDoneEvent: _function_call,
    ev.ConversationItemAddedEvent: _item_added,
    ev.ConversationItemCreatedEvent: _item_added,
    ev.ConversationItemDoneEvent: _item_done,
    ev.ResponseCreatedEvent: _turn_started,
    ev.ResponseDoneEvent: _turn_finished,
    ev.InputAudioBufferSpeechStartedEvent: _speech_started,
    ev.InputAudioBufferSpeechStoppedEvent: _speech_stopped,
    ev.ErrorEvent: _error,
    ev.ConversationItemRetrievedEvent: _item_event,
    ev.ResponseOutputItemAddedEvent: _item_event,
    ev.ResponseOutputItemDoneEvent: _item_event,
    ev.UnknownServerEvent: _unknown,
    SessionReconnected: _reconnected,
}
