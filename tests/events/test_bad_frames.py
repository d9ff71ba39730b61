"""Bad frames raise ProtocolError with a message naming the type and the field path."""

from __future__ import annotations

import json

import pytest

from realtime_client import ProtocolError, RealtimeError
from realtime_client import events as ev

from .frames import AUDIO_20MS

DELTA = {
    "type": "response.output_audio.delta",
    "event_id": "e1",
    "response_id": "r1",
    "item_id": "i1",
    "output_index": 0,
    "content_index": 0,
    "delta": AUDIO_20MS,
}


def _json_error(text: str) -> str:
    """The json module's own message for ``text`` (its wording differs between Pythons)."""
    try:
        json.loads(text)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{text[:20]!r}... is valid JSON")


def with_(base: dict[str, object], **changes: object) -> str:
    return json.dumps({**base, **changes})


def without(base: dict[str, object], key: str) -> str:
    return json.dumps({k: v for k, v in base.items() if k != key})


BAD_SERVER_FRAMES = [
    pytest.param(
        b"\xff\xfe{}",
        "server frame is not UTF-8 text (invalid start byte at byte 0)",
        id="not-utf8",
    ),
    pytest.param(
        "", "server frame is not valid JSON: Expecting value: line 1 column 1 (char 0)", id="empty"
    ),
    pytest.param(
        '{"type": "error",',
        "server frame is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 18 (char 17)",
        id="truncated",
    ),
    pytest.param("[1, 2]", "server frame must be a JSON object, got an array", id="array"),
    pytest.param('"error"', "server frame must be a JSON object, got a string", id="string"),
    pytest.param("null", "server frame must be a JSON object, got null", id="null"),
    pytest.param('{"event_id": "e"}', "server event has no 'type'", id="no-type"),
    pytest.param('{"type": 7}', "server event has a 'type' that is an integer", id="int-type"),
    pytest.param('{"type": null}', "server event has a 'type' that is null", id="null-type"),
    pytest.param(
        "[" * 100_000 + "]" * 100_000, "server frame is nested too deeply", id="deep-nesting"
    ),
    pytest.param(
        '{"type": "x", "n": NaN}',
        "server frame has a bad number: NaN is not a JSON number",
        id="nan",
    ),
    pytest.param(
        '{"type": "x", "n": -Infinity}',
        "server frame has a bad number: -Infinity is not a JSON number",
        id="infinity",
    ),
    pytest.param(
        '{"type": "x", "n": 1e999}',
        "server frame has a bad number: number 1e999... is out of range",
        id="float-overflow",
    ),
    pytest.param(
        '{"type": "x", "n": ' + "9" * 5000 + "}",
        "server frame is not valid JSON: " + _json_error("9" * 5000),
        id="huge-int",
    ),
    pytest.param(
        with_(DELTA, output_index=2**70),
        "invalid server event 'response.output_audio.delta': integer out of the 64-bit range @ $.output_index",
        id="int-out-of-range",
    ),
    pytest.param(
        without(DELTA, "item_id"),
        "invalid server event 'response.output_audio.delta': required field missing @ $.item_id",
        id="missing-field",
    ),
    pytest.param(
        with_(DELTA, output_index="0"),
        "invalid server event 'response.output_audio.delta': expected an integer, got a string @ $.output_index",
        id="str-for-int",
    ),
    pytest.param(
        with_(DELTA, output_index=True),
        "invalid server event 'response.output_audio.delta': expected an integer, got a boolean @ $.output_index",
        id="bool-for-int",
    ),
    pytest.param(
        with_(DELTA, output_index=1.5),
        "invalid server event 'response.output_audio.delta': expected an integer, got a number @ $.output_index",
        id="float-for-int",
    ),
    pytest.param(
        with_(DELTA, item_id=None),
        "invalid server event 'response.output_audio.delta': expected a string, got null @ $.item_id",
        id="null-required",
    ),
    pytest.param(
        with_(DELTA, delta="not base64!"),
        "invalid server event 'response.output_audio.delta': invalid base64 (Non-base64 digit found) @ $.delta",
        id="bad-base64",
    ),
    pytest.param(
        with_(DELTA, delta="QUJD="),
        "invalid server event 'response.output_audio.delta': invalid base64 (Non-base64 digit found) @ $.delta",
        id="bad-padding",
    ),
    pytest.param(
        with_(DELTA, delta=[1, 2]),
        "invalid server event 'response.output_audio.delta': expected base64 text, got an array @ $.delta",
        id="list-for-audio",
    ),
    pytest.param(
        '{"type": "response.done", "event_id": "e", "response": {"status": "exploded"}}',
        "invalid server event 'response.done': expected one of 'completed', 'cancelled', 'failed', 'incomplete', 'in_progress', got 'exploded' @ $.response.status",
        id="bad-literal",
    ),
    pytest.param(
        '{"type": "response.done", "event_id": "e", "response": {"output": {"type": "message"}}}',
        "invalid server event 'response.done': expected an array, got an object @ $.response.output",
        id="object-for-list",
    ),
    pytest.param(
        '{"type": "conversation.item.added", "event_id": "e", "item": {"type": "message", "role": "developer", "content": []}}',
        "invalid server event 'conversation.item.added': message role must be one of 'system', 'user', 'assistant', got 'developer' @ $.item",
        id="unknown-role",
    ),
    pytest.param(
        '{"type": "conversation.item.added", "event_id": "e", "item": "item_1"}',
        "invalid server event 'conversation.item.added': expected conversation item object, got a string @ $.item",
        id="string-for-item",
    ),
    pytest.param(
        '{"type": "session.created", "event_id": "e", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": "high"}}}}}',
        "invalid server event 'session.created': expected a number, got a string @ $.session.audio.input.turn_detection.threshold",
        id="deep-path",
    ),
    pytest.param(
        '{"type": "session.created", "event_id": "e", "session": {"type": "translation"}}',
        "invalid server event 'session.created': unknown session type 'translation'; expected one of 'realtime', 'transcription' @ $.session",
        id="unknown-session-type",
    ),
    pytest.param(
        '{"type": "rate_limits.updated", "event_id": "e", "rate_limits": [{"limit": 1}, {"limit": "x"}]}',
        "invalid server event 'rate_limits.updated': expected an integer, got a string @ $.rate_limits[1].limit",
        id="list-index-path",
    ),
    pytest.param(
        '{"type": "response.created", "event_id": "e", "response": {"max_output_tokens": "lots"}}',
        "invalid server event 'response.created': expected an integer or 'inf', got 'lots' @ $.response.max_output_tokens",
        id="bad-max-tokens",
    ),
    pytest.param(
        '{"type": "response.created", "event_id": "e", "response": {"metadata": {"a": 1}}}',
        "invalid server event 'response.created': ['a']: expected a string, got an integer @ $.response.metadata",
        id="bad-metadata-value",
    ),
    pytest.param(
        '{"type": "input_audio_buffer.speech_started", "event_id": 5, "item_id": [], "audio_start_ms": "x"}',
        "invalid server event 'input_audio_buffer.speech_started': expected a string, got an integer @ $.event_id; expected an integer, got a string @ $.audio_start_ms; expected a string, got an array @ $.item_id",
        id="several-problems",
    ),
]


