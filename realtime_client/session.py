"""ConversationSession: one open Realtime conversation, a facade over composed parts.

The parts, each owning its own state, wired by
:class:`~realtime_client._session_core.SessionCore` (the lifecycle
``NEW -> OPEN -> CLOSING -> CLOSED`` and the one close path, shared with
:class:`~realtime_client.TranslationSession`):

* a :class:`~realtime_client._connection.Connection`: the transport, the
  reader and writer threads, the send queue and the one termination record;
* an :class:`~realtime_client._pump.EventPump`: decodes each frame, lets the
  observers see it (the session's own, then the conversation layer), runs the
  callbacks and hands events to iterators;
* the :class:`~realtime_client._session_conversation.ConversationLayer`:
  turns, items, usage, tools and the response queue.

This module holds the conversation's public methods: they check and encode on
the caller's thread (so a bad argument raises where it was passed) and
delegate. The lifecycle, callback and iteration methods, the same for a
:class:`~realtime_client.TranslationSession`, come from
:class:`~realtime_client._facade.SessionFacade`. See ``docs/threading.md``.
"""

from __future__ import annotations

import json
import logging
import threading
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar, overload

from . import events as ev
from ._callbacks import CloseInfo
from ._checks import check_callable, check_instance, check_text, encode_event
from ._config import ConversationOptions
from ._facade import SessionFacade, checked_callbacks
from ._frames import append_frame, append_frames
from ._responses import ResponseHandle
from ._session_conversation import conversation_core
from ._session_core import SessionState
from ._transport import Transport
from ._turns import Turn
from .conversation import ConversationState
from .errors import (
    UsageError,
)
from .messages import AnyServerEvent, ConversationMessage
from .tools import ToolRegistry
from .usage import UsageTracker

__all__ = ["CloseInfo", "ConversationSession", "ResponseHandle", "SessionState"]

_log = logging.getLogger("realtime_client")

F = TypeVar("F", bound=Callable[..., object])

DEFAULT_PING_INTERVAL: Final = 20.0
DEFAULT_PONG_TIMEOUT: Final = 20.0
DEFAULT_CLOSE_TIMEOUT: Final = 5.0


