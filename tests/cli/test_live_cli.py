"""``talk`` and ``transcribe`` end to end, through virtual PulseAudio devices.

Each test runs ``python -m realtime_client`` in a subprocess, speaks the bundled
question into its microphone by playing it into ``mic_feed`` (the default
input ``virt_mic`` is that sink's monitor), and reads what the command prints.
The reply's sound is recorded from ``virt_spk_monitor``, the monitor of the
default output. Nothing is mocked: the command opens the real default devices
and connects to its built-in offline server (or to one on 127.0.0.1).

The offline server cannot recognise speech: it transcribes live audio as
``[N.N seconds of speech]`` and its answer quotes the transcript. (Only
``demo`` tells it what the bundled question says.)

These tests skip when the virtual devices are absent (see .ci/audio-setup).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from typing import IO

import numpy as np
import pytest

from realtime_client.audio import Microphone, Speaker, read_wav

pytestmark = [pytest.mark.audio]

DEVICES = ("virt_spk", "virt_mic", "mic_feed", "virt_spk_monitor")


def _virtual_devices_present() -> str | None:
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        return f"sounddevice/PortAudio unavailable: {exc}"
    names = {d["name"] for d in sd.query_devices()}
    missing = [d for d in DEVICES if d not in names]
    if missing:
        return f"virtual audio devices missing ({', '.join(missing)}): run eval $(.ci/audio-setup)"
    return None


_SKIP = _virtual_devices_present()
if _SKIP:
    pytestmark.append(pytest.mark.skip(reason=_SKIP))

STARTUP_S = 20.0  # interpreter, imports, devices, offline server, handshake
TURN_S = 30.0  # the question is heard, transcribed and answered in real time
EXIT_S = 3.0  # Ctrl-C or end of input to process exit
CTRL_C_STATUS = 130  # documented in cli.py and docs/cli.md

# How the offline server transcribes live audio, and how it answers a transcript.
YOU = re.compile(r"you: \[(\d+\.\d) seconds of speech\]")
TRANSCRIPT = re.compile(r"\[(\d+\.\d) seconds of speech\]")


def _assistant(heard: str) -> str:
    return f'assistant: You said: "[{heard} seconds of speech]"'


def _question() -> tuple[bytes, float]:
    """The bundled question at 24 kHz padded with silence, and the length in seconds of
    the recording itself."""
    with resources.as_file(resources.files("realtime_client.audio") / "data/question.wav") as p:
        speech, _ = read_wav(p, sample_rate=24000)
    silence = bytes(24000)  # 0.5 s of 24 kHz PCM16: the speech starts and ends cleanly
    return silence + speech + 2 * silence, len(speech) / 48000


def _loud_ms(pcm: bytes | bytearray, threshold: float = 0.02) -> int:
    """Milliseconds of ``pcm`` (24 kHz PCM16) in 10 ms frames above ``threshold`` RMS."""
    x = np.frombuffer(pcm, dtype="<i2").astype(float) / 32768
    frames = x[: len(x) // 240 * 240].reshape(-1, 240)
    return 10 * int((np.sqrt((frames**2).mean(axis=1)) > threshold).sum())


def _is_status(line: str) -> bool:
    """A line the command is allowed to print on stderr: a ``[status]`` or the blank
    line that ends the prompt after Ctrl-C."""
    return line == "" or (line.startswith("[") and line.endswith("]"))


class _Command:
    """``python -m realtime_client ARGS`` in a subprocess, its output read line by line.

    One daemon thread per pipe queues lines until end of file, which comes at the
    latest when :meth:`kill` ends the process. Each stream is searched in its own
    order, so a line that came on stdout while waiting for stderr is not lost.
    """

    def __init__(self, *args: str, stdin: bool = False, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "realtime_client", *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._next = {"stdout": 0, "stderr": 0}  # first line not yet matched or skipped
        self._queue: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self._open = {"stdout", "stderr"}
        self._readers = [
            threading.Thread(
                target=self._read, args=(name, pipe), name=f"cli-{name}-reader", daemon=True
            )
            for name, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))
        ]
        for reader in self._readers:
            reader.start()

    @property
    def stdout(self) -> list[str]:
        return self.lines["stdout"]

    @property
    def stderr(self) -> list[str]:
        return self.lines["stderr"]

    def _read(self, name: str, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put((name, line.rstrip("\n")))
        self._queue.put((name, None))

    def _take(self, timeout: float) -> bool:
        """Move one line from the pipes to :attr:`lines`; False when none came in time."""
        try:
            name, line = self._queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return False
        if line is None:
            self._open.discard(name)
        else:
            self.lines[name].append(line)
        return True

    def poll(
        self, stream: str, pattern: re.Pattern[str] | str, timeout: float = 0.0
    ) -> re.Match[str] | None:
        """The next line on ``stream`` that matches ``pattern`` in full (a string matches
        itself), waiting up to ``timeout``; None when none came. Lines before it are
        skipped."""
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        lines = self.lines[stream]
        while True:
            while self._next[stream] < len(lines):
                match = regex.fullmatch(lines[self._next[stream]])
                self._next[stream] += 1
                if match:
                    return match
            if stream not in self._open and self._queue.empty():
                return None  # the stream ended
            if not self._take(deadline - time.monotonic()) and time.monotonic() >= deadline:
                return None

    def expect(self, stream: str, pattern: re.Pattern[str] | str, timeout: float) -> re.Match[str]:
        """Like :meth:`poll`, but fails the test when no such line came in time."""
        found = self.poll(stream, pattern, timeout)
        if found is None:
            raise AssertionError(
                f"no {stream} line matching {pattern!r} within {timeout} s "
                f"(exit status {self.proc.poll()}):\n{self.transcript()}"
            )
        return found

    def wait_exit(self, timeout: float) -> tuple[int, float]:
        """The exit status and how long the exit took; fails after ``timeout``.
        All the output is in :attr:`lines` afterwards."""
        start = time.monotonic()
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {timeout} s later:\n{self.transcript()}"
            ) from None
        took = time.monotonic() - start
        deadline = time.monotonic() + 5.0  # the pipes close with the process
        while self._open and time.monotonic() < deadline:
            self._take(deadline - time.monotonic())
        return status, took

    def transcript(self) -> str:
        return "\n".join(f"{name}: {line}" for name, lines in self.lines.items() for line in lines)

    def kill(self) -> None:
        """End the process if it still runs, and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def run() -> Iterator[Callable[..., _Command]]:
    """Start commands; every one is killed at the end of the test, pass or fail."""
    started: list[_Command] = []

    def start(*args: str, stdin: bool = False, env: dict[str, str] | None = None) -> _Command:
        command = _Command(*args, stdin=stdin, env=env)
        started.append(command)
        return command

    try:
        yield start
    finally:
        for command in started:
            command.kill()


