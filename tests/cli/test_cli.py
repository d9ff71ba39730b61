"""The realtime-client command, end to end against the offline server."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from realtime_client import cli
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
            "realtime-client serve: needs 'websockets', which is not installed: "
            "pip install 'realtime-client[audio,testing]'"
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
