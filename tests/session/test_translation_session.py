"""TranslationSession against a minimal server that sends only what the spec requires.

The server here is a few lines on ``websockets``: it sends each event with its
required fields only, plus fields and an event type no version knows, so the
client is tested against the protocol and not against the project's own
offline server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from realtime_client import (
    ConnectionClosedError,
    ConversationClient,
    ProtocolError,
    ServerError,
    SessionClosedError,
    UsageError,
)
from realtime_client import events as ev
from realtime_client.events import translation as tev
from realtime_client.messages import MessageKind
from realtime_client.translation import TranslationSession

WAIT = 5.0
Script = Callable[[ServerConnection, "queue.Queue[dict[str, Any]]"], None]

CREATED = {
    "type": "session.created",
    "event_id": "e1",
    "session": {
        "type": "translation",
        "id": "sess_min",
        "model": "m",
        "expires_at": 1,
        "audio": {},
        "unknown_field": [1, 2],
    },
    "also_unknown": True,
}


def _send(ws: ServerConnection, frame: dict[str, Any]) -> None:
    ws.send(json.dumps(frame))


def _recv(ws: ServerConnection, got: queue.Queue[dict[str, Any]]) -> dict[str, Any]:
    frame = json.loads(ws.recv(timeout=WAIT))
    got.put(frame)
    return frame  # type: ignore[no-any-return]


def _until(ws: ServerConnection, got: queue.Queue[dict[str, Any]], kind: str) -> None:
    for _ in range(1000):
        if _recv(ws, got)["type"] == kind:
            return
    raise AssertionError(f"no {kind}")


def translating(ws: ServerConnection, got: queue.Queue[dict[str, Any]]) -> None:
    """Required fields only, unknown fields and an unknown event, then a polite close."""
    _send(ws, CREATED)
    _recv(ws, got)  # session.update
    _send(ws, {"type": "session.updated", "event_id": "e2", "session": dict(CREATED["session"])})
    _recv(ws, got)  # audio
    _send(ws, {"type": "session.input_transcript.delta", "event_id": "e3", "delta": "hello"})
    _send(ws, {"type": "session.future_event", "event_id": "e4", "whatever": {}})
    _send(
        ws, {"type": "session.output_transcript.delta", "event_id": "e5", "delta": "hola", "x": 1}
    )
    _send(ws, {"type": "session.output_transcript.delta", "event_id": "e6", "delta": " amigo"})
    pcm = base64.b64encode(b"\x01\x00" * 10).decode()
    _send(ws, {"type": "session.output_audio.delta", "event_id": "e7", "delta": pcm})
    _until(ws, got, "session.close")
    _send(ws, {"type": "session.closed", "event_id": "e8"})
    ws.close()


class MinimalServer:
    """Runs one script per connection; records what the client sent."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.paths: list[str] = []
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        with contextlib.suppress(ConnectionClosed):
            self.script(ws, self.received)

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/v1"

    def sent_types(self) -> list[str]:
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait()["type"])
        return out


@pytest.fixture
def minimal() -> Iterator[Callable[[Script], MinimalServer]]:
    servers: list[MinimalServer] = []

    def start(script: Script) -> MinimalServer:
        server = MinimalServer(script)
        server._thread.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server._server.shutdown()
        server._thread.join(WAIT)


def _client(server: MinimalServer) -> ConversationClient:
    return ConversationClient(base_url=server.base_url, api_key="sk-test")


