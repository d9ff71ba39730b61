"""Talk to the model with your microphone and speaker (use headphones).

    python examples/talk.py [--list-devices] [--input-device N] [--output-device N]

Needs OPENAI_API_KEY; Ctrl-C quits.
"""

from __future__ import annotations

import argparse
import contextlib

from realtime_client import events as ev
from realtime_client.audio import Microphone, Speaker, VoiceBridge, list_devices
from realtime_client.client import ConversationClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list-devices", action="store_true")
    parser.add_argument("--input-device", type=int)
    parser.add_argument("--output-device", type=int)
    args = parser.parse_args()
    if args.list_devices:
        for d in list_devices():
            print(d["index"], d["name"])
        return
    with (
        ConversationClient().start_conversation(model="gpt-realtime") as session,
        Microphone(device=args.input_device) as mic,
        Speaker(device=args.output_device) as speaker,
        VoiceBridge(session, source=mic, sink=speaker),
    ):
        session.on(
            ev.ResponseOutputAudioTranscriptDeltaEvent,
            lambda e: print(e.delta, end="", flush=True),
        )
        with contextlib.suppress(KeyboardInterrupt):
            session.wait_closed()


if __name__ == "__main__":
    main()
