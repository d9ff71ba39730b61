"""The conversation layer wired into a session: turns, items, usage, tools and responses.

:class:`ConversationLayer` is fed every server event on the session's reader
thread, before the event's callbacks run and before it is queued for
iteration, so ``session.last_turn``, ``session.items`` and ``session.usage``
are already up to date when a callback or an iterator sees the event.
It is an observer of the session's event pump (``observe`` and
``observe_undecodable``) and the conversation's
:class:`~realtime_client._session_core.Layer`;
:class:`~realtime_client.ConversationSession`'s public methods read and drive
it, and the writer thread calls :meth:`expire` for its deadlines.
:func:`conversation_core` wires it into a
:class:`~realtime_client._session_core.SessionCore`.
"""

from __future__ import annotations

import logging
import threading
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, final

import attrs

from . import events as ev
from ._callbacks import CallbackRegistry
from ._checks import encode_event
from ._config import ConversationOptions
from ._reconnect import Reconnector
from ._responses import ResponseGate, function_tool_names
from ._session_core import SessionCore, SessionState, Wire
from ._tool_runner import ToolBatch, ToolRunner
from ._transport import Transport
from ._turns import FunctionCall, Turn, TurnAccumulator, TurnStatus
from .conversation import ConversationState
from .errors import RealtimeError, SessionClosedError
from .tools import ToolRegistry
from .usage import UsageTracker

__all__ = ["CONVERSATION_WIRE", "ConversationLayer", "conversation_core"]

_log = logging.getLogger("realtime_client")


_ITEM_EVENTS: Final = (
    ev.ConversationItemAddedEvent,
    ev.ConversationItemCreatedEvent,
    ev.ConversationItemDoneEvent,
)


_CREATED: Final = ev.ResponseCreatedEvent
_DONE: Final = ev.ResponseDoneEvent
_CALL_DONE: Final = ev.ResponseFunctionCallArgumentsDoneEvent
_STATUSES: Final = frozenset(typing.get_args(ev.ResponseStatus))

CONVERSATION_WIRE: Final = Wire(
    decode=ev.decode_server_event,
    created=ev.SessionCreatedEvent,
    updated=ev.SessionUpdatedEvent,
    error=ev.ErrorEvent,
    undecodable_markers=('"response.',),  # refused frames the layer still needs
)
"""The conversation protocol, for the core (it has no goodbye of its own)."""


def _bytes_per_ms(fmt: ev.AudioFormat | None) -> int:
    """Bytes per millisecond of the output audio: 48 for 24 kHz PCM16, 8 for G.711."""
    return 8 if isinstance(fmt, (ev.AudioPCMU, ev.AudioPCMA)) else 48


def _bare_turn(response: ev.Response, out_of_band: bool) -> Turn:
    """A turn with no content, for a response that was not accumulated."""
    status: TurnStatus = "completed"
    if response.status in ("cancelled", "failed", "incomplete"):
        status = response.status
    return Turn(
        response_id=response.id,
        status=status,
        status_details=response.status_details,
        usage=response.usage,
        metadata=response.metadata,
        conversation_id=response.conversation_id,
        conversation="none" if out_of_band else "auto",
        response=response,
    )


