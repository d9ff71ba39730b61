"""A tool-using assistant: the model calls Python functions to answer.

Usage:
    OPENAI_API_KEY=... python examples/tools.py "What's the weather in Oslo, and the time there?"
"""

from __future__ import annotations

import argparse
import datetime
import zoneinfo
from typing import Any, Literal

from realtime_client import ConversationClient, ConversationOptions

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default="What's the weather in Oslo, and the time?")
    parser.add_argument("--model", default="gpt-realtime")
    args = parser.parse_args()

    options = ConversationOptions(
        output_modalities=["text"],
        instructions="Answer briefly. Use the tools for weather and time.",
        tools=[get_weather],  # registered before connecting
    )
    client = ConversationClient()
    with client.start_conversation(model=args.model, options=options) as session:

        @session.tool
        def local_time(timezone: str) -> str:
            """The current local time.

            Args:
                timezone: An IANA time zone, such as "Europe/Oslo".
            """
            now = datetime.datetime.now(zoneinfo.ZoneInfo(timezone))
            return now.strftime("%H:%M")

        session.send_text(args.text)
        # The session runs the calls and asks for the next response: the first
        # turn ends with function calls, the next one with the answer.
        for message in session.receive_messages():
            if message.function_call is not None:
                call = message.function_call
                print(f"[calling {call.name}({call.arguments})]")
            print(message.text or "", end="", flush=True)
            if message.turn_finished and not session.last_turn.function_calls:
                break
        print()
        cost = session.usage.estimated_cost()
        if cost is not None:
            print(f"[about ${cost:.4f} so far, at estimated list prices]")


if __name__ == "__main__":
    main()
