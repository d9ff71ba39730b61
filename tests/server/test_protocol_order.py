"""The protocol-order checker itself: each rule catches the sequence that breaks it."""

from __future__ import annotations

from typing import Any

import pytest

from .protocol_order import order_violations

R = "resp_1"
ITEM_ID = "item_1"


def _ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def _part(kind: str) -> dict[str, Any]:
    return _ev(kind, response_id=R, item_id=ITEM_ID, output_index=0, content_index=0)


START = [_ev("session.created"), _ev("response.created", response={"id": R})]
ITEM = {"id": ITEM_ID, "type": "message"}
OPEN = [
    _ev("response.output_item.added", response_id=R, output_index=0, item=ITEM),
    _ev("conversation.item.added", item=ITEM),
    {**_part("response.content_part.added"), "part": {"type": "audio"}},
    _part("response.output_audio.delta"),
]
CLOSE = [
    _part("response.output_audio.done"),
    _part("response.output_audio_transcript.done"),
    _part("response.content_part.done"),
    _ev("response.output_item.done", response_id=R, output_index=0, item=ITEM),
    _ev("conversation.item.done", item=ITEM),
]
DONE = _ev("response.done", response={"id": R, "status": "completed"})
SPEECH = _ev("input_audio_buffer.speech_started", item_id="u1")
CANCELLED = _ev(
    "response.done",
    response={"id": R, "status": "cancelled", "status_details": {"reason": "turn_detected"}},
)


def test_a_correct_sequence_passes() -> None:
    """The service's order for an audio reply, and a barge-in, break no rule."""
    assert [] == order_violations([*START, *OPEN, *CLOSE, DONE], complete=True)
    assert [] == order_violations([*START, *OPEN, SPEECH, *CLOSE, CANCELLED])


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param(
            [*START, *OPEN, *CLOSE[3:], DONE], "content parts still open", id="item-before-part"
        ),
        pytest.param(
            [*START, *OPEN, *CLOSE[1:], DONE], "without its ['audio'] done", id="no-audio-done"
        ),
        pytest.param(
            [*START, *OPEN, *CLOSE[:3], _part("response.output_audio.delta")],
            "is not open",
            id="delta-after-part-done",
        ),
        pytest.param([*START, *OPEN, DONE], "items still open", id="done-with-open-item"),
        pytest.param(
            [*START, *OPEN, *CLOSE, DONE, DONE], "a second response.done", id="two-dones"
        ),
        pytest.param(
            [*START, *OPEN, *CLOSE, CANCELLED, SPEECH],
            "without a speech_started",
            id="speech-after-cancel",
        ),
        pytest.param(
            [*START, START[1]], "while response 'resp_1' is still active", id="two-active"
        ),
        pytest.param(
            [*START, *OPEN, _ev("conversation.item.truncated", item_id=ITEM_ID), OPEN[3]],
            "was truncated",
            id="audio-after-truncated",
        ),
        pytest.param(
            [*START, *OPEN, *CLOSE[:3], CLOSE[4]],
            "before the item's response.output_item.done",
            id="conversation-done-first",
        ),
        pytest.param([_ev("conversation.created")], "first event", id="no-session-created"),
        pytest.param(
            [_ev("session.created"), _ev("input_audio_buffer.speech_stopped", item_id="u1")],
            "no speech_started",
            id="stopped-without-started",
        ),
    ],
)
def test_each_rule_catches_its_break(events: list[dict[str, Any]], expected: str) -> None:
    """A sequence that breaks one rule is reported, naming what is wrong."""
    problems = order_violations(events)
    assert any(expected in p for p in problems), problems


def test_complete_reports_what_is_left_open() -> None:
    """complete=True: an unfinished response, item, part and conversation item are named."""
    problems = order_violations([*START, *OPEN], complete=True)
    assert 4 == len(problems), problems
    assert [] == order_violations([*START, *OPEN])
