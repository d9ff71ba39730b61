"""Echo cancellation on the echo rig: the live bridge, the offline server, server VAD.

Short versions of benchmarks/echo_cancellation.py (which runs 20 replies and
20 double-talk trials per echo path and holds the issue's targets): a few
replies each, so that CI stays fast. They need the virtual devices
(.ci/audio-setup), .ci/echo-rig's tools and the aec extra, and skip without them.
"""

from __future__ import annotations

import pytest

from realtime_client.audio import EchoCancellation, echo_cancellation_available

from . import _echo_scenario as scenario
from .test_live_devices import _SKIP as _NO_DEVICES

pytestmark = [pytest.mark.audio, pytest.mark.timeout(180)]

_SKIP = _NO_DEVICES or scenario.rig_available()
if _SKIP is None and not echo_cancellation_available():
    _SKIP = "the aec extra (pywebrtc-audio) is not installed"
if _SKIP:
    pytestmark.append(pytest.mark.skip(reason=_SKIP))


def _check_double_talk(result: scenario.Result) -> None:
    for trial in result.double_talk:
        assert trial.interrupted, "the user's speech over a reply did not interrupt it"
        assert trial.onset is not None
        assert trial.barge_in is not None
        assert trial.barge_in - trial.onset <= 0.300, trial
        assert trial.correlation is not None
        assert trial.correlation >= 0.8, trial


class TestEchoRig:
    def test_without_cancellation_the_assistant_interrupts_itself(self):
        """The rig shows the problem: through loudspeakers, server VAD hears the assistant's
        own reply and cuts it short (2 to 3 replies of 5 in the benchmark; up to 10 here)."""
        with scenario.echo_rig(60):
            result = scenario.run(replies=10, echo_cancellation=False, until_cut_short=True)
        assert result.self_interruptions >= 1

    def test_with_cancellation_replies_play_out_and_the_user_still_barges_in(self):
        """Echo 60 ms late at -10 dB, with no delay hint (``echo_cancellation=True``): no
        reply is cut short by its own echo, the echo is removed by 20 dB or more, and the
        user talking over a reply interrupts it within 300 ms of their speech onset, their
        speech reaching the server intact (r >= 0.8)."""
        with scenario.echo_rig(60):
            result = scenario.run(replies=3, double_talk=2, echo_cancellation=True)
        assert result.self_interruptions == 0
        assert result.erle_db is not None
        assert result.erle_db >= 20
        _check_double_talk(result)

    def test_a_filtered_noisy_longer_path_is_cancelled_and_double_talk_survives(self):
        """Echo 150 ms late through a loudspeaker's band and a reflection, with room noise,
        and no delay hint: replies play out, the echo is removed by 20 dB or more, and the
        user talking over a reply still interrupts it and reaches the server intact."""
        with scenario.echo_rig(150, hard=True, level_db=-6.5):
            result = scenario.run(replies=2, double_talk=2, echo_cancellation=True)
        assert result.self_interruptions == 0
        assert result.erle_db is not None
        assert result.erle_db >= 20
        _check_double_talk(result)

    def test_the_noise_suppressor_and_high_pass_options_run_live(self):
        """``EchoCancellation(noise_suppression=True)`` on the hard path: the same bridge
        with WebRTC's noise suppressor after AEC3 still lets replies play out and the
        user barge in."""
        options = EchoCancellation(noise_suppression=True, high_pass=True)
        with scenario.echo_rig(150, hard=True, level_db=-6.5):
            result = scenario.run(replies=1, double_talk=1, echo_cancellation=options)
        assert result.self_interruptions == 0
        _check_double_talk(result)