@final
class ConversationLayer:
    """Everything the session derives from the events it receives.

    Contract: the reader thread calls :meth:`observe` with every event, in
    order; it never blocks there (tools run on their own threads, queued
    response requests are sent without waiting). Any thread reads the state,
    registers tools and asks for responses.

    Args:
        options: The session's options.
        send: Queues encoded frames for the writer.
        reader: The session's reader thread, or a function returning the one in use.
        model: The model, for prices.
        label: The session's part of its tool threads' names
            (``realtime-tool-<label>-<tool>``): its connection's number, as in
            ``realtime-reader-<n>``. None: a number of the tool runner's own.
    """

    def __init__(
        self,
        *,
        options: ConversationOptions,
        send: Callable[[list[str]], None],
        reader: threading.Thread | Callable[[], threading.Thread],
        model: str | None,
        wake: Callable[[], None] | None = None,
        label: Callable[[], str] | None = None,
    ) -> None:
        self._send = send
        self._accumulate = options.accumulate_last_turn
        per_ms = _bytes_per_ms(options.output_audio_format)
        self.state = ConversationState(audio_bytes_per_ms=per_ms)
        self.usage = UsageTracker(model=model, prices=options.prices)
        self.tools = ToolRegistry()
        for function in options.tools:
            self.tools.register(function)
        self._runner = ToolRunner(
            self.tools,
            timeout=options.tool_timeout,
            wake=wake,
            session=label,
        )
        self.gate = ResponseGate(
            send=send,
            conflict=options.response_conflict,
            reader=reader,
            start_timeout=options.response_start_timeout,
            wake=wake,
        )
        self._turns = TurnAccumulator(is_out_of_band=self._is_out_of_band)
        self._tracked: set[str] = set()  # accumulation off: responses a caller waits for
        self._calls: dict[str, list[FunctionCall]] = {}  # accumulation off: calls by response
        self.last_turn: Turn | None = None
        self.base_tools: list[ev.Tool] = []  # tools of the explicit config, not the registry's
        self._declared: frozenset[str] = frozenset()  # function tools the server reports
        self._table = self._dispatch_table()

    def first_config(self, config: ev.SessionConfig | None) -> ev.SessionConfig | None:
        """The configuration to send first: an explicit realtime config keeps
        its own tools (the app answers their calls) and gets the registry's
        after them; ``None`` when nothing is left to send."""
        if not isinstance(config, ev.RealtimeSessionConfig):
            return config
        self.base_tools = list(config.tools or ())
        config = attrs.evolve(config, tools=self.tools_config() or None)
        return None if config == ev.RealtimeSessionConfig() else config

    def tools_config(self) -> list[ev.Tool]:
        """The tools to put in the session config: the explicit ones, then the registry's."""
        return [*self.base_tools, *self.tools.definitions()]

    # --- the reader thread -----------------------------------------------------------------

    def _dispatch_table(self) -> dict[type, tuple[Callable[[Any], object], ...]]:
        """Built once: for each event class, the handlers :meth:`observe` runs, in order.

        Each part declares the events it handles (``handled_events``) and is
        fed through ``feed``; the layer adds its own steps where one part's
        answer drives another (a started response is tracked for its waiter;
        a finished one resolves its handle and runs its tools).
        """
        steps: list[tuple[Iterable[type], Callable[[Any], object]]] = [
            (self.state.handled_events, self.state.feed),
            ((_CREATED,), self._on_created),
            (self._turns.handled_events - {_DONE}, self._feed_turn),
            (self.usage.handled_events, self.usage.feed),
            ((_DONE,), self._on_done),
            (() if self._accumulate else (_CALL_DONE,), self._on_call),
            (self.gate.handled_events, self.gate.feed),
            ((ev.SessionCreatedEvent, ev.SessionUpdatedEvent), self._on_session),
        ]
        table: dict[type, tuple[Callable[[Any], object], ...]] = {}
        for kinds, handler in steps:
            for kind in kinds:
                table[kind] = (*table.get(kind, ()), handler)
        return table

    def observe(self, event: object) -> None:
        """Reader thread: apply one event to the state, the usage, the turn and the requests."""
        for handler in self._table.get(type(event), ()):
            handler(event)

    def _on_created(self, event: ev.ResponseCreatedEvent) -> None:
        request = self.gate.on_created(event.response)
        if request is not None and request.want_turn and event.response.id:
            self._tracked.add(event.response.id)

    def _on_done(self, event: ev.ResponseDoneEvent) -> None:
        self._finished(event.response, self._feed_turn(event))

    def _on_call(self, event: ev.ResponseFunctionCallArgumentsDoneEvent) -> None:
        """Accumulation off: keep the calls of each response, to run its tools."""
        self._calls.setdefault(event.response_id, []).append(FunctionCall.from_event(event))

    def _on_session(self, event: ev.SessionCreatedEvent | ev.SessionUpdatedEvent) -> None:
        tools = getattr(event.session, "tools", None)
        if tools is not None:
            self._declared = frozenset(function_tool_names(tools))

    def observe_undecodable(self, raw: object) -> None:
        """Reader thread: a frame the decoder refused (already reported as a
        :class:`~realtime_client.ProtocolError`).

        A refused ``response.created`` or ``response.done`` still starts or
        ends its response here, from the few fields that can be read (the
        response's id, status and metadata), so the response queue never waits
        for an end it already missed. A finished response becomes a turn of
        what its other events carried (``status`` ``"incomplete"`` when the
        frame's status is unreadable, no usage), which resolves its handle and
        runs its tools as usual.
        """
        if not isinstance(raw, dict):
            return
        kind = raw.get("type")
        fields = raw.get("response")
        if kind not in ("response.created", "response.done") or not isinstance(fields, dict):
            return
        response_id = fields.get("id")
        if not isinstance(response_id, str) or not response_id:
            return
        metadata = fields.get("metadata")
        status = fields.get("status")
        response = ev.Response(
            id=response_id,
            status=status if status in _STATUSES else None,
            metadata=metadata
            if isinstance(metadata, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
            else None,
        )
        if kind == "response.created":
            request = self.gate.on_created(response)
            if request is not None and request.want_turn:
                self._tracked.add(response_id)
            self._feed_turn(ev.ResponseCreatedEvent(event_id="", response=response))
        else:
            done = ev.ResponseDoneEvent(event_id="", response=response)
            self._finished(response, self._feed_turn(done))

    def _feed_turn(self, event: object) -> Turn | None:
        if self._accumulate:
            return self._turns.feed(event)
        if not self._tracked:
            return None  # accumulation off and nobody waiting: nothing is kept
        kind = type(event)
        if kind is _CREATED or kind is _DONE:
            response_id = event.response.id  # type: ignore[attr-defined]
        elif kind in _ITEM_EVENTS:
            return self._turns.feed(event)
        else:
            response_id = getattr(event, "response_id", None)
        return self._turns.feed(event) if response_id in self._tracked else None

    def _is_out_of_band(self, response: ev.Response, joined_conversation: bool = False) -> bool:
        """The session's one rule: a response is out of band only when the
        session's own request asked for ``conversation="none"``. A response the
        session did not ask for (server VAD, another client on the same call)
        is in the conversation, whatever its ``conversation_id`` (the server
        sends ``null`` there)."""
        return self.gate.is_out_of_band(response.id)

    def _finished(self, response: ev.Response, turn: Turn | None) -> None:
        response_id = response.id or ""
        self._tracked.discard(response_id)
        calls: Sequence[FunctionCall] = self._calls.pop(response_id, ())
        if turn is not None:
            calls = turn.function_calls
            out_of_band = turn.out_of_band
        else:
            out_of_band = self._is_out_of_band(response)
        if self._accumulate and turn is not None and not out_of_band:
            self.last_turn = turn  # before the event reaches callbacks and iterators
        request = self.gate.on_done(response)
        if request is not None:
            request.handle._resolve(turn=turn or _bare_turn(response, out_of_band))
        if calls and not out_of_band and response.status == "completed" and len(self.tools):
            self._run_tools(calls, request.tool_names if request is not None else frozenset())

    def _run_tools(self, calls: Sequence[FunctionCall], response_tools: frozenset[str]) -> None:
        """Run the calls of registered tools; leave the app's own tools to the app.

        A call to a tool the app declared itself (in an explicit session
        config, a ``session.update`` or the response's options) is answered by
        the app with ``submit_tool_response``. When a response mixes both, the
        session sends its outputs without a follow-up response: the app's
        ``submit_tool_response(..., respond=True)`` asks for it. A name nobody
        declared still gets an "unknown tool" error output, so the model is
        never left waiting.
        """
        declared = self._declared | response_tools | function_tool_names(self.base_tools)
        ours = [c for c in calls if c.name in self.tools or c.name not in declared]
        if not ours:
            return
        follow_up = len(ours) == len(calls)
        self._runner.submit(ours).add_done_callback(
            lambda batch: self._answer_tools(batch, follow_up=follow_up)
        )

    # --- tools ------------------------------------------------------------------------------

    def _answer_tools(self, batch: ToolBatch, *, follow_up: bool = True) -> None:
        """A tool thread (or the reader): send every output, then one follow-up response."""
        outputs = [
            ev.encode_client_event(ev.ConversationItemCreateEvent(item=result.output_item()))
            for result in batch.results
        ]
        try:
            if follow_up and batch.follow_up:
                self.gate.request(None, want_turn=False, before=outputs)
            else:
                self._send(outputs)
        except RealtimeError as exc:
            _log.debug("tool outputs not sent, the session is closing: %s", exc)

    # --- closing ----------------------------------------------------------------------------

    def expire(self, now: float) -> tuple[list[str], float | None]:
        """Writer thread, at each timed wake-up: enforce the response start limit
        and the tool time limits. Returns frames to send and the next deadline."""
        frames, due = self.gate.expire(now)
        tools_due = self._runner.expire(now)
        if tools_due is not None and (due is None or tools_due < due):
            due = tools_due
        return frames, due

    def runs_on(self, thread: threading.Thread) -> bool:
        """Whether ``thread`` is one of the layer's tool threads (close waits for them)."""
        return self._runner.owns(thread)

    def close(self, timeout: float, error: RealtimeError | None = None) -> None:
        """Fail unfinished requests and stop the tool threads, within about ``timeout`` s.

        Unfinished requests fail with ``error`` (the connection's, when the
        network ended the session), else with SessionClosedError (the app closed it).
        """
        self.gate.close(
            error or SessionClosedError("the session closed before the response finished")
        )
        self._runner.close(timeout)


def conversation_core(
    transport: Transport,
    *,
    options: ConversationOptions,
    callbacks: CallbackRegistry,
    ping_interval: float,
    pong_timeout: float | None,
    close_timeout: float,
    model: str | None,
    reconnect: Callable[[], Transport] | None = None,
) -> SessionCore[ConversationLayer]:
    """A session core with the conversation layer: the parts of a
    :class:`~realtime_client.ConversationSession` (and, with ``reconnect`` and
    ``options.reconnect``, its reconnector)."""

    def make_layer(core: SessionCore[ConversationLayer]) -> ConversationLayer:
        return ConversationLayer(
            options=options,
            send=core.enqueue,
            reader=lambda: core.conn.reader,  # a reconnection replaces it
            label=lambda: str(core.conn.number),  # the connection's, as its threads' names
            model=model,
            wake=core.wake,
        )

    policy = options.reconnect_policy
    make_reconnector = None
    if policy is not None and reconnect is not None:
        connect = reconnect

        def make_reconnector(core: SessionCore[ConversationLayer]) -> Reconnector:
            return Reconnector(
                core,
                policy,
                connect,
                audio_bytes_per_second=_input_bytes_per_second(options.input_audio_format),
                turn_limit=options.response_start_timeout,
                manual_turns=options.turn_detection is None,
            )

    core = SessionCore(
        transport,
        wire=CONVERSATION_WIRE,
        make_layer=make_layer,
        callbacks=callbacks,
        buffer=options.buffer_events,
        max_frames=options.send_queue_size,
        max_bytes=options.send_queue_bytes,
        ping_interval=ping_interval,
        pong_timeout=pong_timeout,
        close_timeout=close_timeout,
        reconnect=make_reconnector,
    )
    core.layer.tools._subscribe(lambda: _send_tools(core))
    return core


def _send_tools(core: SessionCore[ConversationLayer]) -> None:
    """A tool was registered or removed: send the new list if the session is open."""
    if core.state is not SessionState.OPEN:
        return  # before opening, the client sends them with the first configuration
    tools = core.layer.tools_config()
    update = ev.SessionUpdateEvent(session=ev.RealtimeSessionConfig(tools=tools))
    try:
        core.enqueue([encode_event(update)])
    except SessionClosedError:
        _log.debug("tools changed while the session was closing; not sent")


def _input_bytes_per_second(fmt: ev.AudioFormat | None) -> int:
    """Bytes per second of the input audio: 48,000 for 24 kHz PCM16, 8,000 for G.711."""
    return 8000 if isinstance(fmt, (ev.AudioPCMU, ev.AudioPCMA)) else 48000