class TestAgainstMinimalServer:
    def test_events_messages_and_accumulation(self, minimal: Any) -> None:
        """Typed events, unknown events kept, message view, transcripts and audio accumulated,
        and close() sends session.close and waits for session.closed."""
        server = minimal(translating)
        with _client(server).start_translation(language="es", model="m") as session:
            session.send_audio(b"\x00\x00" * 100)
            seen = []
            for message in session.receive_messages(timeout=WAIT):
                seen.append(message)
                if isinstance(message.event, tev.SessionOutputAudioDeltaEvent):
                    break
            session.close()
            assert "hello" == session.source_transcript
            assert "hola amigo" == session.target_transcript
            assert b"\x01\x00" * 10 == session.translated_audio
            assert "sess_min" == session.session_id
        kinds = [m.kind for m in seen]
        assert [
            MessageKind.OTHER,
            MessageKind.OTHER,
            MessageKind.INPUT_TRANSCRIPT_DELTA,
            MessageKind.OTHER,
            MessageKind.TRANSCRIPT_DELTA,
            MessageKind.TRANSCRIPT_DELTA,
            MessageKind.AUDIO_DELTA,
        ] == kinds
        assert isinstance(seen[3].event, ev.UnknownServerEvent)
        assert "/v1/realtime/translations?model=m" == server.paths[0]
        assert ["session.update", "session.input_audio_buffer.append", "session.close"] == (
            server.sent_types()
        )
        assert session.close_info is not None
        assert session.close_info.error is None

    def test_first_update_carries_the_settings(self, minimal: Any) -> None:
        """The language, transcription and noise reduction go out in the first session.update."""
        server = minimal(translating)
        with _client(server).start_translation(
            language="pt-BR", input_transcription="gpt-4o-transcribe", noise_reduction="far_field"
        ):
            update = server.received.get(timeout=WAIT)
        assert {
            "audio": {
                "input": {
                    "noise_reduction": {"type": "far_field"},
                    "transcription": {"model": "gpt-4o-transcribe"},
                },
                "output": {"language": "pt-BR"},
            }
        } == update["session"]

    def test_close_is_bounded_when_the_server_never_confirms(self, minimal: Any) -> None:
        """A server that ignores session.close is cut off after the close timeout."""
        release = threading.Event()

        def silent(ws: ServerConnection, got: queue.Queue[dict[str, Any]]) -> None:
            _send(ws, CREATED)
            release.wait(WAIT)

        server = minimal(silent)
        session = _client(server).start_translation(language="es")
        started = time.monotonic()
        session.close(timeout=0.3)
        took = time.monotonic() - started
        release.set()
        assert session.closed
        assert took < 0.3 + 2.5
        session.close()  # idempotent

    def test_bad_frame_and_error_event_are_reported_and_the_session_goes_on(
        self, minimal: Any
    ) -> None:
        """A bad frame is a ProtocolError, an error event a ServerError; later events arrive."""

        def hostile(ws: ServerConnection, got: queue.Queue[dict[str, Any]]) -> None:
            _send(ws, CREATED)
            ws.send("{not json")
            _send(ws, {"type": "session.output_transcript.delta", "event_id": "x", "delta": 7})
            _send(
                ws,
                {
                    "type": "error",
                    "event_id": "e9",
                    "error": {"type": "invalid_request_error", "message": "no"},
                },
            )
            _send(ws, {"type": "session.output_transcript.delta", "event_id": "y", "delta": "ok"})
            _until(ws, got, "session.close")
            _send(ws, {"type": "session.closed", "event_id": "z"})

        errors: list[BaseException] = []
        server = minimal(hostile)
        with _client(server).start_translation(language="es", on_error=errors.append) as s:
            messages = []
            for message in s.receive_messages(timeout=WAIT):
                messages.append(message)
                if message.transcript == "ok":
                    break
        assert [ProtocolError, ProtocolError, ServerError] == [type(e) for e in errors]
        assert MessageKind.ERROR in [m.kind for m in messages]
        assert "ok" == s.target_transcript

    def test_abnormal_end_is_raised_by_iteration(self, minimal: Any) -> None:
        """A connection that ends with an error code ends iteration with ConnectionClosedError."""

        def dies(ws: ServerConnection, got: queue.Queue[dict[str, Any]]) -> None:
            _send(ws, CREATED)
            _recv(ws, got)
            ws.close(1011, "boom")

        server = minimal(dies)
        session = _client(server).start_translation(language="es")
        with pytest.raises(ConnectionClosedError, match="1011"):
            for _ in session.events(timeout=WAIT):
                pass
        assert session.wait_closed(WAIT)
        session.close()

    def test_refusal_before_created_names_the_reason(self, minimal: Any) -> None:
        """An error then a close before session.created fails start_translation with the reason."""

        def refuses(ws: ServerConnection, got: queue.Queue[dict[str, Any]]) -> None:
            error = {"type": "invalid_request_error", "message": "unknown model"}
            _send(ws, {"type": "error", "event_id": "e", "error": error})
            ws.close(1008, "policy")

        server = minimal(refuses)
        with pytest.raises(ConnectionClosedError, match="unknown model"):
            _client(server).start_translation(language="es")


