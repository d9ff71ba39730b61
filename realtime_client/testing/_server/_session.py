"""One session's protocol logic: what each client event does to the session's state.

:class:`SessionLogic` owns a session's configuration, conversation, input
audio buffer and active response. It runs on the connection's worker thread
only, so it needs no locks; it sends through the ``send`` callable it is given
and paces the active response through :meth:`SessionLogic.pump`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import attrs

from ...events import (
    CLIENT_EVENT_TYPES,
    AssistantMessageItem,
    ClientEvent,
    ConversationCreatedEvent,
    ConversationItem,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrievedEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncatedEvent,
    ConversationItemTruncateEvent,
    InputTextContent,
    ItemReference,
    OutputAudioBufferClearEvent,
    OutputTextContent,
    RateLimit,
    RateLimitsUpdatedEvent,
    RealtimeSessionConfig,
    ResponseCancelEvent,
    ResponseCreateEvent,
    ResponseOptions,
    ServerEvent,
    SessionConfig,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
    SystemMessageItem,
    UnknownClientEvent,
)
from ...events import Conversation as ConversationRecord
from ._audio import bytes_per_ms
from ._config import format_rate, merge_session
from ._conversation import Conversation, added_and_done
from ._input_audio import InputAudioHandlers
from ._replies import ErrorReply, Reply, ResponseRequest
from ._streaming import Emit, ResponseStream, estimate_input_tokens
from ._util import ServerErrorInfo, new_id
from ._vad import InputAudioBuffer

if TYPE_CHECKING:
    from ._connection import FakeConnection
    from ._settings import ServerSettings

__all__ = ["SessionLogic"]

log = logging.getLogger("realtime_client.testing")

MIN_COMMIT_MS: Final = 100
_SEMANTIC_SILENCE_MS: Final = {"low": 1500, "medium": 800, "auto": 800, "high": 300}
_RATE_LIMIT_TOKENS: Final = 40000


class SessionLogic(InputAudioHandlers):
    """The state and behaviour of one session.

    Args:
        settings: The server's settings.
        session: The session's initial configuration.
        send: Sends one event to the client.
        connection: The connection's public handle (given to responders).
    """

    def __init__(
        self,
        *,
        settings: ServerSettings,
        session: SessionConfig,
        send: Callable[[ServerEvent], None],
        connection: FakeConnection,
    ) -> None:
        self._settings = settings
        self.config: SessionConfig = session
        self._send = send
        self._connection = connection
        self.conversation = Conversation()
        self._buffer = InputAudioBuffer(rate=format_rate(self._input().format))
        self._pending_item_id: str | None = None
        self._transcripts: dict[str, str] = {}
        self._canned: list[Reply] | None = None
        responder = settings.responder
        if responder is not None and not callable(responder):
            self._canned = list(responder)
        self._stream: ResponseStream | None = None
        self._events: Generator[Emit, None, None] | None = None
        self._next: Emit | None = None
        self._started_at = 0.0
        self._pause_at_ms: int | None = None
        self._paused_since: float | None = None
        self.idle_deadline: float | None = None

    # --- helpers -------------------------------------------------------------------------

    def _ev(self) -> str:
        return new_id("event")

    @property
    def is_realtime(self) -> bool:
        """Whether this is a realtime (not a transcription) session."""
        return isinstance(self.config, RealtimeSessionConfig)

    # --- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        """Send what a new session sends first."""
        self._send(SessionCreatedEvent(event_id=self._ev(), session=self.config))
        if self.is_realtime:
            self._send(
                ConversationCreatedEvent(
                    event_id=self._ev(),
                    conversation=ConversationRecord(
                        id=self.conversation.id, object="realtime.conversation"
                    ),
                )
            )

    def handle(self, event: ClientEvent | UnknownClientEvent) -> None:
        """Act on one client event.

        Raises:
            ServerErrorInfo: The event is invalid here; the caller sends the ``error``.
        """
        if isinstance(event, UnknownClientEvent):
            raise ServerErrorInfo(
                f"Invalid value: '{event.type}'. Supported values are: "
                + ", ".join(f"'{name}'" for name in CLIENT_EVENT_TYPES)
                + ".",
                code="invalid_value",
                param="type",
            )
        handler = getattr(self, "_on_" + event.type.replace(".", "_"))
        handler(event)

    # --- session ---------------------------------------------------------------------------

    def _on_session_update(self, event: SessionUpdateEvent) -> None:
        old_rate = format_rate(self._input().format)
        self.config = merge_session(self.config, event.session)
        new_rate = format_rate(self._input().format)
        if new_rate != old_rate:
            self._buffer = InputAudioBuffer(rate=new_rate)
        self._send(SessionUpdatedEvent(event_id=self._ev(), session=self.config))

    def _on_output_audio_buffer_clear(self, event: OutputAudioBufferClearEvent) -> None:
        raise ServerErrorInfo(
            "output_audio_buffer.clear is only supported for WebRTC and SIP connections. Over "
            "a WebSocket, stop playback in the client and send conversation.item.truncate.",
            code="invalid_value",
            param="type",
        )

    # --- conversation --------------------------------------------------------------------------

    def _require_realtime(self, what: str) -> None:
        if not self.is_realtime:
            raise ServerErrorInfo(
                f"{what} is not supported in transcription sessions.",
                code="invalid_value",
                param="type",
            )

    def _on_conversation_item_create(self, event: ConversationItemCreateEvent) -> None:
        self._require_realtime("conversation.item.create")
        item = event.item
        if isinstance(item, AssistantMessageItem) and any(
            not isinstance(p, OutputTextContent) for p in item.content
        ):
            raise ServerErrorInfo(
                "Invalid 'item.content': assistant messages created by the client must hold "
                "'output_text' content.",
                code="invalid_value",
                param="item.content",
            )
        if isinstance(item, SystemMessageItem) and any(
            not isinstance(p, InputTextContent) for p in item.content
        ):
            raise ServerErrorInfo(
                "Invalid 'item.content': system messages must hold 'input_text' content.",
                code="invalid_value",
                param="item.content",
            )
        changes: dict[str, Any] = {}
        if getattr(item, "id", None) is None:
            changes["id"] = new_id("item")
        if hasattr(item, "object"):
            changes["object"] = "realtime.item"
        if hasattr(item, "status"):
            changes["status"] = "completed"
        item = attrs.evolve(cast(Any, item), **changes)
        previous = self.conversation.add(item, event.previous_item_id)
        for announced in added_and_done(item, previous):
            self._send(announced)

    def _on_conversation_item_retrieve(self, event: ConversationItemRetrieveEvent) -> None:
        item = self.conversation.retrieve(event.item_id)
        self._send(ConversationItemRetrievedEvent(event_id=self._ev(), item=item))

    def _on_conversation_item_delete(self, event: ConversationItemDeleteEvent) -> None:
        self.conversation.delete(event.item_id)
        self._send(ConversationItemDeletedEvent(event_id=self._ev(), item_id=event.item_id))

    def _on_conversation_item_truncate(self, event: ConversationItemTruncateEvent) -> None:
        self.conversation.truncate(event.item_id, event.content_index, event.audio_end_ms)
        if self._stream is not None and self._stream.truncated(event.item_id, event.audio_end_ms):
            # The item was still streaming: its audio stops here. An event of it
            # produced but not sent yet is dropped; the stream closes the item next.
            pending = self._next[1] if self._next is not None else None
            if getattr(pending, "item_id", None) == event.item_id:
                self._next = None
            self.resume_reply()
        self._send(
            ConversationItemTruncatedEvent(
                event_id=self._ev(),
                item_id=event.item_id,
                content_index=event.content_index,
                audio_end_ms=event.audio_end_ms,
            )
        )

    # --- responses ---------------------------------------------------------------------------

    def _on_response_create(self, event: ResponseCreateEvent) -> None:
        self._require_realtime("response.create")
        if self._stream is not None:
            raise ServerErrorInfo(
                "Conversation already has an active response in progress: "
                f"{self._stream.id}. Wait until the response is finished before creating a "
                "new one.",
                code="conversation_already_has_active_response",
                param=None,
            )
        options = event.response
        known = (None, "auto", "none", self.conversation.id)
        if options is not None and options.conversation not in known:
            raise ServerErrorInfo(
                f"Invalid 'response.conversation': conversation '{options.conversation}' "
                "not found. Expected 'auto', 'none' or the session's conversation id.",
                code="invalid_value",
                param="response.conversation",
            )
        self.start_response(options)

    def _context(self, options: ResponseOptions | None) -> tuple[ConversationItem, ...]:
        if options is None or options.input is None:
            return self.conversation.items
        items: list[ConversationItem] = []
        for index, entry in enumerate(options.input):
            if isinstance(entry, ItemReference):
                found = self.conversation.get(entry.id)
                if found is None:
                    raise ServerErrorInfo(
                        f"Invalid 'response.input[{index}].id': item '{entry.id}' not found.",
                        code="invalid_value",
                        param=f"response.input[{index}].id",
                    )
                items.append(found)
            else:
                items.append(entry)
        return tuple(items)

    def _replies(self, request: ResponseRequest) -> list[Reply]:
        responder = self._settings.responder
        try:
            if self._canned is not None:
                chosen: Reply | Sequence[Reply] = (
                    self._canned.pop(0) if self._canned else request.default()
                )
            elif responder is not None and callable(responder):
                chosen = responder(request)
            else:
                chosen = request.default()
        except Exception as exc:
            log.exception("the responder raised")
            self._connection._note_error(exc)
            return [ErrorReply(message=f"The responder raised {type(exc).__name__}: {exc}")]
        if isinstance(chosen, (str, bytes)) or not isinstance(chosen, Sequence):
            return [chosen]
        return list(chosen)

    def start_response(self, options: ResponseOptions | None) -> None:
        """Create a response: ask the responder, then stream it from the next :meth:`pump`."""
        assert isinstance(self.config, RealtimeSessionConfig)
        context = self._context(options)
        response_id = new_id("resp")
        request = ResponseRequest(
            response_id=response_id,
            session=self.config,
            options=options,
            items=context,
            connection=self._connection,
            transcripts=dict(self._transcripts),
        )
        out = self.config.audio.output if self.config.audio else None
        audio_options = options.audio.output if options and options.audio else None
        fmt = (audio_options.format if audio_options and audio_options.format else None) or (
            out.format if out else None
        )
        voice = (audio_options.voice if audio_options and audio_options.voice else None) or (
            out.voice if out else None
        )
        max_tokens = (
            options.max_output_tokens
            if options is not None and options.max_output_tokens is not None
            else self.config.max_output_tokens or "inf"
        )
        out_of_band = options is not None and options.conversation == "none"
        self._stream = ResponseStream(
            response_id=response_id,
            replies=self._replies(request),
            modalities=request.output_modalities,
            audio_format=fmt,
            voice=voice if isinstance(voice, str) else "marin",
            voice_speed=(out.speed if out and out.speed else 1.0),
            conversation=None if out_of_band else self.conversation,
            metadata=request.metadata,
            max_output_tokens=max_tokens,
            input_tokens=estimate_input_tokens(context, bytes_per_ms(self._input().format)),
            speech_engine=self._settings.speech_engine,
        )
        self.idle_deadline = None
        self._events = self._stream.events()
        self._next = None
        self._started_at = time.monotonic()

    def pause_reply(self, at_audio_ms: int) -> None:
        """Hold the reply once it has sent ``at_audio_ms`` of audio (this response or the next).

        The hold lasts until the reply is interrupted (cancelled, its item
        truncated) or :meth:`resume_reply`; client events are handled meanwhile.
        """
        self._pause_at_ms = at_audio_ms

    def resume_reply(self) -> None:
        """End a hold; the reply's pacing resumes where it stopped."""
        if self._paused_since is not None:
            self._started_at += time.monotonic() - self._paused_since
        self._pause_at_ms = None
        self._paused_since = None

    def _reply_held(self) -> bool:
        if self._pause_at_ms is None or self._stream is None:
            return False
        if self._stream.audio_ms_sent < self._pause_at_ms:
            return False
        if self._paused_since is None:
            self._paused_since = time.monotonic()
        return True

    def next_due(self) -> float | None:
        """When the active response's next event is due (monotonic time), or None."""
        if self._events is None or self._reply_held():
            return None
        if self._next is None:
            self._next = next(self._events, None)
            if self._next is None:
                self._end_response()
                return None
        return self._started_at + self._next[0] / self._settings.speed

    def pump(self) -> bool:
        """Send the active response's next event if it is due; True if one was sent."""
        due = self.next_due()
        if due is None or due > time.monotonic() or self._next is None:
            return False
        event = self._next[1]
        self._next = None
        if self._stream is not None:
            self._stream.observe(event)
        self._send(event)
        return True

    def _end_response(self) -> None:
        self.resume_reply()
        stream = self._stream
        self._stream = None
        self._events = None
        self._next = None
        if stream is None:
            return
        self._send(
            RateLimitsUpdatedEvent(
                event_id=self._ev(),
                rate_limits=[
                    RateLimit(name="requests", limit=5000, remaining=4999, reset_seconds=0.012),
                    RateLimit(
                        name="tokens",
                        limit=_RATE_LIMIT_TOKENS,
                        remaining=max(0, _RATE_LIMIT_TOKENS - stream.total_tokens),
                        reset_seconds=round(stream.total_tokens / _RATE_LIMIT_TOKENS * 60, 3),
                    ),
                ],
            )
        )
        self._arm_idle_timer()

    def cancel_response(self, reason: Literal["turn_detected", "client_cancelled"]) -> None:
        """Cancel the active response, sending its closing events."""
        if self._stream is None:
            return
        self.resume_reply()
        for event in self._stream.cancel(reason):
            self._send(event)
        if self._events is not None:
            self._events.close()
        self._end_response()

    def _on_response_cancel(self, event: ResponseCancelEvent) -> None:
        if self._stream is None or (
            event.response_id is not None and event.response_id != self._stream.id
        ):
            raise ServerErrorInfo(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                param=None,
            )
        self.cancel_response("client_cancelled")
