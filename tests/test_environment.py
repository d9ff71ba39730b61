"""openai-python's environment (OPENAI_*), the missing-key error, and the extras' hints."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from realtime_client import ConversationClient, UsageError
from realtime_client._config import MISSING_KEY, log_from_env, openai_endpoint


def _endpoint(**environ: str):
    return openai_endpoint(
        api_key=None,
        base_url=None,
        organization=None,
        project=None,
        safety_identifier=None,
        headers=None,
        token_provider=None,
        environ={"OPENAI_API_KEY": "sk-test", **environ},
    )


class TestOrganizationAndProject:
    def test_headers_from_environment(self):
        """OPENAI_ORG_ID and OPENAI_PROJECT_ID are sent as OpenAI-Organization and
        OpenAI-Project, the headers openai-python sends for them."""
        headers = _endpoint(OPENAI_ORG_ID="org-1", OPENAI_PROJECT_ID="proj_2").auth_headers()

        assert "org-1" == headers["OpenAI-Organization"]
        assert "proj_2" == headers["OpenAI-Project"]

    def test_arguments_win_over_environment(self, monkeypatch):
        """organization= and project= given to the client win over the environment."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
        monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
        client = ConversationClient(organization="org-arg", project="proj-arg")

        headers = client._endpoint.auth_headers()

        assert ("org-arg", "proj-arg") == (
            headers["OpenAI-Organization"],
            headers["OpenAI-Project"],
        )

    def test_absent_means_no_header(self):
        """Without the variables neither header is sent."""
        headers = _endpoint().auth_headers()

        assert not {"OpenAI-Organization", "OpenAI-Project"} & set(headers)


class TestMissingKey:
    def test_fails_when_the_client_is_made(self, monkeypatch):
        """No key for OpenAI fails at ConversationClient(), not at the handshake, with
        openai-python's wording of the fix."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

        with pytest.raises(UsageError) as info:
            ConversationClient()

        assert MISSING_KEY == str(info.value)
        assert str(info.value).startswith("Missing credentials. Please pass an `api_key`")
        assert "`OPENAI_API_KEY` environment variable" in str(info.value)

    def test_token_provider_or_auth_header_is_enough(self, monkeypatch):
        """A token provider or an Authorization header stands in for the key."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

        ConversationClient(token_provider=lambda: "ek_token")
        ConversationClient(headers={"Authorization": "Bearer sk-from-header"})

    def test_other_servers_need_no_key(self, monkeypatch):
        """The offline server (or a gateway) may need no key: OPENAI_BASE_URL to it is enough."""
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.setenv("OPENAI_BASE_URL", "ws://127.0.0.1:9/v1")

        assert ConversationClient()._endpoint.api_key is None

    def test_offline_server_accepts_no_key(self, monkeypatch):
        """A keyless client talks to FakeRealtimeServer (which checks a key only when given one)."""
        from realtime_client.testing import FakeRealtimeServer

        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        with FakeRealtimeServer(speed=50) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            with ConversationClient().start_conversation() as session:
                assert "completed" == session.ask("Hi", timeout=30).status


class TestOpenAILog:
    @pytest.fixture(autouse=True)
    def _restore(self) -> Iterator[None]:
        logger = logging.getLogger("realtime_client")
        root = logging.getLogger()
        level, handlers = logger.level, list(root.handlers)
        yield
        logger.setLevel(level)
        root.handlers[:] = handlers

    @pytest.mark.parametrize(
        ("value", "level"), [("info", logging.INFO), ("debug", logging.DEBUG), ("DEBUG", 10)]
    )
    def test_turns_on_the_library_logging(self, value, level):
        """OPENAI_LOG=info|debug sets the realtime_client logger's level, as in openai-python."""
        logging.getLogger("realtime_client").setLevel(logging.NOTSET)

        log_from_env({"OPENAI_LOG": value})

        assert level == logging.getLogger("realtime_client").level

    @pytest.mark.parametrize("value", ["", "verbose", "warning"])
    def test_other_values_leave_logging_alone(self, value):
        """Unset or any other value changes nothing."""
        logging.getLogger("realtime_client").setLevel(logging.NOTSET)

        log_from_env({"OPENAI_LOG": value})

        assert logging.NOTSET == logging.getLogger("realtime_client").level

    def test_read_when_the_client_is_made(self):
        """A program that sets only OPENAI_LOG=debug gets the library's debug lines on stderr,
        and never the key."""
        code = (
            "from realtime_client import ConversationClient\n"
            "from realtime_client.testing import FakeRealtimeServer\n"
            "with FakeRealtimeServer(speed=50) as server:\n"
            "    client = ConversationClient(base_url=server.base_url, api_key='sk-hush')\n"
            "    with client.start_conversation() as session:\n"
            "        session.ask('Hi', timeout=30)\n"
        )
        env = {**os.environ, "OPENAI_LOG": "debug"}
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=env,
        )

        assert " - realtime_client" in done.stderr
        assert "DEBUG" in done.stderr
        assert "sk-hush" not in done.stderr


class TestTestingExtra:
    def test_missing_websockets_names_the_extra(self, tmp_path):
        """Importing FakeRealtimeServer without websockets names the testing extra."""
        (tmp_path / "websockets.py").write_text("raise ImportError('stub', name='websockets')\n")
        done = subprocess.run(
            [sys.executable, "-c", "from realtime_client.testing import FakeRealtimeServer"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
        )

        assert 1 == done.returncode
        assert done.stderr.strip().splitlines()[-1] == (
            "ModuleNotFoundError: realtime_client.testing.FakeRealtimeServer needs websockets, "
            "which is not installed: pip install 'realtime-client[testing]'"
        )