class TestApi:
    def _fake_session(self) -> tuple[TranslationSession, Any]:
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        return TranslationSession(transport=fake, model="m"), fake

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"language": ""}, "language"),
            ({"language": "spanish please"}, "language"),
            ({"language": 5}, "language"),
            ({"language": "es", "model": ""}, "model"),
            ({"language": "es", "noise_reduction": "loud"}, "noise_reduction"),
            ({"language": "es", "noise_reduction": ev.NoiseReduction()}, "noise_reduction"),
            ({"language": "es", "input_transcription": 3}, "input_transcription"),
        ],
    )
    def test_arguments_are_checked_before_connecting(self, kwargs: Any, match: str) -> None:
        """A bad argument raises ValueError naming it, and no connection is attempted."""
        opened: list[str] = []

        def factory(url: str, headers: Any, timeout: float) -> Any:
            opened.append(url)
            raise AssertionError("connected")

        client = ConversationClient(api_key="sk-test", transport_factory=factory)
        with pytest.raises(ValueError, match=match):
            client.start_translation(**kwargs)
        assert [] == opened

    def test_send_checks(self) -> None:
        """send_audio refuses non-bytes and partial samples; nothing is sent after close."""
        session, _ = self._fake_session()
        with pytest.raises(TypeError):
            session.send_audio("x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="samples"):
            session.send_audio(b"\x00")
        session.close()
        with pytest.raises(SessionClosedError):
            session.send_audio(b"\x00\x00")
        with pytest.raises(SessionClosedError):
            session.__enter__()

    def test_entering_a_session_the_network_ended_names_the_cause(self) -> None:
        """Entering a closed translation session raises SessionClosedError whose
        __cause__ is the error that ended it, as for a conversation."""
        session, fake = self._fake_session()
        session.open()
        fake.close_from_server(1011, "overloaded")
        assert session.wait_closed(WAIT)
        session.close()
        with pytest.raises(SessionClosedError) as raised:
            session.__enter__()
        cause = raised.value.__cause__
        assert isinstance(cause, ConnectionClosedError)
        assert (1011, "overloaded") == (cause.code, cause.reason)

    def test_update_sends_only_what_is_given(self) -> None:
        """update(language=...) sends only the language; None turns transcription off."""
        session, fake = self._fake_session()
        with session:
            session.update(language="fr")
            session.update(input_transcription=None)
            with pytest.raises(ValueError, match="nothing to update"):
                session.update()
            session.close()
        sent = fake.sent
        assert {"audio": {"output": {"language": "fr"}}} == sent[0]["session"]
        assert {"audio": {"input": {"transcription": None}}} == sent[1]["session"]

    def test_callbacks_take_translation_classes_and_strings(self) -> None:
        """on() takes translation event classes or wire strings; conversation classes are refused."""
        session, fake = self._fake_session()
        got: list[Any] = []
        session.on(tev.SessionOutputTranscriptDeltaEvent, got.append)
        session.on("session.future")(got.append)
        with pytest.raises(TypeError):
            session.on(ev.ResponseDoneEvent, got.append)
        with session:
            fake.push({"type": "session.output_transcript.delta", "event_id": "a", "delta": "x"})
            fake.push({"type": "session.future", "event_id": "b"})
            events = session.events(timeout=WAIT)
            next(events), next(events)
        assert ["session.output_transcript.delta", "session.future"] == [e.type for e in got]

    def test_accumulation_opt_out(self) -> None:
        """With accumulate=False the accumulated properties raise UsageError."""
        from realtime_client.testing import FakeTransport

        session = TranslationSession(transport=FakeTransport(), model="m", accumulate=False)
        with pytest.raises(UsageError):
            _ = session.target_transcript
        with pytest.raises(UsageError):
            _ = session.translated_audio
        session.close()


class TestCloseFromCallback:
    def test_close_in_a_callback_keeps_the_event_and_ends_iteration(self) -> None:
        """close() from a callback does not deadlock; the event being handled is still
        iterated, then iteration ends."""
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        session = TranslationSession(transport=fake, model="m")
        session.on("session.output_transcript.delta", lambda _e: session.close())
        with session:
            fake.push({"type": "session.output_transcript.delta", "event_id": "a", "delta": "x"})
            assert session.wait_closed(WAIT)
            got = [e.type for e in session.events(timeout=WAIT)]
        assert ["session.output_transcript.delta"] == got


_CREATED_FRAME = {
    "type": "session.created",
    "event_id": "c",
    "session": {"type": "translation", "id": "sess_f", "model": "m", "expires_at": 1, "audio": {}},
}


class TestPoliteClose:
    def test_close_waits_for_session_closed_and_the_last_output(self) -> None:
        """close() sends session.close and returns only after session.closed: the
        translation the server sends before it is on the session when close returns."""
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        session = TranslationSession(transport=fake, model="m").open()
        fake.push(_CREATED_FRAME)
        session.wait_created(WAIT)
        closer = threading.Thread(target=session.close, kwargs={"timeout": WAIT})
        closer.start()
        fake.wait_for_type("session.close")
        assert closer.is_alive()  # waiting for the answer, within its bound
        fake.push({"type": "session.output_transcript.delta", "event_id": "d", "delta": "fin"})
        fake.push({"type": "session.closed", "event_id": "z"})
        closer.join(WAIT)
        assert not closer.is_alive()
        assert "fin" == session.target_transcript
        assert session.close_info is not None
        assert session.close_info.error is None

    def test_close_from_a_callback_says_goodbye_without_waiting(self) -> None:
        """close() in a callback sends session.close but does not wait for the answer
        its own thread would deliver: it returns and the session closes."""
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        session = TranslationSession(transport=fake, model="m", close_timeout=WAIT)
        session.on("session.output_transcript.delta", lambda _e: session.close())
        with session:
            fake.push(_CREATED_FRAME)
            session.wait_created(WAIT)
            started = time.monotonic()
            fake.push({"type": "session.output_transcript.delta", "event_id": "a", "delta": "x"})
            assert session.wait_closed(WAIT)
            assert time.monotonic() - started < WAIT / 2
        assert "session.close" in fake.sent_types()

    def test_no_goodbye_after_the_network_ended_the_session(self) -> None:
        """A session the server closed abnormally does not send session.close into the
        dead connection; iteration ends with the server's ConnectionClosedError."""
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        session = TranslationSession(transport=fake, model="m").open()
        fake.push(_CREATED_FRAME)
        session.wait_created(WAIT)
        fake.close_from_server(1011, "boom")
        assert session.wait_closed(WAIT)
        session.close()
        assert "session.close" not in fake.sent_types()
        with pytest.raises(ConnectionClosedError, match="1011"):
            list(session.events(timeout=WAIT))


class TestBackPressure:
    def test_send_audio_times_out_on_a_full_queue(self) -> None:
        """With the network stalled, send_audio(timeout=...) raises the core's
        SendQueueFullError instead of blocking forever; close() still returns."""
        from realtime_client import SendQueueFullError
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        session = TranslationSession(transport=fake, model="m", close_timeout=0.5)
        fake.pause_sends()

        def flood() -> None:
            for _ in range(5000):  # bounded: the queue holds 1024 frames
                session.send_audio(b"\x00\x00", timeout=0.2)

        with session, pytest.raises(SendQueueFullError):
            flood()
        assert session.closed

    def test_the_queue_is_bounded_in_bytes(self) -> None:
        """The queue is bounded in bytes as a conversation's is: against a stalled
        network, 1 MiB audio calls with timeout=0 are refused after about 4 MiB
        (not after 1024 frames), with SendQueueFullError."""
        from realtime_client import SendQueueFullError
        from realtime_client.testing import FakeTransport

        fake = FakeTransport()
        session = TranslationSession(transport=fake, model="m", close_timeout=0.5)
        fake.pause_sends()
        accepted = 0
        refused: list[SendQueueFullError] = []
        with session:
            for _ in range(64):  # bounded: far more than 4 MiB
                try:
                    session.send_audio(bytes(1024 * 1024), timeout=0)
                except SendQueueFullError as exc:
                    refused.append(exc)
                    break
                accepted += 1
        assert 1 == len(refused)
        assert "nothing was queued" in str(refused[0])
        assert 2 <= accepted <= 5  # 2 queued (1.4 MB each), plus the writer's batch


class TestWire:
    def test_goodbye_and_append_frames_are_the_converters_json(self) -> None:
        """The frames built directly (session.close, the audio append) decode to what
        the translation converter would send for the same events."""
        from realtime_client._frames import append_frames
        from realtime_client._translation_receive import TRANSLATION_WIRE

        assert TRANSLATION_WIRE.goodbye is not None
        assert json.loads(tev.encode_translation_client_event(tev.SessionCloseEvent())) == (
            json.loads(TRANSLATION_WIRE.goodbye)
        )
        audio = bytes(range(256))
        [frame] = append_frames(audio, event_type="session.input_audio_buffer.append")
        event = tev.SessionInputAudioBufferAppendEvent(audio=audio)
        assert json.loads(tev.encode_translation_client_event(event)) == json.loads(frame)
        assert event == tev.decode_translation_client_event(frame)

    def test_send_refuses_other_protocols_events(self) -> None:
        """send() takes translation client events only: a conversation event is a
        TypeError, a bad field a ValueError naming it; nothing is queued."""
        from realtime_client.testing import FakeTransport

        session = TranslationSession(transport=FakeTransport(), model="m")
        with pytest.raises(TypeError, match="translation client event"):
            session.send(ev.ResponseCreateEvent())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="language"):
            session.send(
                tev.SessionUpdateEvent(
                    session=tev.TranslationSessionUpdate(
                        audio=tev.TranslationAudio(
                            output=tev.TranslationAudioOutput(language=5)  # type: ignore[arg-type]
                        )
                    )
                )
            )
        assert 0 == session._core.conn.queued
        session.close()


class TestThreads:
    def test_named_threads_and_none_left_after_close(self) -> None:
        """An open translation session runs the core's two threads, named
        realtime-reader-<n> and realtime-writer-<n>; none is left after close."""
        from realtime_client.testing import FakeTransport

        before = set(threading.enumerate())
        with TranslationSession(transport=FakeTransport(), model="m"):
            names = sorted(t.name for t in set(threading.enumerate()) - before)
            assert 2 == len(names)
            reader, writer = names
            assert reader.startswith("realtime-reader-")
            assert writer.startswith("realtime-writer-")
            assert reader.rsplit("-", 1)[1] == writer.rsplit("-", 1)[1]
        assert [] == [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
