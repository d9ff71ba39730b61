"""Bad arguments and bad files: one line on stderr, never a traceback, nothing left behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from realtime_client import cli
from realtime_client.audio import Speaker
from realtime_client.errors import AudioError


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command, expect status 2, and return its only stderr line."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert 2 == info.value.code
    lines = capsys.readouterr().err.strip().splitlines()
    assert 1 == len(lines), lines
    return lines[0]


def _failure(capsys: pytest.CaptureFixture[str], argv: list[str], status: int = 1) -> str:
    """Run the command, expect ``status``, and return its only stderr line."""
    assert status == cli.main(argv)
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[")]
    assert 1 == len(lines), lines
    return lines[0]


@pytest.fixture
def truncated_wav(tmp_path: Path) -> Path:
    path = tmp_path / "truncated.wav"
    path.write_bytes(b"RIFF")  # ends inside the header
    return path


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all\n")
    return path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder the command uses, empty, and no speaker (the answer goes to a file)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    class NoSpeaker(Speaker):
        def __init__(self, **_: object) -> None:
            raise AudioError("no output device")

    monkeypatch.setattr("realtime_client.audio.Speaker", NoSpeaker)
    return folder


class TestBadArguments:
    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            (
                ["serve", "--port", "99999"],
                "realtime-client serve: error: argument --port: must be 0 to 65535, not 99999",
            ),
            (
                ["serve", "--port", "-1"],
                "realtime-client serve: error: argument --port: must be 0 to 65535, not -1",
            ),
            (
                ["serve", "--port", "http"],
                "realtime-client serve: error: argument --port: not a port number: 'http'",
            ),
            (
                ["serve", "--speed", "0"],
                "realtime-client serve: error: argument --speed: must be greater than 0, not 0",
            ),
            (
                ["demo", "--timeout", "0"],
                "realtime-client demo: error: argument --timeout: must be a number of seconds above 0, not 0",
            ),
            (
                ["demo", "--timeout", "nan"],
                "realtime-client demo: error: argument --timeout: must be a number of seconds above 0, not nan",
            ),
            (
                ["talk", "--format", "mp3"],
                "realtime-client talk: error: argument --format: invalid choice: 'mp3' (choose from",
            ),
            (["chat", "--nonsense"], "realtime-client: error: unrecognized arguments: --nonsense"),
            (["--log-level", "loud", "serve"], "realtime-client: error: argument --log-level:"),
        ],
    )
    def test_one_line_and_status_2(self, capsys, argv, expected):
        """Each bad argument is one stderr line naming the argument, then a pointer to --help."""
        line = _usage_error(capsys, argv)

        assert line.startswith(expected)
        assert line.endswith("--help)")

    def test_port_in_use_is_one_line(self, capsys):
        """serve on a port another socket holds: one line naming the address, status 1."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]

            line = _failure(capsys, ["serve", "--port", str(port)])

        assert line.startswith(f"realtime-client serve: cannot listen on 127.0.0.1:{port}: ")
        assert "in use" in line

    def test_no_traceback_from_a_subprocess(self):
        """`python -m realtime_client serve --port 99999` prints one line and no traceback."""
        done = subprocess.run(
            [sys.executable, "-m", "realtime_client", "serve", "--port", "99999"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

        assert 2 == done.returncode
        assert 1 == len(done.stderr.strip().splitlines())
        assert "Traceback" not in done.stderr


class TestBadFiles:
    @pytest.mark.parametrize("command", ["transcribe", "demo"])
    def test_each_bad_file_names_file_and_reason(
        self, capsys, command, truncated_wav, text_file, private_tmp
    ):
        """A truncated, non-WAV, missing or directory "file": one line with a reason, status 1."""
        option = "--file" if command == "transcribe" else "--question"
        cases = {
            truncated_wav: "it ends inside its header",
            text_file: "file does not start with RIFF id",
            text_file.parent / "missing.wav": "No such file or directory",
            text_file.parent: "Is a directory",
        }
        for path, reason in cases.items():
            line = _failure(capsys, [command, "--offline", option, str(path)])

            assert line.startswith(f"realtime-client {command}: cannot read WAV file '{path}': ")
            assert line.endswith(reason) or reason in line
        assert [] == os.listdir(private_tmp)

    def test_bad_question_opens_no_file(self, capsys, text_file, private_tmp):
        """demo checks --question before it opens the answer file: the temp folder stays empty."""
        _failure(capsys, ["demo", "--question", str(text_file)])

        assert [] == os.listdir(private_tmp)

    def test_failed_run_removes_its_temporary_answer(self, capsys, private_tmp):
        """A demo that fails after it made a temporary answer file removes that file."""
        line = _failure(capsys, ["demo", "--timeout", "0.001"])

        assert "realtime-client demo: no answer within 0.001 s" == line
        assert [] == os.listdir(private_tmp)

    def test_successful_run_keeps_and_names_its_answer(self, capsys, private_tmp):
        """Without a speaker, a demo that succeeds keeps the temporary answer and prints its path."""
        assert 0 == cli.main(["demo"])

        (kept,) = os.listdir(private_tmp)
        assert f"answer audio written to {private_tmp / kept}" in capsys.readouterr().out

    def test_unwritable_output_is_one_line(self, capsys, tmp_path, monkeypatch):
        """--output into a folder that does not exist: one line naming the file, status 1."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        target = tmp_path / "no" / "such" / "answer.wav"

        line = _failure(capsys, ["demo", "--output", str(target)])

        assert str(target) in line
