"""The sending half of ConversationSession: one method per thing a client can ask.

Every method encodes on the caller's thread (so a bad argument raises where
it was passed) and queues the frames for the writer thread. Frames queued by
one call stay adjacent: ``send_text`` from two threads never interleaves one
message with the other's response request.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pybase64

from . import events as ev
from ._checks import encode_event
from ._config import ConversationOptions
from .errors import UsageError

__all__ = ["MAX_APPEND_BYTES", "SessionSending"]

MAX_APPEND_BYTES: Final = 1024 * 1024
"""Raw audio bytes per ``input_audio_buffer.append``: 1 MiB is about 22 s of 24 kHz PCM
and encodes to about 1.4 MB of base64, far under the server's 15 MiB limit."""

_APPEND_HEAD: Final = '{"type":"input_audio_buffer.append","audio":"'
_APPEND_TAIL: Final = '"}'


def _append_frame(event: ev.InputAudioBufferAppendEvent) -> str:
    """The wire frame of an append, built directly: the same JSON the converter
    makes, at a fraction of its cost (one event every 20-40 ms while talking)."""
    audio = event.audio
    if not isinstance(audio, (bytes, bytearray, memoryview)):
        return encode_event(event)  # the converter names the wrong field type
    frame = _APPEND_HEAD + pybase64.b64encode(audio).decode("ascii") + '"'
    if event.event_id is not None:
        if not isinstance(event.event_id, str):
            return encode_event(event)
        frame += ',"event_id":' + json.dumps(event.event_id)
    return frame + "}"


class SessionSending:
    """Sending methods, mixed into :class:`~realtime_client.ConversationSession`."""

    _call_id: str | None

    if TYPE_CHECKING:  # defined by ConversationSession

        def _enqueue(self, frames: list[str], timeout: float | None = None) -> None: ...

        def _request_response(
            self, options: ev.ResponseOptions | None, before: list[str]
        ) -> None: ...

    def send(self, event: ev.ClientEvent, *, timeout: float | None = None) -> None:
        """Send any typed client event.

        Args:
            event: The event, for example :class:`~realtime_client.events.ResponseCancelEvent`.
            timeout: Seconds to wait for room in the send queue (``None``: as long
                as it takes).

        Raises:
            TypeError: The event is not a client event.
            ValueError: A field has the wrong type or value (the message names it).
            SessionClosedError: The session is closed.
            SendQueueFullError: The send queue stayed full for ``timeout`` seconds.
        """
        if type(event) is ev.InputAudioBufferAppendEvent:
            frame = _append_frame(event)  # the hot path of a live conversation
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

        Args:
            audio: Raw audio bytes. Empty audio sends nothing.
            timeout: Seconds to wait for room in the send queue; None waits as
                long as it takes, 0 never waits (for an audio callback).

        Raises:
            SendQueueFullError: The send queue stayed full for ``timeout``
                seconds; none of ``audio`` was queued.
            SessionClosedError: The session is closed.
        """
        if not isinstance(audio, (bytes, bytearray, memoryview)):
            raise TypeError(f"audio must be bytes-like, got {type(audio).__name__}")
        view = memoryview(audio).cast("B")
        frames = [
            _APPEND_HEAD
            + pybase64.b64encode(view[start : start + MAX_APPEND_BYTES]).decode("ascii")
            + _APPEND_TAIL
            for start in range(0, len(view), MAX_APPEND_BYTES)
        ]
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
