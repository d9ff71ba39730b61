"""The README's two opening commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _opening_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None, "README.md has no sh block"
    return [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]


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
