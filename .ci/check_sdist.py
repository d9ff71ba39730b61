"""The sdist is complete: build it, install it here, and run its own tests from it.

Run by `tox -e sdist` in a fresh venv that holds only `build`: it builds the sdist of
this checkout, checks that it holds what MANIFEST.in promises, installs it with the
test extras, unpacks it, removes the unpacked package so that only the installed
one can be imported, and runs the unpacked tests. Extra arguments go to pytest
(default: the subset in DEFAULT_TESTS).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REQUIRED = (
    "PKG-INFO",
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "tox.ini",
    "ruff.toml",
    "setup.cfg",
    "pyproject.toml",
    ".ci/run",
    ".ci/check_sdist.py",
    "docs/conf.py",
    "docs/index.md",
    "docs/quickstart.md",
    "examples/hello.py",
    "benchmarks/decode.py",
    "tests/conftest.py",
    "tests/test_readme.py",
    "tests/data/realtime_schemas.json",
    "realtime_client/py.typed",
    "realtime_client/audio/data/question.wav",
)
"""Paths, relative to the sdist's top folder, that a complete sdist holds."""

DEFAULT_TESTS = (
    "-m",
    "not audio",
    "tests/test_readme.py",
    "tests/test_environment.py",
    "tests/test_ci.py",
    "tests/cli",
    "tests/events/test_schema.py",
)
"""The subset run from the sdist: the tests that read what only the sdist adds to the
wheel (the README, docs, .ci, tests/data, the examples' instructions) plus the command's
end-to-end tests. The whole suite runs in the py3XX envs; run it here too with
``tox -e sdist -- tests``."""


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="realtime-client-sdist-") as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "build", "--sdist", "--outdir", str(work / "dist"), str(ROOT)],
            check=True,
        )
        (sdist,) = (work / "dist").glob("*.tar.gz")
        with tarfile.open(sdist) as tar:
            names = tar.getnames()
            top = names[0].split("/")[0]
            missing = [p for p in REQUIRED if f"{top}/{p}" not in names]
            if missing:
                print(f"{sdist.name} lacks: {', '.join(missing)}", file=sys.stderr)
                return 1
            if hasattr(tarfile, "data_filter"):
                tar.extractall(work / "src", filter="data")
            else:  # Python before 3.10.12 / 3.11.4: our own archive, just built
                tar.extractall(work / "src")
        print(f"{sdist.name}: {len(names)} entries, all of {len(REQUIRED)} required ones")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", f"{sdist}[audio,testing,tests]"],
            check=True,
        )
        unpacked = work / "src" / top
        shutil.rmtree(unpacked / "realtime_client")  # tests must import the installed package
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *(argv or DEFAULT_TESTS)],
            cwd=unpacked,
            check=False,
        )
        return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
