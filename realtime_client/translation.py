"""TranslationSession: one open live speech translation session.

Made by :meth:`ConversationClient.start_translation
<realtime_client.ConversationClient.start_translation>`. It is a facade over
the same core as a conversation
(:class:`~realtime_client._session_core.SessionCore`: the lifecycle, the one
close path, the connection with its reader ``realtime-reader-<n>`` and writer
``realtime-writer-<n>``, liveness, back-pressure, the event pump), given the
translation protocol's wire and its layer
(:class:`~realtime_client._translation_receive.TranslationLayer`: the
configuration and the accumulators). See docs/translation.md.

.. versionadded:: 0.3
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from typing import Any, Final

from ._callbacks import CloseInfo
from ._checks import encode_event
from ._config import ConversationOptions
from ._facade import SessionFacade, checked_callbacks
from ._frames import append_frames
from ._session_core import SessionCore
from ._translation_receive import (
    TRANSLATION_WIRE,
    AnyTranslationEvent,
    TranslationLayer,
    wire_key,
)
from ._translation_setup import (
    NoiseReductionArg,
    TranscriptionArg,
    build_update,
    check_model,
    message_for,
)
from ._transport import Transport
from .events import UnknownClientEvent
from .events import translation as tev
from .messages import ConversationMessage

__all__ = ["TranslationSession"]

_QUEUE: Final = ConversationOptions()
"""Where the send queue's bounds come from: a conversation's defaults."""


@typing.final
class TranslationSession(SessionFacade[AnyTranslationEvent]):
    """An open translation session: send audio, receive translated speech and text.

    Use it as a context manager; leaving the block closes it politely
    (``session.close``, then the server's ``session.closed``, then the socket).

    Args:
        transport: The connection (already connected).
        model: The session's model (it is fixed at creation).
        accumulate: Keep :attr:`source_transcript`, :attr:`target_transcript`
            and :attr:`translated_audio`; ``False`` for long sessions that
            consume the deltas themselves.
        buffer_events: Queue events for :meth:`events`; ``False`` for
            callback-only applications.
        on_error: Called with every reported error: a failing callback, a bad
            frame (:class:`~realtime_client.ProtocolError`), a server ``error``
            event (as :class:`~realtime_client.ServerError`), the terminal error.
        on_close: Called once, last, with a :class:`~realtime_client.CloseInfo`.
        ping_interval: Seconds of server silence after which a ping is sent.
        pong_timeout: Seconds more of silence after which the connection is
            dead (``ping_interval + pong_timeout`` in all, idle or streaming)
            and the session closes with
            :class:`~realtime_client.ConnectionClosedError`. None never gives up.
        close_timeout: Default bound, in seconds, of :meth:`close`.

    Raises:
        TypeError: An argument has the wrong type (the message names it).
        ValueError: An argument has a bad value.

    .. versionadded:: 0.3
    .. versionchanged:: 0.3 Built on the conversation's core: its liveness,
       its byte-bounded send queue (:class:`~realtime_client.SendQueueFullError`)
       and its ``WaitTimeoutError`` for an iteration timeout.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        model: str,
        accumulate: bool = True,
        buffer_events: bool = True,
        on_error: Callable[[BaseException], object] | None = None,
        on_close: Callable[[CloseInfo], object] | None = None,
        ping_interval: float = 20.0,
        pong_timeout: float | None = 20.0,
        close_timeout: float = 5.0,
    ) -> None:
        callbacks = checked_callbacks(
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
            on_error=on_error,
            on_close=on_close,
            wire_key=wire_key,
        )
        self._model = check_model(model)
        self._layer = layer = TranslationLayer(accumulate=accumulate)
        core: SessionCore[TranslationLayer] = SessionCore(
            transport,
            wire=TRANSLATION_WIRE,
            make_layer=lambda _core: layer,
            callbacks=callbacks,
            buffer=buffer_events,
            max_frames=_QUEUE.send_queue_size,
            max_bytes=_QUEUE.send_queue_bytes,
            ping_interval=ping_interval,
            pong_timeout=pong_timeout,
            close_timeout=close_timeout,
        )
        super().__init__(core, callbacks)

    @property
    def model(self) -> str:
        """The session's model."""
        return self._model

    @property
    def config(self) -> tev.TranslationSession | None:
        """The configuration the server last reported (``session.created`` / ``.updated``)."""
        return self._layer.config

    @property
    def language(self) -> str | None:
        """The target language the server last reported."""
        config = self._layer.config
        output = config.audio.output if config is not None else None
        return output.language if output is not None else None

    @property
    def source_transcript(self) -> str:
        """The source-language transcript so far (input transcription must be on).

        Raises:
            UsageError: The session was made with ``accumulate=False``.
        """
        return self._layer.source()

    @property
    def target_transcript(self) -> str:
        """The translated transcript so far.

        Raises:
            UsageError: The session was made with ``accumulate=False``.
        """
        return self._layer.target()

    @property
    def translated_audio(self) -> bytes:
        """The translated speech so far, as PCM16 (24 kHz mono unless the deltas said otherwise).

        Raises:
            UsageError: The session was made with ``accumulate=False``.
        """
        return self._layer.audio()

    # --- sending -------------------------------------------------------------------------------

    def send(self, event: tev.ClientEvent, *, timeout: float | None = None) -> None:
        """Send one translation client event (encoded here, sent by the writer).

        Args:
            event: The event.
            timeout: Seconds to wait for room in the send queue (``None``: as
                long as it takes; a close wakes the wait).

        Raises:
            TypeError: ``event`` is not a translation client event.
            ValueError: A field has the wrong type or value (the message names it).
            SessionClosedError: The session is closing or closed.
            SendQueueFullError: The send queue stayed full for ``timeout`` seconds.
        """
        if type(event) not in tev.CLIENT_EVENT_TYPES.values() and not isinstance(
            event, UnknownClientEvent
        ):
            raise TypeError(f"expected a translation client event, got {type(event).__name__}")
        self._core.enqueue([encode_event(event, tev.encode_translation_client_event)], timeout)

    def send_audio(
        self, audio: bytes | bytearray | memoryview, *, timeout: float | None = None
    ) -> None:
        """Append input audio: 24 kHz mono PCM16 (200 ms chunks translate best).

        Keep sending silence while nobody speaks: the server treats the stream
        as continuous. Back-pressure is the conversation's: a full send queue
        waits up to ``timeout`` (``None``: as long as it takes, 0: never), then
        raises, having queued none of ``audio``.

        Raises:
            TypeError: ``audio`` is not bytes.
            ValueError: ``audio`` is empty or has an odd number of bytes.
            SessionClosedError: The session is closing or closed.
            SendQueueFullError: The send queue stayed full for ``timeout`` seconds.
            ConnectionClosedError: The connection failed before the audio was queued.
        """
        if not isinstance(audio, (bytes, bytearray, memoryview)):
            raise TypeError(f"audio must be PCM16 bytes, got {type(audio).__name__}")
        size = memoryview(audio).nbytes
        if not size or size % 2:
            raise ValueError(
                f"audio must be a non-empty whole number of samples, got {size} bytes"
            )
        frames = append_frames(audio, event_type="session.input_audio_buffer.append")
        self._core.enqueue(frames, timeout)

    def update(
        self,
        *,
        language: str | None = None,
        input_transcription: TranscriptionArg | bool = False,
        noise_reduction: NoiseReductionArg | bool = False,
    ) -> None:
        """Change the target language, the source transcription or the noise reduction.

        Only the arguments given are sent; ``None`` for ``input_transcription``
        or ``noise_reduction`` turns it off. The model cannot change. The
        server answers with ``session.updated`` (see :attr:`config`) or an
        ``error``.

        Raises:
            ValueError: An argument is not valid, or none was given.
            SessionClosedError: The session is closing or closed.
        """
        given: dict[str, Any] = {}
        if language is not None:
            given["language"] = language
        if input_transcription is not False:
            given["input_transcription"] = input_transcription
        if noise_reduction is not False:
            given["noise_reduction"] = noise_reduction
        self.send(build_update(**given))

    # --- receiving -----------------------------------------------------------------------------

    def receive_messages(self, timeout: float | None = None) -> Iterator[ConversationMessage]:
        """Iterate over events as :class:`~realtime_client.ConversationMessage`.

        ``message.transcript`` is a piece of the translation, ``message.audio``
        a piece of translated speech, ``message.input_transcript`` a piece of
        the source transcript (kind ``INPUT_TRANSCRIPT_DELTA``),
        ``message.error`` a server error; the typed event is ``message.event``.

        Raises:
            As :meth:`events`.
        """
        return (message_for(event) for event in self.events(timeout))
