"""The offline server's REST calls: ``POST /v1/realtime/calls`` and translation secrets.

The server runs on ``websockets``' sync server, whose HTTP parser reads only
WebSocket upgrade requests: a request with a body is dropped before
``process_request`` sees it. So requests are told apart one step earlier, in
the ``create_connection`` factory ``websockets`` calls for each accepted
socket: it peeks (``MSG_PEEK``, nothing consumed) at the first bytes, and a
``POST`` is answered right there by the standard library's
:class:`http.server.BaseHTTPRequestHandler` on the same socket. The factory
then raises :class:`_Answered`, on which ``websockets`` closes the socket and
moves on; a ``GET`` (every WebSocket handshake) goes to ``websockets``
untouched. One port serves both, as the service's one host does.

The multipart body of ``/calls`` is parsed with :mod:`email` (the standard
library's MIME parser).
"""

from __future__ import annotations

import email.parser
import email.policy
import hmac
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Final

import attrs

from ...events import translation as tev
from ._handshake import _MISSING_KEY, _WRONG_KEY, parse_path
from ._settings import ServerSettings
from ._translator import initial_translation_session
from ._util import new_id

if TYPE_CHECKING:
    from websockets.server import ServerProtocol
    from websockets.sync.server import ServerConnection

__all__ = ["CallRecord", "RestRoutes", "sdp_answer"]

_PEEK_TIMEOUT: Final = 10.0
_MAX_BODY: Final = 1 << 20
CALLS_PATH: Final = "/v1/realtime/calls"
TRANSLATION_SECRETS_PATH: Final = "/v1/realtime/translations/client_secrets"


class _Answered(Exception):
    """Raised from the connection factory once a plain HTTP request was answered."""


@attrs.frozen(kw_only=True)
class CallRecord:
    """A call created with ``POST /v1/realtime/calls``.

    .. versionadded:: 0.3
    """

    call_id: str
    offer: str = attrs.field(repr=False)
    answer: str = attrs.field(repr=False)
    session: dict[str, Any] | None = None


def _offer_sections(offer: str) -> list[list[str]]:
    sections: list[list[str]] = []
    for line in offer.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            sections.append([line])
        elif sections and line:
            sections[-1].append(line)
    return sections


def sdp_answer(offer: str) -> str:
    """A well-formed SDP answer to ``offer``: each media section accepted, Opus for audio.

    Raises:
        ValueError: ``offer`` is not an SDP offer with at least one media section.
    """
    lines = offer.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "v=0":
        raise ValueError("The SDP offer must start with 'v=0'.")
    sections = _offer_sections(offer)
    if not sections:
        raise ValueError("The SDP offer has no media section ('m=' line).")
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    ufrag, pwd = secrets.token_hex(2), secrets.token_hex(12)
    mids = []
    media: list[str] = []
    for index, section in enumerate(sections):
        kind = section[0][2:].split(" ", 1)[0]
        mid = next((s[6:] for s in section if s.startswith("a=mid:")), str(index))
        mids.append(mid)
        common = [
            "c=IN IP4 127.0.0.1",
            f"a=ice-ufrag:{ufrag}",
            f"a=ice-pwd:{pwd}",
            f"a=fingerprint:sha-256 {fingerprint}",
            "a=setup:active",
            f"a=mid:{mid}",
        ]
        if kind == "audio":
            opus = next(
                (s[9:].split(" ", 1)[0] for s in section if "opus/48000" in s.lower()), "111"
            )
            media += [f"m=audio 9 UDP/TLS/RTP/SAVPF {opus}", *common, "a=sendrecv"]
            media += ["a=rtcp-mux", f"a=rtpmap:{opus} opus/48000/2"]
            media += [f"a=candidate:1 1 udp 2130706431 127.0.0.1 {40000 + index} typ host"]
        elif kind == "application":
            media += ["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", *common]
            media += ["a=sctp-port:5000"]
        else:
            media += [f"m={kind} 0 UDP/TLS/RTP/SAVPF 0", *common, "a=inactive"]
    head = [
        "v=0",
        f"o=- {int(time.time() * 1000)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE " + " ".join(mids),
        "a=msid-semantic: WMS",
    ]
    return "\r\n".join([*head, *media]) + "\r\n"


