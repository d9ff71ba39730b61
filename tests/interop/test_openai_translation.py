"""The offline server's translation endpoint, driven by the official openai SDK.

A client the project did not write connects with
``client.realtime.translations.connect()``, and every frame the server sends is
validated with the SDK's own pydantic types (strictly, not the SDK's lenient
``construct``). Skipped when ``openai`` (3.57 or later) is not installed; the
``interop`` tox environment installs it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from realtime_client.testing import FakeRealtimeServer
from realtime_client.testing._server._speech import synthesize

openai = pytest.importorskip("openai", minversion="3.57")
pydantic = pytest.importorskip("pydantic")

from openai.types.realtime.realtime_translation_server_event import (  # noqa: E402
    RealtimeTranslationServerEvent,
)

# The SDK opens its websockets connection without a context manager, which websockets 17.1+
# deprecates; that is the SDK's business, not the server's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"
)

SERVER_EVENT: Any = pydantic.TypeAdapter(RealtimeTranslationServerEvent)
MAX_EVENTS = 2000
RATE = 24000
CHUNK = RATE * 2 // 5  # 200 ms of PCM16


@pytest.fixture
def server() -> Iterator[FakeRealtimeServer]:
    with FakeRealtimeServer(transcribe="good morning everyone", speech_engine="synthetic") as s:
        yield s


def _strict(raw: bytes) -> Any:
    """Validate one frame with the SDK's types; extra fields allowed, wrong ones not."""
    event = SERVER_EVENT.validate_json(raw)
    assert json.loads(raw)["type"] == event.type
    return event


class TestOfficialSdk:
    def test_translation_round_trip(self, server: FakeRealtimeServer) -> None:
        """The SDK's translations.connect() gets created, updated, transcript and audio
        deltas with elapsed_ms, then session.closed, every frame valid for the SDK."""
        client = openai.OpenAI(
            api_key="sk-test", base_url=server.base_url.replace("ws://", "http://")
        )
        speech = synthesize("good morning everyone", RATE, engine="synthetic")
        audio = b"\0" * CHUNK + speech + b"\0" * (RATE * 2 * 2)
        events: list[Any] = []
        with client.realtime.translations.connect(model="gpt-realtime-translate") as conn:
            events.append(_strict(conn.recv_bytes()))
            conn.send(
                {
                    "type": "session.update",
                    "session": {
                        "audio": {
                            "input": {"transcription": {"model": "gpt-4o-transcribe"}},
                            "output": {"language": "de"},
                        }
                    },
                }
            )
            events.append(_strict(conn.recv_bytes()))
            for start in range(0, len(audio), CHUNK):
                chunk = base64.b64encode(audio[start : start + CHUNK]).decode()
                conn.send({"type": "session.input_audio_buffer.append", "audio": chunk})
            conn.send({"type": "session.close"})
            for _ in range(MAX_EVENTS):
                events.append(_strict(conn.recv_bytes()))
                if events[-1].type == "session.closed":
                    break
        kinds = [e.type for e in events]
        assert ["session.created", "session.updated"] == kinds[:2]
        assert "session.closed" == kinds[-1]
        assert "de" == events[1].session.audio.output.language
        source = "".join(e.delta for e in events if e.type == "session.input_transcript.delta")
        target = "".join(e.delta for e in events if e.type == "session.output_transcript.delta")
        assert ("good morning everyone", "[de] good morning everyone") == (source, target)
        deltas = [e for e in events if e.type == "session.output_audio.delta"]
        assert deltas
        assert all(d.sample_rate == RATE and d.elapsed_ms is not None for d in deltas)
        elapsed = [e.elapsed_ms for e in events if getattr(e, "elapsed_ms", None) is not None]
        assert sorted(elapsed) == elapsed

    def test_bad_update_is_an_sdk_error_event(self, server: FakeRealtimeServer) -> None:
        """Changing the model with session.update gets an error event the SDK parses."""
        client = openai.OpenAI(
            api_key="sk-test", base_url=server.base_url.replace("ws://", "http://")
        )
        with client.realtime.translations.connect(model="gpt-realtime-translate") as conn:
            _strict(conn.recv_bytes())
            conn.send({"type": "session.update", "session": {"model": "other"}})  # type: ignore[typeddict-unknown-key]
            error = _strict(conn.recv_bytes())
        assert ("error", "session.model") == (error.type, error.error.param)

    def test_translation_client_secret(self, server: FakeRealtimeServer) -> None:
        """The SDK's translations.client_secrets.create() parses the server's answer."""
        client = openai.OpenAI(
            api_key="sk-test", base_url=server.base_url.replace("ws://", "http://")
        )
        secret = client.realtime.translations.client_secrets.create(
            session={"model": "gpt-realtime-translate", "audio": {"output": {"language": "it"}}}
        )
        assert secret.value.startswith("ek_")
        assert "it" == secret.session.audio.output.language
