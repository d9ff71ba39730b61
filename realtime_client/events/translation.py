"""The translation protocol: its events, its session configuration and its codec.

A translation session (``/v1/realtime/translations``) is a second Realtime
protocol beside the conversation one: audio goes in, translated speech and
transcripts come out. Several of its wire types are also conversation wire
types with other payloads (``session.created``, ``session.update``), so it has
a namespace, unions and codec functions of its own, and neither codec accepts
the other protocol's events::

    from realtime_client.events import translation as tev

    event = tev.decode_translation_server_event(frame)
    match event:
        case tev.SessionOutputTranscriptDeltaEvent(delta=text):
            print(text, end="")

Class names follow the project's rule (CapWords of the wire type plus
``Event``). The ``error`` event is the conversation protocol's
:class:`~realtime_client.events.ErrorEvent`, re-exported: its payload is the
same. Noise reduction reuses :class:`~realtime_client.events.NoiseReduction`.
Unknown event types decode to :class:`~realtime_client.events.UnknownServerEvent`
(or ``UnknownClientEvent``) and unknown fields are ignored, as elsewhere.

.. versionadded:: 0.3
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, Union, get_args

from attrs import field, frozen

from . import _codec
from ._base import UNSET, UnknownClientEvent, UnknownServerEvent, Unset, WireObject, wire_type
from ._converter import FieldError, Lazy, configure_union, format_error, new_converter
from ._errors import ProtocolError
from .responses import ErrorDetails
from .server import ErrorEvent
from .sessions import NoiseReduction

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "CLIENT_EVENT_TYPES",
    "ClientEvent",
    "ErrorDetails",
    "ErrorEvent",
    "NoiseReduction",
    "SERVER_EVENT_TYPES",
    "ServerEvent",
    "SessionCloseEvent",
    "SessionClosedEvent",
    "SessionCreatedEvent",
    "SessionInputAudioBufferAppendEvent",
    "SessionInputTranscriptDeltaEvent",
    "SessionOutputAudioDeltaEvent",
    "SessionOutputTranscriptDeltaEvent",
    "SessionUpdateEvent",
    "SessionUpdatedEvent",
    "TranslationAudio",
    "TranslationAudioInput",
    "TranslationAudioOutput",
    "TranslationSession",
    "TranslationSessionUpdate",
    "TranslationTranscription",
    "decode_translation_client_event",
    "decode_translation_server_event",
    "encode_translation_client_event",
    "encode_translation_server_event",
]


# --- configuration ---------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class TranslationTranscription(WireObject):
    """Source transcription: with it, the server sends ``session.input_transcript.delta``."""

    model: str
    """The transcription model, for example ``gpt-4o-transcribe``."""


@frozen(kw_only=True, eq=False, repr=False)
class TranslationAudioInput(WireObject):
    """How the session treats input audio."""

    noise_reduction: NoiseReduction | Unset | None = UNSET
    """``None`` turns noise reduction off (written as ``null``)."""
    transcription: TranslationTranscription | Unset | None = UNSET
    """``None`` turns source transcription off (written as ``null``)."""


@frozen(kw_only=True, eq=False, repr=False)
class TranslationAudioOutput(WireObject):
    """What the session produces."""

    language: str | None = None
    """The target language, for example ``es`` or ``fr``."""


@frozen(kw_only=True, eq=False, repr=False)
class TranslationAudio(WireObject):
    """Input and output audio settings of a translation session."""

    input: TranslationAudioInput | None = None
    output: TranslationAudioOutput | None = None


@frozen(kw_only=True, eq=False, repr=False)
class TranslationSessionUpdate(WireObject):
    """The fields ``session.update`` may change: language, transcription, noise reduction.

    The model is fixed when the session is created.
    """

    audio: TranslationAudio | None = None


@frozen(kw_only=True, eq=False, repr=False)
class TranslationSession(WireObject):
    """A translation session as the server reports it (``session.created`` / ``.updated``)."""

    type: Literal["translation"] = field(default="translation", init=False)
    id: str
    model: str
    expires_at: int
    """When the session ends, in seconds since the Unix epoch."""
    audio: TranslationAudio


# --- client events -----------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class SessionUpdateEvent(WireObject):
    """Change the target language, the source transcription or the noise reduction."""

    type: Literal["session.update"] = field(default="session.update", init=False)
    session: TranslationSessionUpdate
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class SessionInputAudioBufferAppendEvent(WireObject):
    """Append input audio: 24 kHz mono PCM16, best in 200 ms chunks."""

    type: Literal["session.input_audio_buffer.append"] = field(
        default="session.input_audio_buffer.append", init=False
    )
    audio: bytes
    """Raw PCM16 audio (base64 only on the wire)."""
    event_id: str | None = None


@frozen(kw_only=True, eq=False, repr=False)
class SessionCloseEvent(WireObject):
    """Ask the server to finish: it flushes pending output, then sends ``session.closed``."""

    type: Literal["session.close"] = field(default="session.close", init=False)
    event_id: str | None = None


# --- server events -----------------------------------------------------------------------------


@frozen(kw_only=True, eq=False, repr=False)
class SessionCreatedEvent(WireObject):
    """The first event of every translation session, with its configuration."""

    type: Literal["session.created"] = field(default="session.created", init=False)
    event_id: str
    session: TranslationSession


@frozen(kw_only=True, eq=False, repr=False)
class SessionUpdatedEvent(WireObject):
    """The configuration after a ``session.update``."""

    type: Literal["session.updated"] = field(default="session.updated", init=False)
    event_id: str
    session: TranslationSession


@frozen(kw_only=True, eq=False, repr=False)
class SessionInputTranscriptDeltaEvent(WireObject):
    """A piece of the source-language transcript (only with transcription configured).

    Deltas are append-only fragments: join them without adding spaces.
    """

    type: Literal["session.input_transcript.delta"] = field(
        default="session.input_transcript.delta", init=False
    )
    event_id: str
    delta: str
    elapsed_ms: int | None = None
    """Where in the input stream the fragment belongs, in milliseconds."""


@frozen(kw_only=True, eq=False, repr=False)
class SessionOutputTranscriptDeltaEvent(WireObject):
    """A piece of the translated (target-language) transcript."""

    type: Literal["session.output_transcript.delta"] = field(
        default="session.output_transcript.delta", init=False
    )
    event_id: str
    delta: str
    elapsed_ms: int | None = None


@frozen(kw_only=True, eq=False, repr=False)
class SessionOutputAudioDeltaEvent(WireObject):
    """A piece of the translated speech, of any length."""

    type: Literal["session.output_audio.delta"] = field(
        default="session.output_audio.delta", init=False
    )
    event_id: str
    delta: bytes
    """PCM16 audio (base64 only on the wire)."""
    format: Literal["pcm16"] | None = None
    sample_rate: int | None = None
    channels: int | None = None
    elapsed_ms: int | None = None


@frozen(kw_only=True, eq=False, repr=False)
class SessionClosedEvent(WireObject):
    """The server confirms the session is over (after ``session.close``)."""

    type: Literal["session.closed"] = field(default="session.closed", init=False)
    event_id: str


ClientEvent = Union[SessionUpdateEvent, SessionInputAudioBufferAppendEvent, SessionCloseEvent]
"""Every translation client event."""

ServerEvent = Union[
    ErrorEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionClosedEvent,
    SessionInputTranscriptDeltaEvent,
    SessionOutputTranscriptDeltaEvent,
    SessionOutputAudioDeltaEvent,
]
"""Every translation server event."""

CLIENT_EVENT_TYPES: Final = MappingProxyType({wire_type(c): c for c in get_args(ClientEvent)})
"""Every translation client event class, by wire type."""

SERVER_EVENT_TYPES: Final = MappingProxyType({wire_type(c): c for c in get_args(ServerEvent)})
"""Every translation server event class, by wire type."""


# --- the codec -----------------------------------------------------------------------------------


def _make_translation_converter() -> cattrs.Converter:
    """A copy of the shared base converter with the translation protocol's two unions.

    One converter serves both directions: the protocol has no nested unions, so there
    is nothing for a strict variant to reject that this one keeps. Built on first use.
    """
    conv = new_converter()
    session_hook = conv.get_structure_hook(TranslationSession)

    def structure_session(value: Any, cls: Any) -> TranslationSession:
        kind = value.get("type", "translation") if value.__class__ is dict else "translation"
        if kind != "translation":
            raise FieldError(f"expected a 'translation' session, got {kind!r}")
        return session_hook(value, cls)  # type: ignore[no-any-return]

    conv.register_structure_hook(TranslationSession, structure_session)
    configure_union(conv, ServerEvent, "translation server event", default=UnknownServerEvent)
    configure_union(conv, ClientEvent, "translation client event", default=UnknownClientEvent)
    return conv


_CONVERTER: Final = Lazy(_make_translation_converter)


class _Converter:
    """The translation converter's ``structure`` and ``unstructure``, built on first use."""

    __slots__ = ()

    def structure(self, obj: Any, cl: Any) -> Any:
        """Structure ``obj`` as ``cl`` (see :meth:`cattrs.Converter.structure`)."""
        return _CONVERTER.get().structure(obj, cl)

    def unstructure(self, obj: Any, unstructure_as: Any = None) -> Any:
        """Unstructure ``obj`` (see :meth:`cattrs.Converter.unstructure`)."""
        return _CONVERTER.get().unstructure(obj, unstructure_as=unstructure_as)


