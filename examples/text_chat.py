"""A text chat in the terminal: type a line, read the model's answer as it streams.

Run: ``python examples/text_chat.py [--model gpt-realtime] [--base-url ws://127.0.0.1:PORT/v1]``
(``OPENAI_API_KEY`` must be set; with the offline server, any key works.)
"""

from __future__ import annotations

import argparse

from realtime_client import RealtimeError
from realtime_client.client import ConversationClient, ConversationOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gpt-realtime")
    parser.add_argument("--base-url", default=None, help="default: OPENAI_BASE_URL or OpenAI")
    parser.add_argument("--instructions", default="You are a concise, friendly assistant.")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait per event")
    args = parser.parse_args()

    client = ConversationClient(base_url=args.base_url)
    options = ConversationOptions(output_modalities=["text"], instructions=args.instructions)
    try:
        with client.start_conversation(model=args.model, options=options) as session:
            while True:
                try:
                    line = input("you> ").strip()
                except EOFError:
                    break
                if not line:
                    continue
                session.send_text(line)
                print("model> ", end="", flush=True)
                for message in session.receive_messages(timeout=args.timeout):
                    if message.error is not None:
                        print(f"\n[error] {message.error.message}")
                    print(message.text or "", end="", flush=True)
                    if message.turn_finished:
                        break
                print()
    except RealtimeError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
