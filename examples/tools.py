"""A tool-using assistant: the model calls Python functions to answer.

Usage:
    OPENAI_API_KEY=... python examples/tools.py "What's the weather in Oslo, and the time there?"
    python examples/tools.py --offline      # against the bundled offline server

The offline server's model calls a tool when the message names it, with
arguments from ``key=value`` (the default offline message does that).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import zoneinfo
from collections.abc import Iterator
from typing import Any, Literal

from realtime_client import ConversationClient, ConversationOptions

_OFFLINE_TEXT = "Call get_weather with city=Oslo"

# A stand-in for a weather service, so the example runs without another API key.
_WEATHER = {"oslo": (3, "snow"), "paris": (14, "cloudy"), "tokyo": (19, "clear")}


def get_weather(city: str, unit: Literal["C", "F"] = "C") -> dict[str, Any]:
    """Current weather for a city.

    Args:
        city: The city name, such as "Paris".
        unit: The temperature unit.
    """
    if city.lower() not in _WEATHER:
        raise LookupError(f"no weather for {city!r}; try Oslo, Paris or Tokyo")
    celsius, sky = _WEATHER[city.lower()]
    temperature = celsius if unit == "C" else round(celsius * 9 / 5 + 32)
    return {"city": city, "temperature": temperature, "unit": unit, "sky": sky}


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
    parser.add_argument("text", nargs="?")
    parser.add_argument("--model", default="gpt-realtime")
    parser.add_argument("--offline", action="store_true", help="use the offline server")
    args = parser.parse_args()
    text = args.text or (
        _OFFLINE_TEXT if args.offline else "What's the weather in Oslo, and the time?"
    )

    options = ConversationOptions(
        output_modalities=["text"],
        instructions="Answer briefly. Use the tools for weather and time.",
        tools=[get_weather],  # registered before connecting
    )
    with (
        make_client(args.offline) as client,
        client.start_conversation(model=args.model, options=options) as session,
    ):

        @session.tool
        def local_time(timezone: str) -> str:
            """The current local time.

            Args:
                timezone: An IANA time zone, such as "Europe/Oslo".
            """
            now = datetime.datetime.now(zoneinfo.ZoneInfo(timezone))
            return now.strftime("%H:%M")

        session.send_text(text)
        # The session runs the calls and asks for the next response: the first
        # turn ends with function calls, the next one with the answer.
        for message in session.receive_messages():
            if message.function_call is not None:
                call = message.function_call
                print(f"[calling {call.name}({call.arguments})]")
            print(message.text or "", end="", flush=True)
            # last_turn is set before the finishing message is yielded.
            turn = session.last_turn
            if message.turn_finished and turn is not None and not turn.function_calls:
                break
        print()
        cost = session.usage.estimated_cost()
        if cost is not None:
            print(f"[about ${cost:.4f} so far, at estimated list prices]")


if __name__ == "__main__":
    main()
