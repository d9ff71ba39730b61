"""The opening handshake: endpoint paths, query parameters and API key checks.

The service answers a bad handshake with an HTTP error and a JSON body, before
any WebSocket exists; so does this server. Keys are compared, never logged,
echoed or stored.
"""

from __future__ import annotations

import hmac
import json
import threading
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

if TYPE_CHECKING:
    from websockets.sync.server import ServerConnection

__all__ = ["PATHS", "check_request", "parse_path", "rename_thread"]

PATHS: Final = frozenset({"/v1/realtime", "/openai/v1/realtime", "/openai/realtime"})
"""Request paths accepted: the OpenAI endpoint and the two Azure forms."""

_MISSING_KEY: Final = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_WRONG_KEY: Final = (
    "Incorrect API key provided. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)


def parse_path(path: str) -> tuple[str, dict[str, str]]:
    """Split a request path into the path and its query parameters (last value wins)."""
    parts = urlsplit(path)
    return parts.path.rstrip("/") or "/", dict(parse_qsl(parts.query))


def _json_response(
    status: int, reason: str, message: str, *, code: str | None, param: str | None = None
) -> Response:
    body: dict[str, Any] = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }
    data = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Connection", "close"),
        ]
    )
    return Response(status, reason, headers, data)


def _bearer(request: Request) -> str | None:
    value = request.headers.get("Authorization")
    if value is not None:
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    azure = request.headers.get("api-key")
    return azure.strip() if azure and azure.strip() else None


def check_request(
    request: Request, *, api_key: str | None, delay: float, stopping: threading.Event
) -> Response | None:
    """Answer a bad handshake with its HTTP error; None lets the WebSocket open.

    Args:
        request: The client's HTTP upgrade request.
        api_key: The one key accepted, or None to accept any key or none.
        delay: Seconds to hold the handshake before answering (fault injection).
        stopping: Set when the server stops; it cuts the delay short.
    """
    if delay > 0:
        stopping.wait(delay)
    path, query = parse_path(request.path)
    if path not in PATHS:
        return _json_response(404, "Not Found", f"Invalid URL (GET {path})", code="unknown_url")
    if api_key is None:  # no key to check: any key, or none, is accepted
        return _check_intent(query)
    key = _bearer(request)
    if key is None:
        return _json_response(401, "Unauthorized", _MISSING_KEY, code="missing_api_key")
    if not hmac.compare_digest(key.encode(), api_key.encode()):
        return _json_response(401, "Unauthorized", _WRONG_KEY, code="invalid_api_key")
    return _check_intent(query)


def _check_intent(query: dict[str, str]) -> Response | None:
    intent = query.get("intent")
    if intent is not None and intent != "transcription":
        return _json_response(
            400,
            "Bad Request",
            f"Invalid value: '{intent}'. Supported values are: 'transcription'.",
            code="invalid_value",
            param="intent",
        )
    return None


def rename_thread(connection: ServerConnection, name: str) -> None:
    """Give the threads websockets started for a connection names of the server's own."""
    threading.current_thread().name = name
    reader = getattr(connection, "recv_events_thread", None)
    if isinstance(reader, threading.Thread):
        reader.name = name.replace("-conn-", "-recv-")