converter: Final = _Converter()
"""For the package's REST helpers and the offline server; others use the four functions."""

_SERVER: Any = ServerEvent
_CLIENT: Any = ClientEvent


def decode_translation_server_event(frame: str | bytes) -> ServerEvent | UnknownServerEvent:
    """Decode one frame of a translation session from the server.

    Args:
        frame: One WebSocket text frame, as text or UTF-8 bytes.

    Returns:
        The event's class from :data:`ServerEvent`, or
        :class:`~realtime_client.events.UnknownServerEvent` for a type this
        version does not know (a conversation event is unknown here).

    Raises:
        ProtocolError: The frame is not a valid event (the message names the
            type and the field path). No other exception escapes.
    """
    data = _codec._load_object(frame, "server")
    try:
        return _CONVERTER.get().structure(data, _SERVER)  # type: ignore[no-any-return]
    except Exception as exc:
        raise _codec._invalid("server", data["type"], exc, frame) from exc


def decode_translation_client_event(frame: str | bytes) -> ClientEvent | UnknownClientEvent:
    """Decode one frame from a translation client: the server side's decoder.

    Raises:
        ProtocolError: As :func:`decode_translation_server_event`.
    """
    data = _codec._load_object(frame, "client")
    try:
        return _CONVERTER.get().structure(data, _CLIENT)  # type: ignore[no-any-return]
    except Exception as exc:
        raise _codec._invalid("client", data["type"], exc, frame) from exc


