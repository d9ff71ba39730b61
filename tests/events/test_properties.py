"""Property tests: any instance of any event class survives encode and decode."""

from __future__ import annotations

import contextlib
import json
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_client import ProtocolError
from realtime_client import events as ev
from realtime_client.events._base import wire_type

from .strategies import JSON_VALUES, for_class

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("cls", get_args(ev.ClientEvent), ids=lambda c: c.__name__)
def test_client_events_round_trip(cls: type) -> None:
    """decode_client_event(encode_client_event(x)) == x, and the wire type is right."""

    @SETTINGS
    @given(for_class(cls))
    def check(event: Any) -> None:
        frame = ev.encode_client_event(event)
        assert wire_type(cls) == json.loads(frame)["type"]
        assert event == ev.decode_client_event(frame)
        assert frame == ev.encode_client_event(ev.decode_client_event(frame))

    check()


@pytest.mark.parametrize("cls", get_args(ev.ServerEvent), ids=lambda c: c.__name__)
def test_server_events_round_trip(cls: type) -> None:
    """decode_server_event(encode_server_event(x)) == x, and the wire type is right."""

    @SETTINGS
    @given(for_class(cls))
    def check(event: Any) -> None:
        frame = ev.encode_server_event(event)
        assert wire_type(cls) == json.loads(frame)["type"]
        assert event == ev.decode_server_event(frame)

    check()


@SETTINGS
@given(st.binary(max_size=4096) | st.text(max_size=200))
def test_arbitrary_bytes_never_escape_as_another_exception(frame: bytes | str) -> None:
    """Whatever arrives, the decoder returns an event or raises ProtocolError."""
    with contextlib.suppress(ProtocolError):
        ev.decode_server_event(frame)


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(ev.SERVER_EVENT_TYPES)), JSON_VALUES, max_size=1))
def test_mangled_known_events_raise_only_protocol_error(fields: dict[str, Any]) -> None:
    """A known type with arbitrary JSON in its fields decodes or raises ProtocolError."""
    for kind in ev.SERVER_EVENT_TYPES:
        frame = json.dumps(
            {"type": kind, "event_id": "e", **{k.split(".")[-1]: v for k, v in fields.items()}}
        )
        with contextlib.suppress(ProtocolError):
            ev.decode_server_event(frame)
