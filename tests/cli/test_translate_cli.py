"""``realtime-client translate`` in file mode: no audio device, the built-in offline server."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime_client import cli
from realtime_client.audio import read_wav
from realtime_client.testing._server._speech import synthesize

RATE = 24000
SPEECH = re.compile(r"\[(\d+\.\d) seconds of speech\]")


def _wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return path


@pytest.fixture
def spoken(tmp_path: Path) -> Path:
    speech = synthesize("where is the station please", RATE, engine="synthetic")
    return _wav(tmp_path / "in.wav", bytes(RATE) + speech)


class TestFileMode:
    def test_file_in_file_out(self, spoken: Path, tmp_path: Path, capsys, monkeypatch) -> None:
        """--file/--output: both transcripts on stdout, the translated speech in the WAV,
        offline by default even with a key in the environment, status 0."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used")
        out = tmp_path / "out.wav"
        status = cli.main(["translate", "--to", "es", "--file", str(spoken), "--output", str(out)])
        captured = capsys.readouterr()
        assert 0 == status, captured.err
        lines = captured.out.splitlines()
        assert 2 == len(lines), captured.out
        source = SPEECH.fullmatch(lines[0].removeprefix("source: "))
        assert source is not None, lines
        assert f"es: [es] [{source[1]} seconds of speech]" == lines[1]
        assert "offline server" in captured.err
        pcm, rate = read_wav(out)
        samples = np.frombuffer(pcm, dtype="<i2")
        assert RATE == rate
        assert 0.5 < len(samples) / RATE < 30
        assert 1000 < int(np.abs(samples).max())

    def test_without_source_transcript(self, spoken: Path, tmp_path: Path, capsys) -> None:
        """--source-transcript-model none: only the translation is printed."""
        out = tmp_path / "out.wav"
        argv = ["translate", "--to", "fr", "--file", str(spoken), "--output", str(out)]
        status = cli.main([*argv, "--source-transcript-model", "none"])
        lines = capsys.readouterr().out.splitlines()
        assert 0 == status
        assert 1 == len(lines)
        assert lines[0].startswith("fr: [fr] [")


class TestBadUsage:
    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (["--to", "not a language"], "--to"),
            (["--to", "es", "--format", "pcmu"], "--format must be pcm"),
        ],
    )
    def test_bad_arguments_exit_2_before_anything_opens(
        self, spoken: Path, tmp_path: Path, capsys, extra: list[str], message: str
    ) -> None:
        """A bad argument is status 2 with a one-line message; no output file is created."""
        out = tmp_path / "never.wav"
        status = cli.main(["translate", "--file", str(spoken), "--output", str(out), *extra])
        err = capsys.readouterr().err
        assert 2 == status
        assert message in err
        assert not out.exists()

    def test_online_needs_a_key(self, spoken: Path, tmp_path: Path, capsys, monkeypatch) -> None:
        """--online without OPENAI_API_KEY is status 2, said plainly."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        out = tmp_path / "never.wav"
        status = cli.main(
            ["translate", "--to", "es", "--online", "--file", str(spoken), "--output", str(out)]
        )
        assert 2 == status
        assert "OPENAI_API_KEY" in capsys.readouterr().err

    def test_missing_file_is_an_error(self, tmp_path: Path, capsys) -> None:
        """A file that cannot be read is status 1 with the file named."""
        missing = tmp_path / "missing.wav"
        out = str(tmp_path / "x.wav")
        status = cli.main(["translate", "--to", "es", "--file", str(missing), "--output", out])
        assert 1 == status
        assert "missing.wav" in capsys.readouterr().err
