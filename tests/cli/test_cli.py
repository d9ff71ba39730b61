"""The realtime-client command, end to end against the offline server."""

from __future__ import annotations

import io
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading

import pytest

from realtime_client import ConversationClient, ConversationOptions, cli
from realtime_client.audio import read_wav


class TestParser:
    def test_help_lists_every_subcommand(self, capsys):
        """--help names demo, talk, chat, transcribe, serve and devices."""
        with pytest.raises(SystemExit):
            cli.main(["--help"])
        out = capsys.readouterr().out
        for name in ("demo", "talk", "chat", "transcribe", "serve", "devices"):
            assert name in out

    def test_offline_and_online_exclusive(self, capsys):
        """--offline and --online together is a usage error (status 2)."""
        with pytest.raises(SystemExit) as info:
            cli.main(["chat", "--offline", "--online"])
        assert info.value.code == 2

    def test_no_command_prints_help(self, capsys):
        """No subcommand: help and status 0."""
        assert cli.main([]) == 0
        assert "usage" in capsys.readouterr().out


class TestDemo:
    def test_offline_demo_writes_answer(self, tmp_path, capsys, monkeypatch):
        """demo --output FILE: transcript on stdout, a non-empty 24 kHz WAV, status 0."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        out = tmp_path / "answer.wav"
        assert cli.main(["demo", "--output", str(out)]) == 0
        stdout = capsys.readouterr().out
        assert f"you: {cli.BUNDLED_QUESTION}" in stdout.splitlines()
        assert f'assistant: You said: "{cli.BUNDLED_QUESTION}"' in stdout.splitlines()
        assert str(out) in stdout
        pcm, rate = read_wav(out)
        assert rate == 24000
        assert len(pcm) > 24000  # more than half a second of answer

    def test_online_without_key(self, capsys, monkeypatch, tmp_path):
        """--online with no OPENAI_API_KEY names the variable; status 2."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        assert cli.main(["demo", "--online", "--output", str(tmp_path / "a.wav")]) == 2
        assert "OPENAI_API_KEY" in capsys.readouterr().err

    def test_missing_question_file(self, capsys, tmp_path, monkeypatch):
        """A question file that does not exist is a one-line error, status 1."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        code = cli.main(
            ["demo", "--question", str(tmp_path / "nope.wav"), "--output", str(tmp_path / "a.wav")]
        )
        assert code == 1
        assert "nope.wav" in capsys.readouterr().err


class TestChat:
    def test_text_chat_offline(self, capsys, monkeypatch):
        """chat --offline answers each line from stdin and exits at end of input."""
        monkeypatch.setattr(sys, "stdin", io.StringIO("Hello there\n\n"))
        assert cli.main(["chat", "--offline"]) == 0
        out = capsys.readouterr().out
        assert "assistant:" in out
        assert "Hello there" in out


class TestTranscribe:
    def test_file_offline(self, capsys, monkeypatch, tmp_path):
        """transcribe --file prints one line per detected turn."""
        from importlib import resources

        question = resources.files("realtime_client.audio") / "data/question.wav"
        with resources.as_file(question) as path:
            assert cli.main(["transcribe", "--offline", "--file", str(path)]) == 0
        assert "speech" in capsys.readouterr().out


class TestModule:
    def test_python_dash_m(self):
        """`python -m realtime_client --version` runs the same command."""
        result = subprocess.run(
            [sys.executable, "-m", "realtime_client", "--version"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert result.returncode == 0
        assert result.stdout.startswith("realtime-client ")


class TestOptionalDependencies:
    def test_missing_extra_is_one_line(self, tmp_path):
        """A subcommand whose optional dependency is missing says what to install, no traceback."""
        (tmp_path / "websockets.py").write_text(
            "raise ImportError('stubbed out', name='websockets')\n"
        )
        env = {**os.environ, "PYTHONPATH": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-m", "realtime_client", "serve"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

        assert 1 == done.returncode
        assert [
            "realtime-client serve: realtime_client.testing.serve_forever needs websockets, "
            "which is not installed: pip install 'realtime-client[testing]'"
        ] == done.stderr.strip().splitlines()

    def test_text_chat_does_not_load_audio(self):
        """chat without --audio never imports the audio package (no NumPy, no PortAudio)."""
        code = (
            "import io, sys\n"
            "from realtime_client import cli\n"
            "sys.stdin = io.StringIO('hello\\n')\n"
            "rc = cli.main(['chat', '--offline'])\n"
            "print(rc, 'realtime_client.audio' in sys.modules)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
        )

        assert "0 False" == done.stdout.strip().splitlines()[-1]

    def test_online_without_key_fails_before_opening_devices(self, capsys, monkeypatch):
        """--online with no key is refused before any speaker or file is opened."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)

        assert 2 == cli.main(["demo", "--online"])

        assert [
            "realtime-client demo: --online needs an API key: export OPENAI_API_KEY=sk-..."
        ] == capsys.readouterr().err.strip().splitlines()