class RestRoutes:
    """The REST side of one offline server: the calls it created, and the factory.

    .. versionadded:: 0.3
    """

    def __init__(self, settings: ServerSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._calls: dict[str, CallRecord] = {}
        self._secrets: dict[str, int] = {}  # client secrets issued: value -> expires_at

    def issued(self, key: str) -> bool:
        """Whether ``key`` is a client secret this server issued and it has not expired
        (the service accepts one in place of the API key)."""
        with self._lock:
            expires = self._secrets.get(key)
        return expires is not None and time.time() < expires

    @property
    def calls(self) -> dict[str, CallRecord]:
        """The calls created so far, by id (a copy)."""
        with self._lock:
            return dict(self._calls)

    def create_connection(
        self, sock: socket.socket, protocol: ServerProtocol, *args: Any, **kwargs: Any
    ) -> ServerConnection:
        """``websockets``' connection factory: answers a ``POST`` itself (see the module).

        The arguments after ``protocol`` are passed on as they came: websockets 17
        passes the server, 16 (the last release for Python 3.10) does not.
        """
        from websockets.sync.server import ServerConnection

        if _is_post(sock):
            _Handler(sock, sock.getpeername(), self)  # answers, then the socket is done
            raise _Answered
        return ServerConnection(sock, protocol, *args, **kwargs)

    # --- routes ------------------------------------------------------------------------------

    def authorized(self, handler: _Handler) -> bool:
        value = handler.headers.get("Authorization") or ""
        scheme, _, token = value.strip().partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token:
            handler.send_json(401, _error(_MISSING_KEY, "missing_api_key"))
            return False
        expected = self._settings.api_key
        if expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
            handler.send_json(401, _error(_WRONG_KEY, "invalid_api_key"))
            return False
        return True

    def create_call(self, handler: _Handler, body: bytes) -> None:
        content_type = handler.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            handler.send_json(400, _error("Expected multipart/form-data.", "invalid_request"))
            return
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        parts: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                parts[name] = payload
        if "sdp" not in parts:
            handler.send_json(
                400, _error("Missing required parameter: 'sdp'.", "missing_required_parameter")
            )
            return
        session = None
        if "session" in parts:
            try:
                session = json.loads(parts["session"])
            except ValueError:
                session = None
            if not isinstance(session, dict) or session.get("type") != "realtime":
                handler.send_json(
                    400, _error("'session' must be a realtime session object.", "invalid_value")
                )
                return
        offer = parts["sdp"].decode("utf-8", "replace")
        try:
            answer = sdp_answer(offer)
        except ValueError as exc:
            handler.send_json(400, _error(str(exc), "invalid_offer"))
            return
        call_id = new_id("rtc")
        with self._lock:
            self._calls[call_id] = CallRecord(
                call_id=call_id, offer=offer, answer=answer, session=session
            )
        handler.send_body(
            201, answer.encode(), "application/sdp", [("Location", f"{CALLS_PATH}/{call_id}")]
        )

    def translation_secret(self, handler: _Handler, body: bytes) -> None:
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        session = request.get("session") if isinstance(request, dict) else None
        model = session.get("model") if isinstance(session, dict) else None
        if not isinstance(model, str) or not model:
            handler.send_json(
                400,
                _error(
                    "Missing required parameter: 'session.model'.", "missing_required_parameter"
                ),
            )
            return
        seconds = 600
        after = request.get("expires_after") if isinstance(request, dict) else None
        if isinstance(after, dict) and isinstance(after.get("seconds"), int):
            seconds = after["seconds"]
        config = initial_translation_session(model, self._settings.max_session_duration)
        audio = session.get("audio") if isinstance(session, dict) else None
        output = audio.get("output") if isinstance(audio, dict) else None
        if output is not None and not isinstance(output, dict):
            handler.send_json(
                400,
                _error(
                    "Invalid type for 'session.audio.output': expected an object.",
                    "invalid_type",
                ),
            )
            return
        language = output.get("language") if output is not None else None
        if isinstance(language, str):
            config = attrs.evolve(
                config,
                audio=tev.TranslationAudio(
                    input=config.audio.input, output=tev.TranslationAudioOutput(language=language)
                ),
            )
        expires = int(time.time()) + seconds
        value = "ek_" + secrets.token_hex(16)
        with self._lock:
            self._secrets[value] = expires
        handler.send_json(
            200,
            {
                "value": value,
                "expires_at": expires,
                "session": tev.converter.unstructure(config),
            },
        )


def _error(message: str, code: str) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    }


def _is_post(sock: socket.socket) -> bool:
    """Whether the request on ``sock`` is a ``POST`` (peeked, nothing consumed)."""
    previous = sock.gettimeout()
    sock.settimeout(_PEEK_TIMEOUT)
    try:
        # Every request line has at least 5 bytes ("GET /"): wait for them, consume none.
        head = sock.recv(5, socket.MSG_PEEK | socket.MSG_WAITALL)
    except OSError:
        return False
    finally:
        sock.settimeout(previous)
    return head == b"POST "


class _Handler(BaseHTTPRequestHandler):
    """Answers one plain HTTP request with the routes of a :class:`RestRoutes`."""

    server: Any
    protocol_version = "HTTP/1.1"
    timeout = _PEEK_TIMEOUT  # a client that stops mid-request frees its thread

    def __init__(self, sock: socket.socket, address: Any, routes: RestRoutes) -> None:
        self.routes = routes
        super().__init__(sock, address, None)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are not logged (their headers carry keys)."""

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > _MAX_BODY:
            self.send_json(413, _error("The request body is too large.", "invalid_request"))
            return
        body = self.rfile.read(int(length))
        path, _ = parse_path(self.path)
        if path not in (CALLS_PATH, TRANSLATION_SECRETS_PATH):
            self.send_json(404, _error(f"Invalid URL (POST {path})", "unknown_url"))
            return
        if not self.routes.authorized(self):
            return
        if path == CALLS_PATH:
            self.routes.create_call(self, body)
        else:
            self.routes.translation_secret(self, body)

    def send_json(self, status: int, data: dict[str, Any]) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json", [])

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
