"""The class registry: naming rule, union membership, exports."""

from __future__ import annotations

import inspect
import re
from typing import get_args

import attrs
import pytest

import realtime_client
from realtime_client import events as ev
from realtime_client.events import client as client_module
from realtime_client.events import server as server_module
from realtime_client.events._base import wire_type

# The GA inventory, as the protocol reference lists it.
CLIENT_TYPES = {
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
}
SERVER_TYPES = {
    "error",
    "session.created",
    "session.updated",
    "conversation.created",
    "conversation.item.created",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.retrieved",
    "conversation.item.truncated",
    "conversation.item.deleted",
    *(
        f"conversation.item.input_audio_transcription.{s}"
        for s in ("completed", "delta", "failed", "segment")
    ),
    *(
        f"input_audio_buffer.{s}"
        for s in (
            "committed",
            "cleared",
            "speech_started",
            "speech_stopped",
            "timeout_triggered",
            "dtmf_event_received",
        )
    ),
    "output_audio_buffer.started",
    "output_audio_buffer.stopped",
    "output_audio_buffer.cleared",
    "rate_limits.updated",
    "response.created",
    "response.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.mcp_call.failed",
    "mcp_list_tools.in_progress",
    "mcp_list_tools.completed",
    "mcp_list_tools.failed",
}


def expected_name(wire_type: str) -> str:
    """CapWords of the wire type split on '.' and '_', plus 'Event'."""
    return "".join(part.capitalize() for part in re.split(r"[._]", wire_type)) + "Event"


def _module_classes(module: object) -> list[type]:
    return [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if attrs.has(c) and c.__module__ == getattr(module, "__name__", None)
    ]


class TestInventory:
    def test_client_union_is_the_ga_inventory(self) -> None:
        """ClientEvent holds exactly the 11 GA client types."""
        assert CLIENT_TYPES == set(ev.CLIENT_EVENT_TYPES)
        assert 11 == len(get_args(ev.ClientEvent))

    def test_server_union_is_the_ga_inventory(self) -> None:
        """ServerEvent holds exactly the 46 GA server types."""
        assert SERVER_TYPES == set(ev.SERVER_EVENT_TYPES)
        assert 46 == len(get_args(ev.ServerEvent))


class TestNamingRule:
    @pytest.mark.parametrize(
        ("wire_type", "name"),
        [
            ("response.output_audio.delta", "ResponseOutputAudioDeltaEvent"),
            ("error", "ErrorEvent"),
            ("input_audio_buffer.dtmf_event_received", "InputAudioBufferDtmfEventReceivedEvent"),
        ],
    )
    def test_rule_examples(self, wire_type: str, name: str) -> None:
        """The rule gives the names the issue spells out."""
        assert name == expected_name(wire_type)

    @pytest.mark.parametrize("cls", [*get_args(ev.ClientEvent), *get_args(ev.ServerEvent)])
    def test_every_class_follows_the_rule(self, cls: type) -> None:
        """Each event class is named mechanically after its wire type."""
        assert expected_name(wire_type(cls)) == cls.__name__


class TestUnionMembership:
    def test_every_client_class_is_in_the_union(self) -> None:
        """No client event class is defined outside ClientEvent."""
        assert set(_module_classes(client_module)) == set(get_args(ev.ClientEvent))

    def test_every_server_class_is_in_the_union(self) -> None:
        """No server event class is defined outside ServerEvent."""
        from realtime_client.events import _server_responses

        defined = set(_module_classes(server_module)) | set(_module_classes(_server_responses))
        assert defined == set(get_args(ev.ServerEvent))

    @pytest.mark.parametrize("cls", [*get_args(ev.ClientEvent), *get_args(ev.ServerEvent)])
    def test_classes_are_frozen_and_keyword_only(self, cls: type) -> None:
        """Events are immutable and take keyword arguments only."""
        fields = attrs.fields(cls)
        assert all(f.kw_only for f in fields if f.init)
        assert cls.__setattr__ is not object.__setattr__
        assert () == cls.__match_args__  # type: ignore[attr-defined]


class TestExports:
    @pytest.mark.parametrize("module", [realtime_client, ev])
    def test_all_is_sorted(self, module: object) -> None:
        """__all__ is sorted, so a diff shows what changed."""
        names = list(module.__all__)  # type: ignore[attr-defined]
        assert sorted(names) == names

    def test_events_all_is_complete(self) -> None:
        """Every public name of the events modules is exported by realtime_client.events."""
        from realtime_client.events import _base, _codec, items, responses, sessions

        public = set()
        for module in (client_module, server_module, items, sessions, responses, _codec):
            public |= set(module.__all__)
        public |= set(_base.__all__) - {"wire_type"}
        assert public == set(ev.__all__)

    def test_top_level_all_is_complete(self) -> None:
        """Every exception and the events package are exported at the top level."""
        from realtime_client import errors

        exported = set(realtime_client.__all__)
        assert set(errors.__all__) <= exported
        assert "events" in exported
        for name in exported:
            assert hasattr(realtime_client, name)

    def test_import_does_not_load_audio(self) -> None:
        """`import realtime_client` never imports sounddevice (PortAudio)."""
        import subprocess
        import sys

        code = "import sys, realtime_client; print('sounddevice' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert "False" == out.stdout.strip()