class TestBadServerFrames:
    @pytest.mark.parametrize(("frame", "message"), BAD_SERVER_FRAMES)
    def test_precise_error(self, frame: str | bytes, message: str) -> None:
        """Each bad frame raises ProtocolError with a message that says what and where."""
        with pytest.raises(ProtocolError) as info:
            ev.decode_server_event(frame)

        assert message == str(info.value)

    @pytest.mark.parametrize(("frame", "message"), BAD_SERVER_FRAMES)
    def test_no_other_exception_escapes(self, frame: str | bytes, message: str) -> None:
        """The error is a RealtimeError whose details list one line per problem."""
        with pytest.raises(RealtimeError) as info:
            ev.decode_server_event(frame)

        assert type(info.value) is ProtocolError
        if message.startswith("invalid server event"):
            assert message.split(": ", 1)[1] == "; ".join(info.value.details)

    def test_raw_is_kept_short(self) -> None:
        """The exception keeps the start of the frame for debugging, not all of it."""
        frame = '{"type": "x", "data": "' + "a" * 10_000 + '", "n": NaN}'

        with pytest.raises(ProtocolError) as info:
            ev.decode_server_event(frame)

        assert info.value.raw == frame[:200]

    def test_not_a_frame(self) -> None:
        """Passing something that is not text or bytes is a ProtocolError too."""
        with pytest.raises(ProtocolError, match="server frame must be str or bytes, got int"):
            ev.decode_server_event(42)  # type: ignore[arg-type]


class TestBadClientFrames:
    @pytest.mark.parametrize(
        ("frame", "message"),
        [
            (
                '{"type": "conversation.item.truncate", "item_id": "i", "content_index": 0}',
                "invalid client event 'conversation.item.truncate': required field missing @ $.audio_end_ms",
            ),
            (
                '{"type": "input_audio_buffer.append", "audio": "%%%"}',
                "invalid client event 'input_audio_buffer.append': invalid base64 (Non-base64 digit found) @ $.audio",
            ),
            (
                '{"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "output_text", "text": "x"}]}}',
                "invalid client event 'conversation.item.create': unknown user content part type 'output_text'; expected one of 'input_audio', 'input_image', 'input_text' @ $.item.content[0]",
            ),
            (
                '{"type": "session.update", "session": {"type": "realtime", "tool_choice": 3}}',
                "invalid client event 'session.update': expected 'none', 'auto', 'required' or a tool, got an integer @ $.session.tool_choice",
            ),
            (
                '{"type": "session.update", "session": {"type": "realtime", "truncation": "sometimes"}}',
                "invalid client event 'session.update': expected one of 'auto', 'disabled', got 'sometimes' @ $.session.truncation",
            ),
            (
                '{"type": "response.create", "response": {"input": [{"type": "item_reference"}]}}',
                "invalid client event 'response.create': required field missing @ $.response.input[0].id",
            ),
            (
                '{"type": "session.update", "session": {"type": "realtime", "truncation": {"type": "token_budget", "retention_ratio": 0.5}}}',
                "invalid client event 'session.update': expected type 'retention_ratio', got 'token_budget' @ $.session.truncation",
            ),
            (
                '{"type": "response.create", "response": {"max_output_tokens": 1000000000000000000000000}}',
                "invalid client event 'response.create': integer out of the 64-bit range @ $.response.max_output_tokens",
            ),
            (
                '{"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"speed": 1e308, "voice": 5}}}}',
                "invalid client event 'session.update': expected a voice name or {'id': ...}, got an integer @ $.session.audio.output.voice",
            ),
        ],
    )
    def test_precise_error(self, frame: str, message: str) -> None:
        """Client frames are checked as strictly, for servers such as the offline one."""
        with pytest.raises(ProtocolError) as info:
            ev.decode_client_event(frame)

        assert message == str(info.value)

    def test_client_frames_are_not_kept(self) -> None:
        """A bad client frame is not kept on the error: it may carry an MCP tool's credentials."""
        frame = '{"type": "session.update", "session": {"type": "realtime", "tools": [{"type": "mcp", "server_label": "x", "authorization": "sk-secret", "headers": 5}]}}'

        with pytest.raises(ProtocolError) as info:
            ev.decode_client_event(frame)

        assert info.value.raw is None
        assert "sk-secret" not in str(info.value)


