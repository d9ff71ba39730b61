"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import jsonschema
import pytest

from tests.schema_validation import load_validators

REQUIRE_AUDIO = os.environ.get("REALTIME_REQUIRE_AUDIO") == "1"
"""Set by .ci/run once it has started the virtual devices: an audio test must not skip."""

THREAD_PREFIX = "realtime-"
JOIN_GRACE = 5.0


def _ours() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves one of the library's threads running."""
    before = set(_ours())
    yield
    leaked = [t for t in _ours() if t not in before]
    for thread in leaked:  # bounded: a thread being torn down gets a short grace
        thread.join(JOIN_GRACE / max(len(leaked), 1))
    alive = [t.name for t in leaked if t.is_alive()]
    assert alive == [], f"threads left running: {alive}"


@pytest.fixture(scope="session")
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    """Validators for every event type, from the vendored official schemas."""
    return load_validators()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With REALTIME_REQUIRE_AUDIO=1, a skipped audio test is a failure that gives the reason."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if REQUIRE_AUDIO and report.skipped and item.get_closest_marker("audio") is not None:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"audio test skipped although REALTIME_REQUIRE_AUDIO=1: {reason}"
