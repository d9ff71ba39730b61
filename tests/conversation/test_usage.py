"""Token usage by modality, cached counted once, and the estimated cost."""

from __future__ import annotations

import pytest

from realtime_client import events as ev
from realtime_client.usage import DEFAULT_PRICES, Prices, TokenCounts, UsageTracker

from ._build import Ids, audio_turn, text_turn, usage


def test_cached_tokens_are_counted_once():
    counts = TokenCounts.from_usage(
        ev.Usage(
            total_tokens=1300,
            input_tokens=1000,
            output_tokens=300,
            input_token_details=ev.InputTokenDetails(
                text_tokens=400,
                audio_tokens=500,
                image_tokens=100,
                cached_tokens=700,
                cached_tokens_details=ev.CachedTokenDetails(
                    text_tokens=300, audio_tokens=350, image_tokens=50
                ),
            ),
            output_token_details=ev.OutputTokenDetails(text_tokens=60, audio_tokens=240),
        )
    )
    assert counts == TokenCounts(
        text_input=100,
        text_cached=300,
        text_output=60,
        audio_input=150,
        audio_cached=350,
        audio_output=240,
        image_input=50,
        image_cached=50,
    )
    assert counts.input_tokens == 1000
    assert counts.cached_tokens == 700
    assert counts.output_tokens == 300
    assert counts.total_tokens == 1300


def test_cached_total_without_details_goes_text_first():
    counts = TokenCounts.from_usage(
        ev.Usage(
            input_tokens=150,
            output_tokens=0,
            input_token_details=ev.InputTokenDetails(
                text_tokens=50, audio_tokens=100, cached_tokens=80
            ),
        )
    )
    assert (counts.text_cached, counts.text_input) == (50, 0)
    assert (counts.audio_cached, counts.audio_input) == (30, 70)
    assert counts.input_tokens == 150


def test_usage_without_details_is_text_and_none_is_zero():
    counts = TokenCounts.from_usage(ev.Usage(input_tokens=7, output_tokens=3, total_tokens=10))
    assert counts == TokenCounts(text_input=7, text_output=3)
    assert TokenCounts.from_usage(None) == TokenCounts()


def test_tracker_per_turn_and_session_with_default_prices():
    ids = Ids()
    tracker = UsageTracker(model="gpt-realtime-2025-08-28")
    assert tracker.last_turn is None
    for event in text_turn(ids, ["hi"], turn_usage=usage(text_in=1000, cached=400, text_out=500)):
        tracker.feed(event)
    first = tracker.last_turn
    assert first == TokenCounts(text_input=600, text_cached=400, text_output=500)
    for event in audio_turn(ids, [b"\x00"] * 3, ["ok"]):
        tracker.feed(event)
    assert tracker.turns == 2
    assert tracker.total.audio_input == 40
    assert tracker.total.audio_output == 3
    assert tracker.total.text_output == 500 + 5
    prices = DEFAULT_PRICES["gpt-realtime"]
    assert tracker.prices is prices
    expected = (600 * 4.00 + 400 * 0.40 + 500 * 16.00) / 1e6
    assert tracker.estimated_cost(first) == pytest.approx(expected)
    assert tracker.estimated_cost() == pytest.approx(prices.cost(tracker.total))
    assert tracker.estimated_cost() > expected


def test_model_prices_by_longest_prefix_and_unknown_model():
    assert (
        UsageTracker(model="gpt-realtime-mini-2030-01-01").prices
        is DEFAULT_PRICES["gpt-realtime-mini"]
    )
    unknown = UsageTracker(model="some-other-model")
    unknown.add(usage())
    assert unknown.prices is None
    assert unknown.estimated_cost() is None
    assert UsageTracker().estimated_cost() is None


def test_user_prices_override():
    mine = Prices(
        text_input=1, text_cached=0, text_output=2, audio_input=0, audio_cached=0, audio_output=0
    )
    tracker = UsageTracker(prices=mine)
    tracker.add(ev.Usage(input_tokens=1_000_000, output_tokens=1_000_000))
    assert tracker.estimated_cost() == pytest.approx(3.0)
    table = UsageTracker(model="m", prices={"m": mine})
    assert table.prices is mine


def test_negative_price_is_rejected():
    with pytest.raises(ValueError, match="price audio_output must be zero or more, got -1"):
        Prices(
            text_input=1,
            text_cached=0,
            text_output=2,
            audio_input=0,
            audio_cached=0,
            audio_output=-1,
        )


def test_other_events_are_ignored():
    tracker = UsageTracker()
    assert tracker.feed(ev.InputAudioBufferClearedEvent(event_id="e")) is None
    assert tracker.turns == 0


def test_counts_add():
    assert TokenCounts(text_input=1) + TokenCounts(audio_output=2) == TokenCounts(
        text_input=1, audio_output=2
    )


def test_handled_events_is_response_done_only():
    """UsageTracker declares what feed() counts: only response.done, so a dispatcher
    need not hand it anything else."""
    tracker = UsageTracker()
    assert frozenset({ev.ResponseDoneEvent}) == tracker.handled_events
    for event in text_turn(Ids(), ["hi"], turn_usage=usage(text_in=3, text_out=2)):
        if type(event) in tracker.handled_events:
            tracker.feed(event)
    assert 1 == tracker.turns
    assert (3, 2) == (tracker.total.text_input, tracker.total.text_output)
