"""Transcribe the microphone or a WAV file: a thin wrapper over the command.

python examples/transcribe.py [--file speech.wav] [--offline]
"""

from __future__ import annotations

import sys

from realtime_client.cli import main

if __name__ == "__main__":
    sys.exit(main(["transcribe", *sys.argv[1:]]))