def _encode(
    event: Any, known: MappingProxyType[str, type], direction: Literal["client", "server"]
) -> str:
    unknown_class = UnknownClientEvent if direction == "client" else UnknownServerEvent
    if isinstance(event, unknown_class):
        if event.type in known:
            raise ProtocolError(
                f"{unknown_class.__name__} cannot carry the known translation type "
                f"{event.type!r}: build a {known[event.type].__name__}"
            )
        return _codec._dumps({**event.raw, "type": event.type}, direction, event.type)
    if type(event) not in known.values():
        raise ProtocolError(
            f"expected a translation {direction} event, got {type(event).__name__}"
        )
    kind: str = event.type
    converter = _CONVERTER.get()
    try:
        checked = converter.structure(converter.unstructure(event), type(event))
        data = converter.unstructure(checked)
    except RecursionError:
        raise ProtocolError(f"{direction} event {kind!r} is nested too deeply") from None
    except Exception as exc:
        details = format_error(exc)
        raise ProtocolError(
            f"cannot encode translation {direction} event {kind!r}: " + "; ".join(details),
            details=details,
        ) from exc
    return _codec._dumps(data, direction, kind)


def encode_translation_client_event(event: ClientEvent | UnknownClientEvent) -> str:
    """Encode a translation client event as one JSON text frame.

    Raises:
        ProtocolError: ``event`` is not a translation client event, or a field
            holds a value of the wrong type.
    """
    return _encode(event, CLIENT_EVENT_TYPES, "client")


def encode_translation_server_event(event: ServerEvent | UnknownServerEvent) -> str:
    """Encode a translation server event as one JSON text frame: the server side's encoder.

    Raises:
        ProtocolError: As :func:`encode_translation_client_event`.
    """
    return _encode(event, SERVER_EVENT_TYPES, "server")
