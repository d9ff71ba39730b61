"""Wiring a session to a microphone and a speaker: streaming, barge-in, push-to-talk."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, final

from .. import events as ev
from ..errors import AudioError, RealtimeError, SendQueueFullError, SessionClosedError
from ._echo import EchoCancellation, EchoCanceller
from ._microphone import Microphone
from ._playback import PlaybackPosition
from ._speaker import Speaker

__all__ = ["AudioSink", "AudioSource", "BridgeSession", "VoiceBridge"]

_log = logging.getLogger("realtime_client")
_numbers = itertools.count(1)
_READ_TIMEOUT = 0.1  # the pump notices close() within this
_CUT_BY_RECONNECT = "connection_lost"  # status reason of a response a reconnection cut


class BridgeSession(Protocol):
    """The part of :class:`~realtime_client.ConversationSession` the bridge uses."""

    def on(self, key: Any, fn: Any) -> Any: ...

    def send_audio(self, audio: bytes, *, timeout: float | None = None) -> Any: ...

    def commit_audio(self) -> Any: ...

    def clear_audio(self) -> Any: ...

    def create_response(self) -> Any: ...

    def cancel_response(self, response_id: str | None = None) -> Any: ...

    def truncate_item(self, item_id: str, content_index: int, audio_end_ms: int) -> Any: ...


class AudioSource(Protocol):
    """A :class:`Microphone` or :class:`WavSource`.

    A source that also has ``connect(consumer)`` (the :class:`Microphone`)
    pushes its chunks to the bridge from its own callback; the others are read
    by the bridge's thread.
    """

    def start(self) -> None: ...

    def read(self, timeout: float | None = None) -> bytes | None: ...


class AudioSink(Protocol):
    """A :class:`Speaker` or :class:`WavSink`."""

    @property
    def playing(self) -> bool: ...

    def start(self) -> None: ...

    def play(self, item_id: str, audio: bytes, *, content_index: int = 0) -> None: ...

    def end(self, item_id: str, *, content_index: int = 0) -> None: ...

    def interrupt(self) -> PlaybackPosition | None: ...


@final
class VoiceBridge:
    """Streams a microphone into a session and the session's audio to a speaker.

    It registers callbacks on the session for the response's audio. A
    :class:`Microphone` hands each chunk to the session's send queue straight
    from its device callback (never waiting: when the queue is full the chunk
    is dropped and counted in :attr:`chunks_dropped`); any other source is read
    by one thread of the bridge's (``realtime-mic-N``), which sends each chunk.

    **Barge-in.** When the server reports ``input_audio_buffer.speech_started``
    while the sink is playing, or when you call :meth:`interrupt`, the speaker
    drops its queue (playback stops within one device block) and the bridge
    sends ``conversation.item.truncate`` at the position the speaker really
    played, capped at what it received, then ``response.cancel`` for a response
    that has not finished. Server VAD usually cancels the response by itself;
    the server then answers the extra cancel with an ``error`` event, which is
    harmless.

    **Push-to-talk.** With ``push_to_talk=True`` the session must use manual
    turns (``turn_detection=None``). Audio is only sent between
    :meth:`begin_turn` and :meth:`end_turn`; ending a turn commits the input
    buffer and asks for a response. When the source ends during a turn, the
    turn ends.

    The source and sink stay yours: the bridge starts them but does not close them.

    Args:
        session: The conversation (anything with the :class:`BridgeSession` methods).
        source: Where input audio comes from, in the session's input format; None
            for output only.
        sink: Where response audio goes, in the session's output format; None for
            input only.
        push_to_talk: Manual turns instead of voice activity detection.
        on_source_end: Called once (on the bridge's thread) when the source runs out.
        echo_cancellation: Remove the speaker's echo from the microphone's audio
            before it is sent (WebRTC's AEC3; the ``aec`` extra): True, or an
            :class:`EchoCancellation` with noise suppression and the high-pass
            filter set. Needs a :class:`Microphone` source and a
            :class:`Speaker` sink: the speaker's blocks, timed by PortAudio,
            are the canceller's reference. See :attr:`echo_canceller`.

    Raises:
        AudioError: ``echo_cancellation`` is set and the ``aec`` extra is not installed.
        TypeError: ``echo_cancellation`` is set and the source is not a
            :class:`Microphone` or the sink not a :class:`Speaker`.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       ``echo_cancellation``.
    """

    def __init__(
        self,
        session: BridgeSession,
        *,
        source: AudioSource | None = None,
        sink: AudioSink | None = None,
        push_to_talk: bool = False,
        on_source_end: Callable[[], None] | None = None,
        echo_cancellation: bool | EchoCancellation = False,
    ) -> None:
        self._echo = _echo_canceller(echo_cancellation, source, sink)
        self._session = session
        self._source = source
        self._sink = sink
        self._push_to_talk = push_to_talk
        self._on_source_end = on_source_end
        # Held across the sink's interrupt() and play(): a delta is either queued
        # before the interruption (and dropped by it) or seen as cancelled after.
        self._lock = threading.RLock()
        self._running: set[str] = set()  # responses created and not done
        self._cancelled: set[str] = set()
        self._talking = False
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._pushing = False  # the source calls _on_chunk (no thread of ours)
        self._source_done = threading.Event()
        self.error: RealtimeError | None = None
        """The error that stopped the microphone streaming, if one did."""
        self.chunks_sent = 0
        self.chunks_dropped = 0
        if sink is not None:
            session.on(ev.ResponseOutputAudioDeltaEvent, self._on_delta)
            session.on(ev.ResponseOutputAudioDoneEvent, self._on_audio_done)
        session.on(ev.ResponseCreatedEvent, self._on_response_created)
        session.on(ev.ResponseDoneEvent, self._on_response_done)
        session.on(ev.InputAudioBufferSpeechStartedEvent, self._on_speech_started)

    @property
    def echo_canceller(self) -> EchoCanceller | None:
        """The echo canceller (for its :attr:`~EchoCanceller.stats`), if it is on."""
        return self._echo

    @property
    def talking(self) -> bool:
        """True between :meth:`begin_turn` and :meth:`end_turn` (push-to-talk)."""
        return self._talking

    @property
    def responding(self) -> bool:
        """True while a response is running on the server."""
        with self._lock:
            return bool(self._running)

    def start(self) -> None:
        """Start the sink, the source and the streaming of the source's audio."""
        self._attach_echo(self._echo if not self._closed.is_set() else None)
        if self._sink is not None:
            self._sink.start()
        source = self._source
        if source is None or self._thread is not None or self._pushing:
            return
        connect = getattr(source, "connect", None)
        if callable(connect):
            connect(self._on_chunk)
            self._pushing = True
            source.start()
            return
        source.start()
        self._thread = threading.Thread(
            target=self._pump, name=f"realtime-mic-{next(_numbers)}", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stop streaming the source and ignore further session events. Idempotent."""
        self._closed.set()
        self._attach_echo(None)
        if self._pushing:
            self._pushing = False
            connect = getattr(self._source, "connect", None)
            if callable(connect):
                with contextlib.suppress(RealtimeError):  # already closed: nothing to undo
                    connect(None)
            self._source_done.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _attach_echo(self, canceller: EchoCanceller | None) -> None:
        """Hand the speaker's blocks and the microphone's to ``canceller`` (None: stop)."""
        if self._echo is None:
            return
        if isinstance(self._sink, Speaker):
            self._sink._set_echo_canceller(canceller)
        if isinstance(self._source, Microphone):
            self._source._set_echo_canceller(canceller)

    def __enter__(self) -> VoiceBridge:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def interrupt(self) -> PlaybackPosition | None:
        """Barge in: stop playback, truncate the item where it stopped, cancel the response.

        Returns:
            Where the interrupted item stopped, or None when nothing was playing
            (then nothing is sent).
        """
        return self._barge_in(cancel_unheard=False)

    def _barge_in(self, *, cancel_unheard: bool) -> PlaybackPosition | None:
        """Stop playback and cancel the running responses; with ``cancel_unheard``,
        also when nothing is playing yet (a reply still on its way)."""
        with self._lock:
            # Mark the running responses cancelled first, so no delta of theirs is
            # queued between emptying the sink and the mark.
            to_cancel = sorted(self._running - self._cancelled)
            self._cancelled.update(to_cancel)
            position = self._sink.interrupt() if self._sink is not None else None
            if position is None and not cancel_unheard:  # nothing playing: nothing cancelled
                self._cancelled.difference_update(to_cancel)
                return None
        if position is not None:
            self._session.truncate_item(
                position.item_id, position.content_index, position.played_ms
            )
        for response_id in to_cancel:
            self._session.cancel_response(response_id)
        return position

    def begin_turn(self) -> None:
        """Push-to-talk: start speaking (interrupts playback and clears the input buffer).

        A response still running is cancelled even before its first audio
        arrived, so it never plays over the new turn.
        """
        self._barge_in(cancel_unheard=True)
        self._session.clear_audio()
        self._talking = True

    def end_turn(self) -> None:
        """Push-to-talk: stop speaking; commits the audio and asks for a response."""
        if not self._talking:
            return
        self._talking = False
        self._session.commit_audio()
        self._session.create_response()

    def wait_source_done(self, timeout: float | None = None) -> bool:
        """Wait for the source's streaming to end (it ran out, failed, or close()).

        Returns:
            True when it ended (or never ran), False on timeout.
        """
        if self._pushing or self._source_done.is_set():
            return self._source_done.wait(timeout)
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- session callbacks (reader thread) -------------------------------------------

    def _on_response_created(self, event: ev.ResponseCreatedEvent) -> None:
        if event.response.id is not None:
            with self._lock:
                self._running.add(event.response.id)

    def _on_response_done(self, event: ev.ResponseDoneEvent) -> None:
        details = event.response.status_details
        cut = details is not None and details.reason == _CUT_BY_RECONNECT
        with self._lock:
            self._running.discard(event.response.id or "")
            self._cancelled.discard(event.response.id or "")
            if cut and self._sink is not None and not self._closed.is_set():
                # The session reconnected mid-reply: the rest never comes, so
                # what is queued stops now instead of ending mid-word later.
                self._sink.interrupt()

    def _on_delta(self, event: ev.ResponseOutputAudioDeltaEvent) -> None:
        if self._closed.is_set() or self._sink is None:
            return
        with self._lock:
            if event.response_id in self._cancelled:
                return
            self._sink.play(event.item_id, event.delta, content_index=event.content_index)

    def _on_audio_done(self, event: ev.ResponseOutputAudioDoneEvent) -> None:
        if self._closed.is_set() or self._sink is None:
            return
        self._sink.end(event.item_id, content_index=event.content_index)

    def _on_speech_started(self, event: ev.InputAudioBufferSpeechStartedEvent) -> None:
        if self._closed.is_set() or self._sink is None or not self._sink.playing:
            return
        self.interrupt()

    # -- the microphone ---------------------------------------------------------------

    def _on_chunk(self, chunk: bytes) -> None:
        """A chunk from a pushing source, on its device callback thread: queue it, never wait."""
        if self._closed.is_set() or self._source_done.is_set():
            return
        if not chunk:
            self._source_done.set()
            try:
                self._source_ended()
            except RealtimeError as exc:  # e.g. push-to-talk's commit into a closed session
                self._stop_streaming(exc)
            return
        if self._push_to_talk and not self._talking:
            return
        try:
            self._session.send_audio(chunk, timeout=0)
        except SendQueueFullError:  # the network is behind: drop this chunk, keep going
            self.chunks_dropped += 1
            return
        except RealtimeError as exc:
            self._stop_streaming(exc)
            return
        self.chunks_sent += 1

    def _stop_streaming(self, exc: RealtimeError) -> None:
        self.error = exc
        self._source_done.set()
        if isinstance(exc, SessionClosedError):  # the session's own close says why
            _log.debug("microphone streaming stopped: %s", exc)
        else:
            _log.warning("microphone streaming stopped: %s", exc)

    def _pump(self) -> None:
        assert self._source is not None
        source = self._source
        try:
            while not self._closed.is_set():
                chunk = source.read(_READ_TIMEOUT)
                if chunk is None:
                    continue
                if not chunk:
                    self._source_ended()
                    return
                if self._push_to_talk and not self._talking:
                    continue
                self._session.send_audio(chunk)
                self.chunks_sent += 1
        except RealtimeError as exc:
            self._stop_streaming(exc)
        except Exception as exc:  # a source's own failure: end streaming, say why
            error = AudioError(f"the audio source {type(source).__name__} failed: {exc!r}")
            error.__cause__ = exc
            self._stop_streaming(error)

    def _source_ended(self) -> None:
        if self._push_to_talk and self._talking:
            self.end_turn()
        if self._on_source_end is not None:
            try:
                self._on_source_end()
            except Exception:
                _log.exception("on_source_end callback failed")


def _echo_canceller(
    setting: bool | EchoCancellation, source: AudioSource | None, sink: AudioSink | None
) -> EchoCanceller | None:
    """The canceller ``echo_cancellation=setting`` asks for, checked before anything starts."""
    options: object = EchoCancellation() if setting is True else setting
    if options is False:
        return None
    if not isinstance(options, EchoCancellation):
        kind = type(options).__name__
        raise TypeError(f"echo_cancellation must be a bool or an EchoCancellation, got {kind}")
    if not isinstance(source, Microphone) or not isinstance(sink, Speaker):
        raise TypeError(
            "echo cancellation needs a Microphone source and a Speaker sink (the speaker's "
            f"device blocks are its reference), got source={type(source).__name__} and "
            f"sink={type(sink).__name__}"
        )
    return EchoCanceller(
        options, sample_rate=source.wire_format.sample_rate, far_rate=sink.device_rate
    )
