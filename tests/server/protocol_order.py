"""The ordering rules of the Realtime protocol, checked over a sequence of server events.

The server's tests run :func:`order_violations` over every connection of every
scripted scenario (see ``conftest.py``), and the interoperability suite over
what each client received, so a new scenario cannot bring back an event out of
its place. The rules come from the spec's event descriptions and from what the
service is seen to send (docs/testing.md, "Where the offline server's order
comes from"):

- ``session.created`` is the first event of a connection.
- One response at a time: ``response.created`` only when none is active, one
  ``response.done`` per ``response.created``, and every event that names a
  ``response_id`` falls between the two.
- ``response.output_item.added`` opens an item that one ``output_item.done``
  closes, before ``response.done``; output indexes count up from 0.
- ``response.content_part.added`` opens a part inside its open item; one
  ``content_part.done`` closes it before ``output_item.done``. An audio part gets
  ``output_audio.done`` and ``output_audio_transcript.done`` before its
  ``content_part.done``, a text part ``output_text.done``, each exactly once, also
  when the response is cancelled.
- Deltas come only while their part (arguments: their item) is open and before
  its ``.done``; ``function_call_arguments.done`` once, before ``output_item.done``.
- A response item is ``output_item.added`` before ``conversation.item.added``,
  and ``conversation.item.added`` before ``conversation.item.done``; each is sent
  once per item.
- ``speech_started`` and ``speech_stopped`` alternate, with the same ``item_id``;
  a response cancelled with reason ``turn_detected`` has a ``speech_started``
  after its ``response.created`` and before its ``response.done``.
- No audio or transcript delta for an item after ``conversation.item.truncated``
  of that item.

With ``complete=True`` the sequence must also leave nothing open (no active
response, no open item or part, no ``conversation.item.added`` without its
``.done``): use it for a log that ran to a quiet point.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["assert_order", "order_violations", "wire_events"]

_PART_DELTAS = {
    "response.output_text.delta": "text",
    "response.output_audio.delta": "audio",
    "response.output_audio_transcript.delta": "transcript",
}
_PART_DONES = {
    "response.output_text.done": "text",
    "response.output_audio.done": "audio",
    "response.output_audio_transcript.done": "transcript",
}
_NEEDED_DONES = {"audio": {"audio", "transcript"}, "text": {"text"}}


def wire_events(events: Iterable[Any]) -> list[dict[str, Any]]:
    """Typed events (``FakeConnection.sent``) as the JSON dicts that went on the wire."""
    from realtime_client.events import UnknownServerEvent, encode_server_event

    out: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, UnknownServerEvent):
            out.append(dict(event.raw))
        else:
            out.append(json.loads(encode_server_event(event)))
    return out


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.active: str | None = None  # the response in progress
        self.responses: set[str] = set()
        self.finished: set[str] = set()
        self.next_index: dict[str, int] = {}
        self.items: dict[str, str] = {}  # open output item id -> response id
        self.item_kind: dict[str, str] = {}
        self.closed_items: set[str] = set()
        self.args_done: set[str] = set()
        self.parts: dict[tuple[str, int], str] = {}  # open part -> its type
        self.part_dones: dict[tuple[str, int], set[str]] = {}
        self.closed_parts: set[tuple[str, int]] = set()
        self.conv_added: set[str] = set()
        self.conv_done: set[str] = set()
        self.speech_item: str | None = None
        self.speech_since_created = False
        self.truncated: set[str] = set()

    def fail(self, position: int, event: Mapping[str, Any], message: str) -> None:
        self.problems.append(f"#{position} {event.get('type')}: {message}")

    def check(self, position: int, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type"))
        if position == 0 and kind not in {"session.created", "error"}:
            self.fail(position, event, "the first event of a connection is session.created")
        if kind == "session.created" and position != 0:
            self.fail(position, event, "session.created after the connection's first event")
        handler = getattr(self, "on_" + kind.replace(".", "_"), None)
        response_id = event.get("response_id")
        if response_id is not None and response_id != self.active:
            self.fail(position, event, f"names response {response_id!r}, which is not active")
        if handler is not None:
            handler(position, event)
        elif kind in _PART_DELTAS:
            self.part_delta(position, event, _PART_DELTAS[kind])
        elif kind in _PART_DONES:
            self.part_done(position, event, _PART_DONES[kind])

    # --- responses ------------------------------------------------------------------------

    def on_response_created(self, position: int, event: Mapping[str, Any]) -> None:
        rid = event["response"]["id"]
        if self.active is not None:
            self.fail(position, event, f"while response {self.active!r} is still active")
        if rid in self.responses:
            self.fail(position, event, f"response {rid!r} created twice")
        self.responses.add(rid)
        self.active = rid
        self.next_index[rid] = 0
        self.speech_since_created = False

    def on_response_done(self, position: int, event: Mapping[str, Any]) -> None:
        response = event["response"]
        rid = response["id"]
        if rid in self.finished:
            self.fail(position, event, f"a second response.done for {rid!r}")
        elif rid != self.active:
            self.fail(position, event, f"response {rid!r} was never created")
        open_items = [i for i, r in self.items.items() if r == rid]
        if open_items:
            self.fail(position, event, f"items still open: {open_items}")
        details = response.get("status_details") or {}
        if details.get("reason") == "turn_detected" and not self.speech_since_created:
            self.fail(position, event, "cancelled by turn_detected without a speech_started")
        self.finished.add(rid)
        self.active = None

    # --- output items ---------------------------------------------------------------------

    def on_response_output_item_added(self, position: int, event: Mapping[str, Any]) -> None:
        item = event["item"]
        rid = event["response_id"]
        expected = self.next_index.get(rid, 0)
        if event["output_index"] != expected:
            self.fail(position, event, f"output_index {event['output_index']}, not {expected}")
        self.next_index[rid] = expected + 1
        if self.items.get(item["id"]) is not None or item["id"] in self.closed_items:
            self.fail(position, event, f"item {item['id']!r} added twice")
        if any(r == rid for r in self.items.values()):
            self.fail(position, event, "while the response's previous item is still open")
        self.items[item["id"]] = rid
        self.item_kind[item["id"]] = item["type"]

    def on_response_output_item_done(self, position: int, event: Mapping[str, Any]) -> None:
        item_id = event["item"]["id"]
        if item_id not in self.items:
            self.fail(position, event, f"item {item_id!r} is not open")
            return
        open_parts = [p for p in self.parts if p[0] == item_id]
        if open_parts:
            self.fail(position, event, f"content parts still open: {open_parts}")
        if self.item_kind.get(item_id) == "function_call" and item_id not in self.args_done:
            self.fail(position, event, "no function_call_arguments.done before it")
        del self.items[item_id]
        self.closed_items.add(item_id)

    # --- content parts ----------------------------------------------------------------------

    def on_response_content_part_added(self, position: int, event: Mapping[str, Any]) -> None:
        key = (event["item_id"], event["content_index"])
        if event["item_id"] not in self.items:
            self.fail(position, event, f"item {event['item_id']!r} is not open")
        if key in self.parts or key in self.closed_parts:
            self.fail(position, event, f"part {key} added twice")
        self.parts[key] = str(event["part"].get("type"))
        self.part_dones[key] = set()

    def on_response_content_part_done(self, position: int, event: Mapping[str, Any]) -> None:
        key = (event["item_id"], event["content_index"])
        if key not in self.parts:
            self.fail(position, event, f"part {key} is not open")
            return
        missing = _NEEDED_DONES.get(self.parts[key], set()) - self.part_dones[key]
        if missing:
            self.fail(position, event, f"part {key} closed without its {sorted(missing)} done")
        del self.parts[key]
        self.closed_parts.add(key)

    def part_delta(self, position: int, event: Mapping[str, Any], stream: str) -> None:
        key = (event["item_id"], event["content_index"])
        if key not in self.parts:
            self.fail(position, event, f"part {key} is not open")
        elif stream in self.part_dones[key]:
            self.fail(position, event, f"after the {stream} stream of part {key} was done")
        if stream != "text" and event["item_id"] in self.truncated:
            self.fail(position, event, f"item {event['item_id']!r} was truncated")

    def part_done(self, position: int, event: Mapping[str, Any], stream: str) -> None:
        key = (event["item_id"], event["content_index"])
        if key not in self.parts:
            self.fail(position, event, f"part {key} is not open")
            return
        if stream in self.part_dones[key]:
            self.fail(position, event, f"a second {stream} done for part {key}")
        self.part_dones[key].add(stream)

    def on_response_function_call_arguments_delta(
        self, position: int, event: Mapping[str, Any]
    ) -> None:
        if event["item_id"] not in self.items:
            self.fail(position, event, f"item {event['item_id']!r} is not open")
        if event["item_id"] in self.args_done:
            self.fail(position, event, "after function_call_arguments.done")

    def on_response_function_call_arguments_done(
        self, position: int, event: Mapping[str, Any]
    ) -> None:
        if event["item_id"] not in self.items:
            self.fail(position, event, f"item {event['item_id']!r} is not open")
        if event["item_id"] in self.args_done:
            self.fail(position, event, "a second function_call_arguments.done")
        self.args_done.add(event["item_id"])

    # --- conversation items -------------------------------------------------------------

    def on_conversation_item_added(self, position: int, event: Mapping[str, Any]) -> None:
        item_id = event["item"]["id"]
        if item_id in self.conv_added:
            self.fail(position, event, f"item {item_id!r} added twice")
        self.conv_added.add(item_id)

    def on_conversation_item_done(self, position: int, event: Mapping[str, Any]) -> None:
        item_id = event["item"]["id"]
        if item_id not in self.conv_added:
            self.fail(position, event, f"item {item_id!r} done before conversation.item.added")
        if item_id in self.conv_done:
            self.fail(position, event, f"item {item_id!r} done twice")
        if item_id in self.items:
            self.fail(position, event, "before the item's response.output_item.done")
        self.conv_done.add(item_id)

    def on_conversation_item_truncated(self, position: int, event: Mapping[str, Any]) -> None:
        if event["item_id"] not in self.conv_added:
            self.fail(position, event, f"item {event['item_id']!r} is not in the conversation")
        self.truncated.add(event["item_id"])

    def on_conversation_item_deleted(self, position: int, event: Mapping[str, Any]) -> None:
        self.conv_added.discard(event["item_id"])
        self.conv_done.discard(event["item_id"])

    # --- input audio --------------------------------------------------------------------

    def on_input_audio_buffer_speech_started(
        self, position: int, event: Mapping[str, Any]
    ) -> None:
        if self.speech_item is not None:
            self.fail(position, event, "speech already started")
        self.speech_item = event["item_id"]
        if self.active is not None:
            self.speech_since_created = True

    def on_input_audio_buffer_speech_stopped(
        self, position: int, event: Mapping[str, Any]
    ) -> None:
        if self.speech_item is None:
            self.fail(position, event, "no speech_started before it")
        elif event["item_id"] != self.speech_item:
            self.fail(
                position, event, f"item_id differs from speech_started's {self.speech_item!r}"
            )
        self.speech_item = None

    def on_input_audio_buffer_committed(self, position: int, event: Mapping[str, Any]) -> None:
        if self.speech_item is not None and event["item_id"] == self.speech_item:
            self.speech_item = None  # a manual commit during speech ends the turn

    def leftovers(self) -> list[str]:
        out: list[str] = []
        if self.active is not None:
            out.append(f"response {self.active!r} never done")
        if self.items:
            out.append(f"output items never done: {sorted(self.items)}")
        if self.parts:
            out.append(f"content parts never done: {sorted(self.parts)}")
        never = sorted(self.conv_added - self.conv_done)
        if never:
            out.append(f"conversation items never done: {never}")
        return out


def order_violations(events: Iterable[Mapping[str, Any]], *, complete: bool = False) -> list[str]:
    """Every ordering rule the events break, as readable lines (empty when none).

    Args:
        events: Server events as wire JSON dicts, in the order they were sent,
            from the connection's first event on.
        complete: Also require that nothing is left open at the end.
    """
    checker = _Checker()
    for position, event in enumerate(events):
        checker.check(position, event)
    if complete:
        checker.problems.extend(checker.leftovers())
    return checker.problems


def assert_order(events: Iterable[Mapping[str, Any]], *, complete: bool = False) -> None:
    """Fail with every violation listed (see :func:`order_violations`)."""
    sequence = list(events)
    problems = order_violations(sequence, complete=complete)
    if problems:
        listing = "\n".join(f"  {i}: {e.get('type')}" for i, e in enumerate(sequence))
        raise AssertionError(
            "protocol order broken:\n" + "\n".join(problems) + "\nevents:\n" + listing
        )
