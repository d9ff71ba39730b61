"""The converter: a self-contained model, one factory for every protocol, built on first use."""

from __future__ import annotations

import ast
import json
import pathlib
import pickle
import subprocess
import sys
import threading
from typing import Any, Literal, Union

import pytest
from attrs import field, frozen

import realtime_client
from realtime_client import events as ev
from realtime_client.events import _protocol
from realtime_client.events._base import UnknownItem, WireObject
from realtime_client.events._converter import (
    FieldError,
    Lazy,
    configure_union,
    format_error,
    new_converter,
)

EVENTS_DIR = pathlib.Path(ev.__file__).parent

# Imports realtime_client.events under an empty stand-in for its parent package, so that
# the parent's __init__ (which imports everything) does not run, then reports what loaded.
_PROBE = """
import importlib.util, json, sys, types
spec = importlib.util.find_spec("realtime_client")
parent = types.ModuleType("realtime_client")
parent.__path__ = list(spec.submodule_search_locations)
sys.modules["realtime_client"] = parent
import realtime_client.events as ev
loaded = sorted(m for m in sys.modules if m.startswith("realtime_client"))
cattrs_at_import = "cattrs" in sys.modules
event = ev.decode_server_event('{"type":"input_audio_buffer.cleared","event_id":"e"}')
print(json.dumps({"loaded": loaded, "cattrs_at_import": cattrs_at_import,
                  "cattrs_after_decode": "cattrs" in sys.modules, "event": type(event).__name__}))
"""


def _probe() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class TestSelfContained:
    def test_events_loads_nothing_from_the_package_above(self) -> None:
        """realtime_client.events works on its own: it loads no other realtime_client module."""
        result = _probe()

        outside = [
            m
            for m in result["loaded"]
            if m != "realtime_client" and not m.startswith("realtime_client.events")
        ]
        assert [] == outside
        assert "InputAudioBufferClearedEvent" == result["event"]

    def test_converter_is_built_on_first_use(self) -> None:
        """Importing the model does not import cattrs; the first decode does."""
        result = _probe()

        assert result["cattrs_at_import"] is False
        assert result["cattrs_after_decode"] is True

    @pytest.mark.parametrize("path", sorted(EVENTS_DIR.glob("*.py")), ids=lambda p: p.name)
    def test_no_import_reaches_above_events(self, path: pathlib.Path) -> None:
        """No module of the events package imports from realtime_client outside it."""
        tree = ast.parse(path.read_text(encoding="utf-8"))

        bad = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                bad.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''}")
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("realtime_client") and not name.startswith(
                    "realtime_client.events"
                ):
                    bad.append(f"line {node.lineno}: import {name}")
        assert [] == bad


class TestErrors:
    def test_codec_error_is_the_public_protocol_error(self) -> None:
        """except realtime_client.ProtocolError catches what the codec raises."""
        with pytest.raises(realtime_client.ProtocolError) as info:
            ev.decode_server_event("{")

        assert isinstance(info.value, realtime_client.RealtimeError)
        assert "realtime_client.errors" == type(info.value).__module__

    def test_protocol_error_pickles(self) -> None:
        """The error travels between processes, under its public name."""
        error = realtime_client.ProtocolError("bad", raw="{", details=("a",))

        again = pickle.loads(pickle.dumps(error))

        assert type(again) is realtime_client.ProtocolError
        assert "bad" == str(again)


class TestVariants:
    def test_strict_and_lenient_are_two_copies(self) -> None:
        """The two variants are separate converters made from the same base."""
        lenient = _protocol.LENIENT.get().converter
        strict = _protocol.STRICT.get().converter

        assert lenient is not strict
        assert lenient is _protocol.LENIENT.get().converter  # built once

    def test_server_decoding_is_lenient_client_decoding_strict(self) -> None:
        """The same nested unknown tool is kept from a server and refused from a client."""
        session = '{"type":"realtime","tools":[{"type":"web_search"}]}'
        server = ev.decode_server_event(
            '{"type":"session.updated","event_id":"e","session":' + session + "}"
        )

        assert isinstance(server, ev.SessionUpdatedEvent)
        assert isinstance(server.session, ev.RealtimeSessionConfig)
        assert [ev.UnknownTool(type="web_search", raw={"type": "web_search"})] == (
            server.session.tools
        )
        with pytest.raises(realtime_client.ProtocolError, match="unknown tool type 'web_search'"):
            ev.decode_client_event('{"type":"session.update","session":' + session + "}")


