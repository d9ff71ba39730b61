"""The README and the quickstart stay true: their commands, and their Python code as written.

The Python blocks run unchanged, each in a fresh interpreter, in the set-up both pages
give for running without a key: `realtime-client serve` running, `OPENAI_BASE_URL` set
to the URL it prints and no `OPENAI_API_KEY` at all. The one difference from a reader's
shell is pace: the server streams faster than real time (`--speed`), so the test is quick.
The quickstart's audio block reads `question.wav` (24 kHz, mono, 16-bit) from the
current folder, as its text says; the test writes the bundled question there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = ("README.md", "docs/quickstart.md")


def _opening_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None, "README.md has no sh block"
    return [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / page).read_text(), re.S | re.M)


BLOCKS = [
    pytest.param(page, code, id=f"{page}-{index}")
    for page in PAGES
    for index, code in enumerate(_python_blocks(page))
]


def test_readme_opens_with_two_commands() -> None:
    """The first block holds exactly two commands: the demo, then the tests."""
    demo, tests = _opening_commands()

    assert demo.endswith("python3 -m realtime_client demo")
    assert tests.endswith("tox")


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run's last command is the README's test command."""
    _, tests = _opening_commands()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()

    assert tests.split("&&")[-1].strip() == ci[-1].strip()


def test_every_page_has_code_to_run() -> None:
    """The pages hold the blocks this module runs (a renamed fence would skip them silently)."""
    assert len(_python_blocks("README.md")) >= 1
    assert len(_python_blocks("docs/quickstart.md")) >= 4


def test_pages_tell_the_offline_set_up_the_test_uses() -> None:
    """Both pages say to run `serve` and set OPENAI_BASE_URL: what the blocks are run with."""
    for page in PAGES:
        text = (ROOT / page).read_text()
        assert "realtime_client serve" in text or "realtime-client serve" in text
        assert "export OPENAI_BASE_URL=ws://127.0.0.1:PORT/v1" in text


@pytest.fixture(scope="module")
def offline_url() -> Iterator[str]:
    """`python -m realtime_client serve`, as the pages say, and the URL it prints."""
    with subprocess.Popen(
        [sys.executable, "-m", "realtime_client", "serve", "--speed", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        assert server.stdout is not None
        try:
            url = server.stdout.readline().strip()  # blocks until the server listens
            assert url.startswith("ws://127.0.0.1:"), url
            yield url
        finally:
            server.terminate()
            server.wait(30)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with `question.wav` at 24 kHz, mono, 16-bit, as the audio example expects."""
    from realtime_client.audio import read_wav

    folder = tmp_path_factory.mktemp("readme")
    bundled = resources.files("realtime_client.audio") / "data/question.wav"
    with resources.as_file(bundled) as path:
        pcm, rate = read_wav(path, sample_rate=24000)
    with wave.open(str(folder / "question.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return folder


@pytest.mark.parametrize(("page", "code"), BLOCKS)
def test_python_block_runs_offline_without_a_key(page, code, offline_url, workdir) -> None:
    """Each Python block of the README and the quickstart runs as written, with no key in the
    environment, against the offline server that OPENAI_BASE_URL names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["OPENAI_BASE_URL"] = offline_url

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )

    assert 0 == done.returncode, f"{page} block failed:\n{code}\n{done.stderr}"
    assert done.stdout.strip(), f"{page} block printed nothing:\n{code}"
