"""ReconnectPolicy and ConversationOptions(reconnect=) are checked when made (#12)."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_client import ConversationOptions, ReconnectPolicy


class TestPolicyArguments:
    @pytest.mark.parametrize(
        ("kwargs", "error", "name"),
        [
            ({"max_attempts": 0}, ValueError, "max_attempts"),
            ({"max_attempts": 1.5}, TypeError, "max_attempts"),
            ({"backoff_initial": 0}, ValueError, "backoff_initial"),
            ({"backoff_max": float("inf")}, ValueError, "backoff_max"),
            ({"away_audio_seconds": -1}, ValueError, "away_audio_seconds"),
            ({"away_frames": True}, TypeError, "away_frames"),
            ({"rollover_margin": "60"}, TypeError, "rollover_margin"),
            ({"max_replay_items": 1}, ValueError, "max_replay_items"),
            ({"summarize": "not callable"}, TypeError, "summarize"),
        ],
    )
    def test_bad_values_name_the_argument(
        self, kwargs: dict[str, Any], error: type[Exception], name: str
    ) -> None:
        """Each bad setting raises TypeError or ValueError naming it."""
        with pytest.raises(error, match=name):
            ReconnectPolicy(**kwargs)

    def test_options_take_a_bool_or_a_policy(self) -> None:
        """reconnect=True means the default policy; False none; anything else is refused."""
        assert ReconnectPolicy() == ConversationOptions(reconnect=True).reconnect_policy
        assert ConversationOptions().reconnect_policy is None
        policy = ReconnectPolicy(max_attempts=2)
        assert policy is ConversationOptions(reconnect=policy).reconnect_policy
        with pytest.raises(TypeError, match="reconnect"):
            ConversationOptions(reconnect="yes")  # type: ignore[arg-type]