class TestLazy:
    def test_built_once_under_concurrent_first_use(self) -> None:
        """Threads asking at once for a converter not yet built all get the one built once."""
        calls: list[int] = []
        ready = threading.Barrier(8)

        def build() -> object:
            calls.append(1)
            return object()

        lazy: Lazy[object] = Lazy(build)
        results: list[object] = []

        def use() -> None:
            ready.wait(timeout=10)
            results.append(lazy.get())

        threads = [threading.Thread(target=use, name=f"lazy-{i}") for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

        assert 1 == len(calls)
        assert 8 == len(results)
        assert all(r is results[0] for r in results)


# A second protocol of its own, as the translation protocol builds one on the same factory.


@frozen(kw_only=True, eq=False, repr=False)
class Ping(WireObject):
    type: Literal["ping"] = field(default="ping", init=False)
    n: int


@frozen(kw_only=True, eq=False, repr=False)
class Note(WireObject):
    type: Literal["note"] = field(default="note", init=False)
    role: Literal["user"] = field(default="user", init=False)
    text: str


@frozen(kw_only=True, eq=False, repr=False)
class Reply(WireObject):
    type: Literal["note"] = field(default="note", init=False)
    role: Literal["bot"] = field(default="bot", init=False)
    text: str


Toy = Union[Ping, Note, Reply, UnknownItem]


def _toy(*, lenient: bool) -> Any:
    conv = new_converter()
    configure_union(conv, Toy, "toy", default=UnknownItem if lenient else None)
    return conv


class TestFactoryForAnotherProtocol:
    def test_members_by_type_and_role(self) -> None:
        """configure_union dispatches on type, and on role where several members share a type."""
        conv = _toy(lenient=False)

        assert Ping(n=1) == conv.structure({"type": "ping", "n": 1}, Toy)
        assert Note(text="a") == conv.structure({"type": "note", "role": "user", "text": "a"}, Toy)
        assert Reply(text="b") == conv.structure({"type": "note", "role": "bot", "text": "b"}, Toy)
        assert {"type": "note", "role": "bot", "text": "b"} == conv.unstructure(
            Reply(text="b"), Toy
        )

    def test_unknown_type_default_or_error(self) -> None:
        """An unknown type becomes the default when given one, else an error listing the types."""
        value = {"type": "pong", "n": 2}

        assert UnknownItem(type="pong", raw=value) == _toy(lenient=True).structure(value, Toy)
        with pytest.raises(Exception) as info:
            _toy(lenient=False).structure(value, Toy)
        assert ("unknown toy type 'pong'; expected one of 'note', 'ping' @ $",) == (
            format_error(info.value)
        )

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("ping", "expected toy object, got a string"),
            ({"n": 1}, "toy has no 'type'"),
            ({"type": 3}, "unknown toy type 3; expected one of 'note', 'ping'"),
            ({"type": "note", "role": "x"}, "note role must be one of 'user', 'bot', got 'x'"),
        ],
    )
    def test_bad_shapes_name_the_problem(self, value: Any, message: str) -> None:
        """A value of the wrong shape raises a FieldError that says what was wrong."""
        with pytest.raises(FieldError, match="^" + message):
            _toy(lenient=True).structure(value, Toy)

    def test_unknown_fields_kept_in_another_protocol(self) -> None:
        """Unknown fields survive in any protocol built on the factory."""
        conv = _toy(lenient=False)

        ping = conv.structure({"type": "ping", "n": 1, "seq": 7}, Toy)

        assert {"seq": 7} == ev.unknown_fields(ping)
        assert {"type": "ping", "n": 1, "seq": 7} == conv.unstructure(ping, Toy)
