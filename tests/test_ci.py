"""What CI relies on: the four Pythons are found (or the run fails naming the missing one),
a skipped audio test fails a run that set devices up, and tox runs every claimed Python."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FIND_PYTHONS = ROOT / ".ci" / "find-pythons"


def _fake_pyenv(root: Path, *versions: str) -> Path:
    for version in versions:
        minor = ".".join(version.split(".")[:2])
        bin_dir = root / "versions" / version / "bin"
        bin_dir.mkdir(parents=True)
        python = bin_dir / f"python{minor}"
        python.write_text("#!/bin/sh\n")
        python.chmod(0o755)
    return root


def _find_pythons(pyenv_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(FIND_PYTHONS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={**os.environ, "PYENV_ROOT": str(pyenv_root)},
    )


class TestFindPythons:
    def test_newest_patch_of_each_minor(self, tmp_path):
        """Each of 3.10 to 3.13 is found, the newest patch release when there are several."""
        root = _fake_pyenv(tmp_path, "3.10.13", "3.11.7", "3.12.1", "3.12.10", "3.13.0", "3.9.18")

        done = _find_pythons(root)

        assert 0 == done.returncode, done.stderr
        assert [
            f"{root}/versions/{v}/bin" for v in ("3.10.13", "3.11.7", "3.12.10", "3.13.0")
        ] == done.stdout.strip().split(":")

    def test_missing_python_fails_naming_it(self, tmp_path):
        """Without 3.12 the script fails with one line naming 3.12 and the pyenv command."""
        root = _fake_pyenv(tmp_path, "3.10.13", "3.11.7", "3.13.0")

        done = _find_pythons(root)

        assert 1 == done.returncode
        assert [
            f"Python 3.12 not found in {root}/versions: run 'pyenv install 3.12'"
        ] == done.stderr.strip().splitlines()

    def test_ci_puts_them_on_path_and_refuses_skips(self):
        """.ci/run uses the script and tells tox not to skip a missing interpreter."""
        ci = (ROOT / ".ci" / "run").read_text()

        assert "$(.ci/find-pythons)" in ci
        assert "export TOX_SKIP_MISSING_INTERPRETERS=false" in ci
        assert "export REALTIME_REQUIRE_AUDIO=1" in ci


def test_tox_runs_every_python_the_package_claims():
    """tox's env_list has a py3XX env for each Python classifier in setup.cfg."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    claimed = {
        line.rsplit(":: ", 1)[1].replace(".", "")
        for line in setup["metadata"]["classifiers"].splitlines()
        if line.startswith("Programming Language :: Python :: 3.")
    }
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = {e.strip() for e in tox["tox"]["env_list"].split(",")}

    assert {"310", "311", "312", "313"} == claimed
    assert {f"py{v}" for v in claimed} <= envs


class TestRequireAudio:
    @pytest.fixture
    def suite(self, tmp_path: Path) -> Path:
        (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    audio: real devices\n")
        (tmp_path / "test_sample.py").write_text(
            "import pytest\n\n"
            "@pytest.mark.audio\n"
            "def test_needs_devices():\n"
            "    pytest.skip('no devices here')\n\n"
            "@pytest.mark.audio\n"
            "@pytest.mark.skip(reason='marked skip')\n"
            "def test_marked_skip():\n"
            "    pass\n\n"
            "def test_not_audio():\n"
            "    pytest.skip('allowed')\n"
        )
        return tmp_path

    def _run(self, suite: Path, require: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "REALTIME_REQUIRE_AUDIO"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        if require is not None:
            env["REALTIME_REQUIRE_AUDIO"] = require
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "tests.conftest",
                "-p",
                "no:cacheprovider",
                str(suite),
            ],
            cwd=suite,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=env,
        )

    def test_skipped_audio_test_fails_when_required(self, suite):
        """With REALTIME_REQUIRE_AUDIO=1 an audio test that skips (in its body or by a mark)
        fails the run with the skip's reason; other skips stay skips."""
        done = self._run(suite, "1")

        assert 1 == done.returncode
        assert (
            "audio test skipped although REALTIME_REQUIRE_AUDIO=1: Skipped: no devices here"
            in (done.stdout)
        )
        assert "REALTIME_REQUIRE_AUDIO=1: Skipped: marked skip" in done.stdout
        assert "1 skipped" in done.stdout

    def test_skips_pass_otherwise(self, suite):
        """Without it (a laptop with no devices) the same skips leave the run green."""
        done = self._run(suite, None)

        assert 0 == done.returncode, done.stdout
        assert "3 skipped" in done.stdout