class TestModelDefaults:
    @pytest.mark.parametrize(
        ("command", "model"),
        [
            ("demo", "gpt-realtime"),
            ("talk", "gpt-realtime"),
            ("chat", "gpt-realtime"),
            ("transcribe", "gpt-4o-mini-transcribe"),
        ],
    )
    def test_each_subcommand_has_its_own_default(self, command, model):
        """Each model subcommand defaults to the model its job needs, whatever the others set."""
        parser = cli.build_parser()

        assert model == parser.parse_args([command]).model
        assert "other" == parser.parse_args([command, "--model", "other"]).model

    @pytest.mark.parametrize("command", ["serve", "devices"])
    def test_commands_without_a_model_have_none(self, command):
        """serve takes each client's model, devices needs none: no --model leaks into them."""
        assert not hasattr(cli.build_parser().parse_args([command]), "model")

    def test_help_shows_each_default(self, capsys):
        """`transcribe --help` shows the transcription model, `chat --help` the realtime one."""
        for command, model in (("transcribe", "gpt-4o-mini-transcribe"), ("chat", "gpt-realtime")):
            with pytest.raises(SystemExit):
                cli.main([command, "--help"])
            assert f"(default: {model})" in " ".join(capsys.readouterr().out.split())

    def test_the_model_reaches_the_server(self, monkeypatch):
        """chat opens its session with gpt-realtime (the transcribe default does not leak)."""
        from realtime_client.testing import FakeRealtimeServer

        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # --online asks for one
        monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n"))
        with FakeRealtimeServer(speed=50) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            assert 0 == cli.main(["chat", "--online"])
            assert {"model": "gpt-realtime"} == server.wait_for_connection().query


class TestLogging:
    @pytest.fixture(autouse=True)
    def _restore_logging(self):
        logger = logging.getLogger("realtime_client")
        level, root_handlers = logger.level, list(logging.getLogger().handlers)
        yield
        logger.setLevel(level)
        logging.getLogger().handlers[:] = root_handlers

    @pytest.mark.parametrize(
        ("argv", "level"),
        [
            (["-v", "chat"], logging.INFO),
            (["-vv", "chat"], logging.DEBUG),
            (["--log-level", "DEBUG", "chat"], logging.DEBUG),
            (["--log-level", "warning", "serve"], logging.WARNING),
        ],
    )
    def test_verbosity_sets_the_library_level(self, monkeypatch, argv, level):
        """-v, -vv and --log-level set the level of the realtime_client logger."""
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        monkeypatch.setattr(cli, "_COMMANDS", {**cli._COMMANDS, argv[-1]: lambda _args: 0})
        logging.getLogger("realtime_client").setLevel(logging.NOTSET)

        assert 0 == cli.main(argv)

        assert level == logging.getLogger("realtime_client").level

    def test_verbose_and_log_level_exclusive(self, capsys):
        """-v with --log-level is a usage error."""
        with pytest.raises(SystemExit) as info:
            cli.main(["-v", "--log-level", "info", "chat"])
        assert 2 == info.value.code


class TestServeLogsConnections:
    def test_one_line_when_opened_and_closed(self):
        """serve logs each connection on stderr: opened (peer, model), then closed (events in
        and out, close code)."""
        lines: queue.Queue[str] = queue.Queue()
        logged: list[str] = []
        with subprocess.Popen(
            [sys.executable, "-m", "realtime_client", "serve", "--speed", "inf"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stderr is not None
            assert proc.stdout is not None
            stderr = proc.stderr
            reader = threading.Thread(
                target=lambda: [lines.put(line) for line in stderr], name="test-stderr"
            )
            reader.start()
            try:
                url = proc.stdout.readline().strip()
                options = ConversationOptions(output_modalities=["text"])
                with ConversationClient(base_url=url).start_conversation(
                    model="gpt-realtime-mini", options=options
                ) as session:
                    session.ask("Hello", timeout=30)
                while not any(" closed: " in line for line in logged):
                    logged.append(lines.get(timeout=30))
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(30)
                reader.join(30)

        opened = [line for line in logged if " opened from " in line]
        closed = [line for line in logged if " closed: " in line]
        assert 1 == len(opened)
        assert re.search(
            r"connection 0 opened from 127\.0\.0\.1:\d+: model gpt-realtime-mini$", opened[0]
        )
        assert re.search(
            r"connection 0 closed: [1-9]\d* events in, [1-9]\d* out, close code 1000$",
            closed[0],
        )


class TestMissingSystemParts:
    def _run_with_stub(self, tmp_path, module: str, body: str, *argv: str):
        (tmp_path / f"{module}.py").write_text(body)
        env = {**os.environ, "PYTHONPATH": str(tmp_path)}
        return subprocess.run(
            [sys.executable, "-m", "realtime_client", *argv],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    def test_portaudio_missing_names_the_system_package(self, tmp_path):
        """With sounddevice installed but no PortAudio library, the message names the system
        packages (libportaudio2, brew's portaudio), not the extra."""
        done = self._run_with_stub(
            tmp_path, "sounddevice", "raise OSError('PortAudio library not found')\n", "devices"
        )

        assert 1 == done.returncode
        (line,) = done.stderr.strip().splitlines()
        assert line == (
            "realtime-client devices: the PortAudio library could not be loaded (PortAudio "
            "library not found): install the PortAudio system library: apt-get install "
            "libportaudio2 (Debian, Ubuntu) or brew install portaudio (macOS)"
        )

    def test_sounddevice_missing_names_the_extra(self, tmp_path):
        """Without sounddevice the message names the audio extra."""
        done = self._run_with_stub(
            tmp_path, "sounddevice", "raise ImportError('stub', name='sounddevice')\n", "devices"
        )

        assert 1 == done.returncode
        (line,) = done.stderr.strip().splitlines()
        assert line.endswith("pip install 'realtime-client[audio]'")