class TestEncodeErrors:
    def test_wrong_field_type_raises_where_built(self) -> None:
        """Encoding checks the values' types, naming the event and the fields."""
        event = ev.ConversationItemTruncateEvent(item_id=5, content_index=0, audio_end_ms="1s")  # type: ignore[arg-type]

        with pytest.raises(ProtocolError) as info:
            ev.encode_client_event(event)

        assert (
            "cannot encode client event 'conversation.item.truncate': "
            "expected a string, got an integer @ $.item_id; "
            "expected an integer, got a string @ $.audio_end_ms"
        ) == str(info.value)

    def test_server_event_is_not_a_client_event(self) -> None:
        """encode_client_event refuses a server event."""
        event = ev.InputAudioBufferClearedEvent(event_id="e")

        with pytest.raises(
            ProtocolError, match="expected a client event, got InputAudioBufferClearedEvent"
        ):
            ev.encode_client_event(event)  # type: ignore[arg-type]

    def test_non_json_value_in_free_form_field(self) -> None:
        """A value JSON cannot hold, in a free-form field, is reported, not leaked."""
        tool = ev.FunctionTool(name="f", parameters={"type": {1, 2}})
        event = ev.SessionUpdateEvent(session=ev.RealtimeSessionConfig(tools=[tool]))

        with pytest.raises(ProtocolError) as info:
            ev.encode_client_event(event)

        assert (
            "cannot encode client event 'session.update': "
            "Object of type set is not JSON serializable"
        ) == str(info.value)

    def test_nan_is_refused(self) -> None:
        """NaN is not JSON: encoding a NaN float raises instead of writing it."""
        event = ev.SessionUpdateEvent(
            session=ev.RealtimeSessionConfig(
                audio=ev.AudioConfig(output=ev.AudioOutputConfig(speed=float("nan")))
            )
        )

        with pytest.raises(ProtocolError) as info:
            ev.encode_client_event(event)

        assert (
            "cannot encode client event 'session.update': "
            "expected a finite number, got nan @ $.session.audio.output.speed"
        ) == str(info.value)

    def test_str_for_audio(self) -> None:
        """Audio given as text instead of bytes is refused with a clear message."""
        with pytest.raises(ProtocolError) as info:
            ev.encode_client_event(ev.InputAudioBufferAppendEvent(audio="AAAA"))  # type: ignore[arg-type]

        assert (
            "cannot encode client event 'input_audio_buffer.append': audio must be bytes, got str @ $"
        ) == str(info.value)

    def test_unknown_event_cannot_carry_a_known_type(self) -> None:
        """UnknownClientEvent is for new types; a known type must use its class."""
        with pytest.raises(ProtocolError) as info:
            ev.encode_client_event(
                ev.UnknownClientEvent(type="response.create", raw={"response": 5})
            )

        assert (
            "UnknownClientEvent cannot carry the known type 'response.create': "
            "build a ResponseCreateEvent"
        ) == str(info.value)

    def test_unknown_event_is_written_with_its_type(self) -> None:
        """An unknown event's frame always carries its type, even if raw lacks it."""
        assert '{"k":1,"type":"session.close"}' == ev.encode_client_event(
            ev.UnknownClientEvent(type="session.close", raw={"k": 1})
        )

    def test_deep_free_form_value(self) -> None:
        """Absurdly deep data in a free-form field raises ProtocolError, not RecursionError."""
        deep: dict[str, object] = {}
        node = deep
        for _ in range(100_000):
            node["x"] = {}
            node = node["x"]  # type: ignore[assignment]
        event = ev.SessionUpdateEvent(
            session=ev.RealtimeSessionConfig(tools=[ev.FunctionTool(name="f", parameters=deep)])
        )

        with pytest.raises(ProtocolError, match="nested too deeply"):
            ev.encode_client_event(event)
