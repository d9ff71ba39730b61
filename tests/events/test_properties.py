"""Property tests: any instance of any event class survives encode and decode."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_client import ProtocolError
from realtime_client import events as ev
from realtime_client.events._base import wire_type

from .frames import SERVER_FRAMES
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


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value, the root excluded."""
    out = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return out
    for key, child in items:
        out.append((*path, key))
        out.extend(_paths(child, (*path, key)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    value = copy.deepcopy(value)
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return value


REALISTIC = [f for group in SERVER_FRAMES.values() for f in group]


@SETTINGS
@given(st.data())
def test_mangled_nested_fields_raise_only_protocol_error(data: st.DataObject) -> None:
    """Any field of a realistic frame, at any depth, replaced by any JSON: decoded or ProtocolError."""
    frame = data.draw(st.sampled_from(REALISTIC))
    path = data.draw(st.sampled_from(_paths(frame)))
    mangled = _replace(frame, path, data.draw(JSON_VALUES))
    with contextlib.suppress(ProtocolError):
        ev.decode_server_event(json.dumps(mangled))
