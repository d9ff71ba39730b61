"""``translate`` end to end through virtual PulseAudio devices (see test_live_cli.py).

The question is played into the default microphone; the command prints the
source transcript and the translation, and the translated speech comes out of
the default speaker, recorded from its monitor. Skips without the devices.
"""

from __future__ import annotations

import re
import signal
import time

import pytest

from realtime_client.audio import Microphone
from tests.cli.test_live_cli import (  # noqa: F401 - fixtures, used by name
    _SKIP,
    CTRL_C_STATUS,
    EXIT_S,
    STARTUP_S,
    TURN_S,
    _loud_ms,
    _only_status_lines,
    _say,
    mic_feed,
    run,
)

pytestmark = [pytest.mark.audio]
if _SKIP:
    pytestmark.append(pytest.mark.skip(reason=_SKIP))

SOURCE = re.compile(r"source: \[(\d+\.\d) seconds of speech\]")


class TestTranslateLive:
    def test_microphone_to_speaker_then_ctrl_c(self, run, mic_feed):  # noqa: F811
        """translate --to es: the spoken question's transcript and its translation are printed,
        the translated speech plays on the speaker, and Ctrl-C ends it with status 130."""
        with Microphone(device="virt_spk_monitor", max_queued_s=60) as speaker_out:
            translate = run("translate", "--to", "es")
            translate.expect("stderr", "[translating into es; Ctrl-C stops]", STARTUP_S)
            speech_s, _ = _say(mic_feed, "question")
            source = translate.expect("stdout", SOURCE, TURN_S)
            played = bytearray()
            deadline = time.monotonic() + TURN_S
            while time.monotonic() < deadline and _loud_ms(played) < 1000:
                chunk = speaker_out.read(timeout=2)
                assert chunk, "the speaker's monitor stopped delivering audio"
                played += chunk
            assert 1000 <= _loud_ms(played), "no translated speech came out of the speaker"
            translate.proc.send_signal(signal.SIGINT)
            status, took = translate.wait_exit(10)

        assert CTRL_C_STATUS == status, translate.transcript()
        assert took <= EXIT_S + 5.0, took  # the polite close waits for session.closed
        assert speech_s <= float(source[1]) <= speech_s + 1.5
        assert f"es: [es] [{source[1]} seconds of speech]" in translate.stdout
        _only_status_lines(translate)