@typing.final
class ConversationSession(SessionFacade[AnyServerEvent]):
    """An open Realtime conversation: send events, receive events and messages.

    Usually made by :meth:`ConversationClient.start_conversation
    <realtime_client.ConversationClient.start_conversation>`, which returns it
    open. Tests build one directly over a
    :class:`~realtime_client.testing.FakeTransport`.

    Use it as a context manager: leaving the block closes it, also on an
    exception.

    Args:
        transport: The connection (already connected).
        options: Local behaviour (event buffering, send queue size, ...).
        on_error: Called with every reported error: a failing callback, a bad
            frame (:class:`~realtime_client.ProtocolError`), a server ``error``
            event (as :class:`~realtime_client.ServerError`), the terminal error.
        on_close: Called once, last, with a :class:`CloseInfo`.
        ping_interval: Seconds of silence from the server after which a ping
            is sent.
        pong_timeout: Seconds more of silence after which the connection is
            dead (``ping_interval + pong_timeout`` in all, idle or streaming)
            and the session closes with
            :class:`~realtime_client.ConnectionClosedError`. None never gives up.
        close_timeout: Default bound, in seconds, of :meth:`close`.
        call_id: The SIP/WebRTC call this session controls, if any.
        model: The session's model, to price its usage (``session.usage``).
        reconnect: Opens a new connection when the session reconnects (the
            client passes its own); without it ``options.reconnect`` does nothing.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 The conversation layer: ``last_turn``, ``items``,
       ``usage``, ``tools``, ``ask()``; ``create_response()`` returns a handle.
    .. versionchanged:: 0.3 Composed of a connection, an event pump and the
       conversation layer (no mixins); arguments checked before anything starts.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        options: ConversationOptions | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        pong_timeout: float | None = DEFAULT_PONG_TIMEOUT,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        call_id: str | None = None,
        model: str | None = None,
        reconnect: Callable[[], Transport] | None = None,
    ) -> None:
        callbacks = checked_callbacks(
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            on_error=on_error,
            on_close=on_close,
        )
        check_instance("options", options, ConversationOptions)
        check_text("call_id", call_id)
        check_text("model", model)
        check_callable("reconnect", reconnect)
        self._options = options = options or ConversationOptions()
        self._call_id = call_id
        core = conversation_core(
            transport,
            options=options,
            callbacks=callbacks,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            model=model,
            reconnect=reconnect,
        )
        super().__init__(core, callbacks)
        self._layer = core.layer  # the parts the public methods delegate to
        self._enqueue = core.enqueue

    @property
    def call_id(self) -> str | None:
        """The SIP/WebRTC call this session controls, if any."""
        return self._call_id

    @property
    def options(self) -> ConversationOptions:
        """The options the session was made with."""
        return self._options

    @property
    def _reader_thread(self) -> threading.Thread:
        return self._core.conn.reader

    def _begin(
        self,
        *,
        config: ev.SessionConfig | None,
        seed: list[str] | None,
        created_timeout: float | None,
    ) -> None:
        """The client's factory starts the session here: open, wait for
        ``session.created`` (unless ``created_timeout`` is None: a sideband
        socket joins an existing session), then send the first configuration
        (with the registered tools after the explicit ones) and the seeded items."""
        config = self._layer.first_config(config)
        self.open()
        if created_timeout is not None:
            self.wait_created(created_timeout)
        if config is not None:
            self.send(ev.SessionUpdateEvent(session=config))
        if seed:
            self._enqueue(seed)

    # --- receiving -------------------------------------------------------------------------------

    def receive_messages(self, timeout: float | None = None) -> Iterator[ConversationMessage]:
        """Iterate over received events as :class:`~realtime_client.ConversationMessage`.

        The simple view: ``message.text``, ``message.audio``, ``message.transcript``,
        ``message.error``, ``message.turn_finished`` and more, each filled only
        where it applies; the typed event stays in ``message.event``.

        Args:
            timeout: Seconds to wait for each next message (``None``: forever).

        Raises:
            As :meth:`events`.
        """
        events = self.events(timeout)
        from_event = ConversationMessage.from_event
        return (from_event(event) for event in events)

    # --- sending ---------------------------------------------------------------------------------

    def send(self, event: ev.ClientEvent, *, timeout: float | None = None) -> None:
        """Send any typed client event.

        With ``timeout=None``, while nothing waits to be sent, the calling thread
        writes the frame to the socket itself and returns once the network took
        it; otherwise (a timeout, a send from a callback, frames waiting) it is
        queued for the writer thread (the threading guide has the details).

        Args:
            event: The event, for example :class:`~realtime_client.events.ResponseCancelEvent`.
            timeout: Seconds to wait for room in the send queue (``None``: as long
                as it takes). With a timeout, the call never waits on the network.

        Raises:
            TypeError: The event is not a client event.
            ValueError: A field has the wrong type or value (the message names it).
            SessionClosedError: The session is closed.
            SendQueueFullError: The send queue stayed full for ``timeout`` seconds.
            ConnectionClosedError: The connection failed while this thread wrote the frame.
        """
        if type(event) is ev.InputAudioBufferAppendEvent:
            frame = append_frame(event)  # the hot path of a live conversation
        else:
            frame = encode_event(event)
        self._enqueue([frame], timeout)

    def update_session(self, session: ev.SessionConfig | ConversationOptions) -> None:
        """Change the session's configuration (``session.update``).

        Args:
            session: A realtime or transcription session config, or
                :class:`~realtime_client.ConversationOptions` (its session settings
                are sent; its local behaviour settings are not changed).
        """
        if isinstance(session, ConversationOptions):
            session = session.session_config()
        self.send(ev.SessionUpdateEvent(session=session))

    def send_text(
        self, text: str, *, respond: bool = True, response: ev.ResponseOptions | None = None
    ) -> None:
        """Add a user message with ``text`` and, by default, ask for a response.

        Args:
            text: What the user says.
            respond: Also ask for a response: queued behind the active one, if
                any, as :meth:`create_response` does.
            response: Options for that response.

        .. versionchanged:: 0.2 The response waits for the active one to end.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        item = ev.UserMessageItem(content=[ev.InputTextContent(text=text)])
        self._send_then_respond(ev.ConversationItemCreateEvent(item=item), respond, response)

    def _send_then_respond(
        self, event: ev.ClientEvent, respond: bool, response: ev.ResponseOptions | None
    ) -> None:
        frame = encode_event(event)
        if respond:
            self._request_response(response, [frame])
        else:
            self._enqueue([frame])

    def send_audio(
        self, audio: bytes | bytearray | memoryview, *, timeout: float | None = None
    ) -> None:
        """Append audio to the input buffer, split into chunks the server accepts.

        The audio must be in the session's input format (by default 16-bit
        little-endian mono PCM at 24 kHz). With server turn detection, the
        server decides when the user's turn ends; with manual turns, call
        :meth:`commit_audio` and then :meth:`create_response`.

        With ``timeout=None``, while nothing waits to be sent, the calling thread
        writes the frames itself (a burst waits on the network, not in a queue);
        with a timeout they are queued for the writer thread (the threading guide has the details).

        Args:
            audio: Raw audio bytes. Empty audio sends nothing.
            timeout: Seconds to wait for room in the send queue; None waits as
                long as it takes, 0 never waits (for an audio callback). With a
                timeout, the call never waits on the network.

        Raises:
            SendQueueFullError: The send queue stayed full for ``timeout``
                seconds; none of ``audio`` was queued.
            SessionClosedError: The session is closed.
            ConnectionClosedError: The connection failed while this thread wrote the audio.
        """
        frames = append_frames(audio)
        if frames:
            self._enqueue(frames, timeout)

    def commit_audio(self) -> None:
        """Commit the input buffer as a user message (manual turns)."""
        self.send(ev.InputAudioBufferCommitEvent())

    def clear_audio(self) -> None:
        """Discard the audio in the input buffer."""
        self.send(ev.InputAudioBufferClearEvent())

    def cancel_response(self, response_id: str | None = None) -> None:
        """Cancel the active response, or the one named ``response_id``.

        A cancelled response still ends with ``response.done`` (status
        ``cancelled``).
        """
        self.send(ev.ResponseCancelEvent(response_id=response_id))

    def submit_tool_response(self, call_id: str, output: Any, *, respond: bool = True) -> None:
        """Answer a function call and, by default, ask for the next response.

        Args:
            call_id: The ``call_id`` of the model's function call.
            output: The result: a string is sent as is, anything else as JSON.
            respond: Also ask for the next response (queued behind the active
                one, if any). Sessions with registered tools answer their calls
                themselves; this is for calls you handle yourself.

        Raises:
            TypeError: ``output`` is neither a string nor JSON-serializable.
        """
        if not isinstance(call_id, str) or not call_id:
            raise TypeError("call_id must be a non-empty str")
        if not isinstance(output, str):
            try:
                output = json.dumps(output, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"tool output is not JSON-serializable: {exc}") from None
        item = ev.FunctionCallOutputItem(call_id=call_id, output=output)
        self._send_then_respond(ev.ConversationItemCreateEvent(item=item), respond, None)

    def create_item(
        self, item: ev.ConversationItem, *, previous_item_id: str | None = None
    ) -> None:
        """Add ``item`` to the conversation, after ``previous_item_id`` if given."""
        self.send(ev.ConversationItemCreateEvent(item=item, previous_item_id=previous_item_id))

    def retrieve_item(self, item_id: str) -> None:
        """Ask for ``item_id`` as it stands; the answer is ``conversation.item.retrieved``."""
        self.send(ev.ConversationItemRetrieveEvent(item_id=item_id))

    def delete_item(self, item_id: str) -> None:
        """Remove ``item_id`` from the conversation."""
        self.send(ev.ConversationItemDeleteEvent(item_id=item_id))

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        """Cut an assistant audio item at ``audio_end_ms``: what the user actually heard.

        Raises:
            ValueError: ``content_index`` or ``audio_end_ms`` is negative.
        """
        if content_index < 0 or audio_end_ms < 0:
            raise ValueError("content_index and audio_end_ms must not be negative")
        self.send(
            ev.ConversationItemTruncateEvent(
                item_id=item_id, content_index=content_index, audio_end_ms=audio_end_ms
            )
        )

    def clear_output_audio(self) -> None:
        """Stop the audio the server is playing to a WebRTC or SIP call.

        Raises:
            UsageError: This session is not attached to a call: over a plain
                WebSocket the client plays the audio itself (stop your player
                and call :meth:`truncate_item`).
        """
        if self._call_id is None:
            raise UsageError(
                "output_audio_buffer.clear applies only to WebRTC/SIP calls "
                "(a session opened with attach_call)"
            )
        self.send(ev.OutputAudioBufferClearEvent())

    # --- the conversation ------------------------------------------------------------------------

    @property
    def last_turn(self) -> Turn | None:
        """The last response that finished in the conversation, whole (``None`` before).

        Updated on the reader thread before the ``response.done`` that finishes
        it reaches callbacks and iterators. Out-of-band responses go to their
        :class:`~realtime_client.session.ResponseHandle` instead. Always ``None``
        with ``ConversationOptions(accumulate_last_turn=False)``.

        .. versionadded:: 0.2
        """
        return self._layer.last_turn

    @property
    def items(self) -> list[ev.ConversationItem]:
        """A snapshot of the conversation's items, in the server's order.

        User audio items carry their input transcript once it arrived, even
        when it came after the assistant's reply.

        .. versionadded:: 0.2
        """
        return list(self._layer.state.items)

    @property
    def conversation(self) -> ConversationState:
        """The live conversation state (thread-safe reads), for ``get()`` and the like.

        .. versionadded:: 0.2
        """
        return self._layer.state

    def export_items(self) -> list[dict[str, Any]]:
        """The conversation as JSON-ready dictionaries, for :meth:`seed` or
        ``start_conversation(items=...)`` in a new session.

        .. versionadded:: 0.2
        """
        return self._layer.state.export()

    def seed(self, items: Iterable[ev.ConversationItem | Mapping[str, Any]]) -> int:
        """Recreate an exported conversation in this session (before its first response).

        Every entry is checked before anything is sent. Audio the server did
        not return becomes its transcript, as text.

        Args:
            items: What :meth:`export_items` returned (for example read back
                with ``json.load``), or item objects.

        Returns:
            How many items were sent.

        Raises:
            ValueError: An entry is not a valid item; the message gives its position.
            SessionClosedError: The session is closed.

        .. versionadded:: 0.2
        """
        events = ConversationState.seed_events(items)
        frames = [encode_event(event) for event in events]
        if frames:
            self._enqueue(frames)
        return len(frames)

    @property
    def usage(self) -> UsageTracker:
        """Token usage per turn and per session, by modality, and the estimated cost.

        .. versionadded:: 0.2
        """
        return self._layer.usage

    @property
    def tools(self) -> ToolRegistry:
        """The function tools the model may call; the session runs their calls.

        Registering or removing one while the session is open sends the new
        tool list to the server (``session.update``).

        .. versionadded:: 0.2
        """
        return self._layer.tools

    @overload
    def tool(self, function: F, /) -> F: ...

    @overload
    def tool(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        follow_up: bool = True,
        timeout: float | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        function: F | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        follow_up: bool = True,
        timeout: float | None = None,
    ) -> F | Callable[[F], F]:
        """Register a function tool: ``@session.tool`` or ``@session.tool(...)``.

        The same as :meth:`ToolRegistry.register <realtime_client.tools.ToolRegistry.register>`
        on :attr:`tools`; see it for the arguments.

        .. versionadded:: 0.2
        """
        if function is not None:
            return self._layer.tools.register(function)
        return self._layer.tools.register(
            name=name,
            description=description,
            parameters=parameters,
            follow_up=follow_up,
            timeout=timeout,
        )

    def create_response(self, options: ev.ResponseOptions | None = None) -> ResponseHandle:
        """Ask the model for a response, without racing the one already active.

        The request is queued and sent as soon as no response is active (or,
        with ``ConversationOptions(response_conflict="cancel")``, after
        cancelling the active one), so the server never refuses it with
        ``conversation_already_has_active_response``. It never blocks, so a
        callback may call it. The session tags the request: its ``event_id``
        and a ``metadata`` entry ``"realtime_client.request"``.

        Args:
            options: Per-response settings: instructions, modalities, tools,
                ``conversation="none"`` for an out-of-band response (delivered to
                the handle only, never to :attr:`last_turn`), metadata, input.

        Returns:
            A handle: ``handle.result(timeout)`` is the finished turn.

        Raises:
            ProtocolError: The options do not encode (the message names the field).
            ValueError: ``options.metadata`` already holds 16 pairs.
            SessionClosedError: The session is closed.

        .. versionchanged:: 0.2 Queued behind the active response; returns a handle.
        """
        return self._layer.gate.request(options, want_turn=True)

    def _request_response(self, options: ev.ResponseOptions | None, before: list[str]) -> None:
        self._layer.gate.request(options, want_turn=False, before=before)

    def ask(
        self,
        prompt: str | bytes | bytearray | memoryview,
        *,
        timeout: float | None = None,
        response: ev.ResponseOptions | None = None,
    ) -> Turn:
        """Say something and wait for the model's whole answer.

        Text becomes a user text message; bytes become a user audio message
        (in the session's input format, by default 24 kHz 16-bit mono PCM),
        sent as one item, so server turn detection does not act on it. The
        response is queued behind any active one, as :meth:`create_response`.

        Args:
            prompt: What the user says: text, or audio bytes.
            timeout: Seconds to wait for the answer (``None``: until it comes or
                the session closes).
            response: Options for the response.

        Returns:
            The finished turn (also in :attr:`last_turn` for an in-conversation
            response with accumulation on).

        Raises:
            WaitTimeoutError: No answer within ``timeout``; the response goes on.
            ServerError: The server refused the request.
            SessionClosedError: The session closed first.
            TypeError: ``prompt`` is neither text nor bytes.
            ValueError: ``prompt`` is empty.
            UsageError: Called from a callback (it would block the reader thread).

        .. versionadded:: 0.2
        """
        if threading.current_thread() is self._reader_thread:
            raise UsageError(
                "ask() waits for the reader thread, so it cannot run in a callback: "
                "use create_response() and add_done_callback()"
            )
        if isinstance(prompt, str):
            content: list[ev.UserContent] = [ev.InputTextContent(text=prompt)]
        elif isinstance(prompt, (bytes, bytearray, memoryview)):
            content = [ev.InputAudioContent(audio=bytes(prompt))]
        else:
            raise TypeError(f"prompt must be str or bytes, got {type(prompt).__name__}")
        if not prompt:
            raise ValueError("prompt must not be empty")
        # Named by the session, so that a reconnection can tell whether the
        # server had it before the drop (and send it again only if not).
        message = ev.UserMessageItem(id=f"item_rc{uuid.uuid4().hex[:24]}", content=content)
        frame = encode_event(ev.ConversationItemCreateEvent(item=message))
        return self._layer.gate.request(response, want_turn=True, before=[frame]).result(timeout)