@pytest.fixture
def mic_feed() -> Iterator[Speaker]:
    """What is played here, the commands hear from the default microphone."""
    with Speaker(device="mic_feed", latency=0.1) as feed:
        yield feed


def _say(feed: Speaker, name: str) -> tuple[float, float]:
    """Play the padded question into the microphone; the lengths in seconds of the
    recording and of all that is played."""
    audio, speech_s = _question()
    feed.play(name, audio)
    feed.end(name)
    return speech_s, len(audio) / 48000


def _only_status_lines(command: _Command) -> None:
    assert [] == [line for line in command.stderr if not _is_status(line)], command.transcript()


class TestTalk:
    def test_server_vad_turn_is_heard_answered_and_played_then_ctrl_c(self, run, mic_feed):
        """talk --offline: a spoken question is transcribed, answered and the answer comes
        out of the speaker; Ctrl-C then ends it promptly with status 130 and no traceback."""
        with Microphone(device="virt_spk_monitor", max_queued_s=60) as speaker_out:
            talk = run("talk", "--offline")
            talk.expect("stderr", re.compile(r"\[listening: .*\]"), STARTUP_S)
            speech_s, _ = _say(mic_feed, "question")

            you = talk.expect("stdout", YOU, TURN_S)
            heard_s = float(you[1])
            assistant: re.Match[str] | None = None
            played = bytearray()
            deadline = time.monotonic() + TURN_S
            # The reply plays while it streams: record it while waiting for its transcript.
            while time.monotonic() < deadline:
                chunk = speaker_out.read(timeout=2)
                assert chunk, "the speaker's monitor stopped delivering audio"
                played += chunk
                assistant = assistant or talk.poll("stdout", _assistant(you[1]))
                if assistant and _loud_ms(played) >= 1000:
                    break

            assert assistant is not None, talk.transcript()
            assert 1000 <= _loud_ms(played), "no reply came out of the speaker"
            assert speech_s <= heard_s <= speech_s + 1.5  # VAD padding and silence window

            talk.proc.send_signal(signal.SIGINT)
            status, took = talk.wait_exit(10)

        assert CTRL_C_STATUS == status, talk.transcript()
        assert took <= EXIT_S, took
        assert [you[0], assistant[0]] == talk.stdout
        _only_status_lines(talk)

    def test_push_to_talk_turn_then_end_of_input(self, run, mic_feed):
        """talk --offline --push-to-talk: Enter starts a turn, Enter sends it, the answer
        quotes the transcript; closing stdin (Ctrl-D) ends it with status 0."""
        talk = run("talk", "--offline", "--push-to-talk", stdin=True)
        talk.expect("stderr", re.compile(r"\[press Enter to talk.*\]"), STARTUP_S)
        assert talk.proc.stdin is not None

        talk.proc.stdin.write("\n")
        talk.proc.stdin.flush()
        talk.expect("stderr", "[listening... (Enter to send)]", TURN_S)
        _, said_s = _say(mic_feed, "question")
        assert mic_feed.wait_idle(TURN_S)  # all of it went into the microphone
        talk.proc.stdin.write("\n")
        talk.proc.stdin.flush()
        talk.expect("stderr", "[sent]", TURN_S)
        you = talk.expect("stdout", YOU, TURN_S)
        assistant = talk.expect("stdout", _assistant(you[1]), TURN_S)

        talk.proc.stdin.close()
        status, took = talk.wait_exit(10)

        assert 0 == status, talk.transcript()
        assert took <= EXIT_S, took
        # One turn, from Enter to Enter: all that was played, not what a VAD cut out of it.
        assert [you[0], assistant[0]] == talk.stdout
        assert said_s - 0.3 <= float(you[1])
        _only_status_lines(talk)


