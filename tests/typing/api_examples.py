"""Type-checked only (mypy --strict in tox -e typing): the public API as users write it.

Nothing here runs; it fails the typing check if a public signature drifts.
"""

from __future__ import annotations

import realtime_client
from realtime_client import (
    ConversationClient,
    ConversationMessage,
    ConversationOptions,
    ConversationSession,
    ProtocolError,
    RealtimeError,
)
from realtime_client import events as ev


def decode_and_match(frame: str) -> bytes | None:
    try:
        event = ev.decode_server_event(frame)
    except ProtocolError as exc:
        print(exc.details)
        return None
    match event:
        case ev.ResponseOutputAudioDeltaEvent(delta=pcm):
            return pcm
        case ev.UnknownServerEvent(type=kind):
            print(kind)
    return None


def push_to_talk_update() -> str:
    update = ev.SessionUpdateEvent(
        session=ev.RealtimeSessionConfig(
            instructions="Be brief.",
            audio=ev.AudioConfig(
                input=ev.AudioInputConfig(turn_detection=None, noise_reduction=None),
                output=ev.AudioOutputConfig(voice="marin", format=ev.AudioPCMU()),
            ),
            tools=[ev.FunctionTool(name="lookup", parameters={"type": "object"})],
            tool_choice="auto",
            max_output_tokens="inf",
            truncation=ev.RetentionRatioTruncation(retention_ratio=0.5),
        )
    )
    return ev.encode_client_event(update)


def nullable_fields_are_typed(config: ev.AudioInputConfig) -> str:
    detection = config.turn_detection
    if detection is ev.UNSET:
        return "server default"
    if detection is None:
        return "manual turns"
    return detection.type


def hello(client: ConversationClient) -> str:
    options = ConversationOptions(output_modalities=["text"])
    with client.start_conversation(model="gpt-realtime", options=options) as session:
        session.send_text("Hello!")
        parts: list[str] = []
        for message in session.receive_messages(timeout=30):
            assert isinstance(message, ConversationMessage)
            parts.append(message.text or "")
            if message.turn_finished:
                break
        return "".join(parts)


def callbacks(session: ConversationSession) -> None:
    @session.on(ev.ResponseOutputTextDeltaEvent)
    def show(event: ev.ResponseOutputTextDeltaEvent) -> None:
        print(event.delta, end="")

    session.on(ev.ErrorEvent, lambda event: print(event.error.message))
    session.close()


def errors_share_a_root(exc: Exception) -> bool:
    return isinstance(exc, RealtimeError) and realtime_client.__version__ != ""


def translate(client: ConversationClient, chunks: list[bytes]) -> tuple[str, bytes]:
    from realtime_client import CallAnswer, TranslationClientSecret, TranslationSession
    from realtime_client.events import translation as tev

    session: TranslationSession
    with client.start_translation(
        language="es", input_transcription="gpt-4o-transcribe"
    ) as session:

        @session.on(tev.SessionOutputTranscriptDeltaEvent)
        def show(event: tev.SessionOutputTranscriptDeltaEvent) -> None:
            print(event.delta, end="")

        for chunk in chunks:
            session.send_audio(chunk)
        session.update(language="fr", noise_reduction="far_field")
        for event in session.events(timeout=1):
            match event:
                case tev.SessionOutputAudioDeltaEvent(delta=audio, elapsed_ms=ms):
                    print(len(audio), ms)
                case tev.SessionClosedEvent():
                    break
        session.close()
        secret: TranslationClientSecret = client.create_translation_client_secret(language="es")
        call: CallAnswer = client.create_call(sdp="v=0\r\n")
        print(secret.expires_at, call.call_id)
        return session.target_transcript, session.translated_audio
