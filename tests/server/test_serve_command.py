"""The ``realtime-client serve`` command: prints the base URL, rejects a bad --speed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from realtime_client import cli

from .conftest import Peer


class TestServeCommand:
    def test_prints_the_base_url(self) -> None:
        """The first line on stdout is the base URL, ws://127.0.0.1:PORT/v1, which works."""
        with subprocess.Popen(
            [sys.executable, "-m", "realtime_client", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as process:
            try:
                assert process.stdout is not None
                url = process.stdout.readline().strip()
                assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/v1", url), url
                peer = Peer(url + "/realtime")
                assert "session.created" == peer.recv()["type"]
                peer.close()
            finally:
                process.send_signal(signal.SIGINT)
                process.wait(10)

    @pytest.mark.parametrize("speed", ["0", "-1", "nan", "fast"])
    def test_speed_must_be_positive(self, capsys, speed: str) -> None:
        """--speed of 0 or less (or not a number) is a one-line usage error, status 2."""
        with pytest.raises(SystemExit) as info:
            cli.main(["serve", "--speed", speed])
        assert 2 == info.value.code
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert "realtime-client serve: error: argument --speed:" in err.splitlines()[-1]