class TestTranscribe:
    def test_microphone_turn_is_printed_then_ctrl_c(self, run, mic_feed):
        """transcribe --offline: the spoken question is printed as one transcript line;
        Ctrl-C then ends it promptly with status 130 and only status lines on stderr."""
        transcribe = run("transcribe", "--offline")
        transcribe.expect("stderr", "[transcribing; Ctrl-C stops]", STARTUP_S)
        speech_s, _ = _say(mic_feed, "question")

        line = transcribe.expect("stdout", TRANSCRIPT, TURN_S)
        transcribe.proc.send_signal(signal.SIGINT)
        status, took = transcribe.wait_exit(10)

        assert CTRL_C_STATUS == status, transcribe.transcript()
        assert took <= EXIT_S, took
        assert speech_s <= float(line[1]) <= speech_s + 1.5
        assert [line[0]] == transcribe.stdout
        _only_status_lines(transcribe)


class TestServerGoesAway:
    @pytest.mark.parametrize(
        ("command", "ready", "code"),
        [
            # talk reconnects after 1011 (a server error): a refusal to go on ends it.
            ("talk", r"\[listening: .*\]", 1008),
            ("transcribe", r"\[transcribing; Ctrl-C stops\]", 1011),
        ],
    )
    def test_session_closed_by_the_server_is_a_failure(self, run, command, ready, code):
        """The server closing the connection for good ends the command with status 1 and
        one line naming the close, not a silent 0 or a usage error."""
        from realtime_client.testing import FakeRealtimeServer

        with FakeRealtimeServer() as server:
            env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
            cli = run(command, "--online", env=env)
            cli.expect("stderr", re.compile(ready), STARTUP_S)
            server.wait_for_connection(timeout=5).close(code, "maintenance")
            status, _ = cli.wait_exit(15)

        assert 1 == status, cli.transcript()
        assert cli.stderr[-1].startswith(f"realtime-client {command}: ")
        assert str(code) in cli.stderr[-1]
        assert not any("Traceback" in line for line in cli.stderr), cli.transcript()
