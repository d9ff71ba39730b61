"""Hello, world: send a line of text and print the model's reply as it streams.

Usage:
    OPENAI_API_KEY=... python examples/hello.py "Say hello in three languages."
"""

from __future__ import annotations

import argparse

from realtime_client import ConversationClient, ConversationOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default="Say hello in three languages.")
    parser.add_argument("--model", default="gpt-realtime")
    args = parser.parse_args()

    client = ConversationClient()  # OPENAI_API_KEY from the environment
    options = ConversationOptions(output_modalities=["text"])
    with client.start_conversation(model=args.model, options=options) as session:
        session.send_text(args.text)
        for message in session.receive_messages():
            print(message.text or "", end="", flush=True)
            if message.turn_finished:
                break
        print()
        turn = session.last_turn
        print(f"[{turn.status}; {turn.usage.total_tokens if turn.usage else '?'} tokens]")


if __name__ == "__main__":
    main()
