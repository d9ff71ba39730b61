"""Hello, world: send a line of text and print the model's reply as it streams.

Usage:
    OPENAI_API_KEY=... python examples/hello.py "Say hello in three languages."
    python examples/hello.py --offline      # against the bundled offline server
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from realtime_client import ConversationClient, ConversationOptions


@contextlib.contextmanager
def make_client(offline: bool) -> Iterator[ConversationClient]:
    """A client for OpenAI, or for the offline server (needs the ``testing`` extra)."""
    if not offline:
        yield ConversationClient()  # OPENAI_API_KEY from the environment
        return
    from realtime_client.testing import FakeRealtimeServer

    with FakeRealtimeServer(speed=20) as server:
        yield ConversationClient(base_url=server.base_url, api_key="sk-offline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default="Say hello in three languages.")
    parser.add_argument("--model", default="gpt-realtime")
    parser.add_argument("--offline", action="store_true", help="use the offline server")
    args = parser.parse_args()

    options = ConversationOptions(output_modalities=["text"])
    with (
        make_client(args.offline) as client,
        client.start_conversation(model=args.model, options=options) as session,
    ):
        session.send_text(args.text)
        for message in session.receive_messages():
            print(message.text or "", end="", flush=True)
            if message.turn_finished:
                break
        print()
        turn = session.last_turn  # set before the finishing message was yielded
        assert turn is not None
        print(f"[{turn.status}; {turn.usage.total_tokens if turn.usage else '?'} tokens]")


if __name__ == "__main__":
    main()
