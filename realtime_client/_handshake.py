"""Opening a WebSocket connection with websocket-client: TCP, TLS, the upgrade.

Imported only when a connection opens, so ``import realtime_client`` loads
neither websocket-client nor :mod:`ssl` (nor :mod:`http.client`, which
websocket-client imports). This is the only module that imports ``websocket``.
Its trace (``websocket.enableTrace``) dumps the handshake's request headers;
a filter on its logger redacts credentials first.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import websocket

from .errors import AuthenticationError, ConnectError, RealtimeTimeoutError

__all__ = ["REDACTED", "open_websocket", "redact"]

_BODY_KEPT: Final = 2000


_SECRET_HEADER = re.compile(
    r"(?im)^([ \t]*(?:authorization|proxy-authorization|api-key|cookie|set-cookie|"
    r"openai-[a-z-]*key[a-z-]*|x-api-key)[ \t]*:)[^\r\n]*"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)[ \t]+[^\s,;\"']+")
_KEY_LIKE = re.compile(r"\b(sk|ek|rk)[-_][A-Za-z0-9_-]{8,}")
REDACTED: Final = "[redacted]"


def redact(text: str) -> str:
    """``text`` with credential header values, bearer tokens and API keys replaced."""
    text = _SECRET_HEADER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _KEY_LIKE.sub(REDACTED, text)


class _RedactingFilter(logging.Filter):
    """Keeps credentials out of websocket-client's trace (``websocket.enableTrace``),
    which dumps the handshake's request headers, Authorization included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is passed on as it is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_redactor_lock = threading.Lock()
_REDACTOR: Final = _RedactingFilter()


def _install_redactor() -> None:
    """Put the redacting filter on websocket-client's logger (once: filters are a set)."""
    with _redactor_lock:
        logger = logging.getLogger("websocket")
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


def _error_message(body: bytes | None) -> str:
    """The server's error message from a handshake answer body, if it has one."""
    if not body:
        return ""
    text = body[:_BODY_KEPT].decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except ValueError:
        return text.strip()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return text.strip()


@functools.cache
def _default_context() -> ssl.SSLContext:
    """The system's trusted CAs, loaded once per process and shared by every
    ``wss://`` connection without a context of its own (loading the store costs
    tens of milliseconds of CPU; a context is safe to share between threads).
    A plain ``ws://`` connection (the offline server) needs none."""
    return ssl.create_default_context()


_POLL: Final = 0.05  # seconds between looks for the socket once the deadline passed


class _DeadlineWebSocket(websocket.WebSocket):
    """A WebSocket whose opening handshake has one deadline as a whole.

    websocket-client applies its timeout to each socket operation, so a server
    (or a proxy) that answers the upgrade a byte at a time could hold the
    handshake for ever. A watchdog thread shuts the socket down once the
    timeout has passed since the start; the connect then fails as a timeout.
    The TCP connect, a proxy's tunnel and TLS happen before websocket-client
    exposes the socket, so each of those steps keeps its own bound of the
    timeout, and the watchdog cuts the socket as soon as it appears.
    """

    def connect(self, url: str, **options: Any) -> None:
        timeout = self.gettimeout()
        if timeout is None:
            super().connect(url, **options)  # type: ignore[no-untyped-call]
            return
        done = threading.Event()
        expired = threading.Event()
        watchdog = threading.Thread(
            target=self._watch,
            args=(timeout, done, expired),
            name="realtime-handshake-deadline",
            daemon=True,
        )
        watchdog.start()
        try:
            super().connect(url, **options)  # type: ignore[no-untyped-call]
        except Exception as exc:
            if expired.is_set():
                raise websocket.WebSocketTimeoutException("the handshake timed out") from exc
            raise
        finally:
            done.set()
            watchdog.join()  # it wakes at once
        if expired.is_set():  # cut just as the handshake finished: it took too long
            self.shutdown()  # type: ignore[no-untyped-call]
            raise websocket.WebSocketTimeoutException("the handshake timed out")

    def _watch(self, timeout: float, done: threading.Event, expired: threading.Event) -> None:
        """Watchdog thread: shut the socket down once the deadline passes."""
        if done.wait(timeout):
            return
        while not done.is_set():  # ends with the connect, whose steps are bounded
            sock = self.sock
            if sock is not None:
                expired.set()
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return
            done.wait(_POLL)


def open_websocket(
    url: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    ssl_context: ssl.SSLContext | None,
) -> tuple[websocket.WebSocket, socket.socket]:
    """Connect and finish the handshake: the WebSocket and its socket.

    See :meth:`WebSocketTransport.connect
    <realtime_client._transport.WebSocketTransport.connect>` for the arguments
    and errors.
    """
    secure = urlsplit(url).scheme == "wss"
    context = ssl_context or (_default_context() if secure else None)
    if context is not None and (
        context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname
    ):
        raise ValueError("ssl_context must verify certificates and hostnames")
    target = _where(url)
    _install_redactor()
    try:
        ws = websocket.create_connection(
            url,
            timeout=timeout,
            class_=_DeadlineWebSocket,
            header=[f"{name}: {value}" for name, value in headers.items()],
            sslopt={"context": context} if context is not None else None,
            skip_utf8_validation=True,
            enable_multithread=True,
            suppress_origin=True,
        )
    except websocket.WebSocketBadStatusException as exc:
        status = exc.status_code
        body = (exc.resp_body or b"")[:_BODY_KEPT]
        text = body.decode("utf-8", "replace")
        detail = _error_message(exc.resp_body) or (exc.status_message or "")
        error_cls = AuthenticationError if status in (401, 403) else ConnectError
        raise error_cls(
            f"handshake with {target} failed: HTTP {status}" + (f": {detail}" if detail else ""),
            status_code=status,
            body=text,
            headers=_answer_headers(exc),
        ) from None
    except (TimeoutError, websocket.WebSocketTimeoutException) as exc:
        raise RealtimeTimeoutError(f"connecting to {target} took longer than {timeout} s") from exc
    except ssl.SSLError as exc:
        raise ConnectError(f"TLS with {target} failed: {exc}") from exc
    except (OSError, websocket.WebSocketException) as exc:
        raise ConnectError(f"cannot connect to {target}: {exc}") from exc
    sock = ws.sock
    if sock is None:
        raise ConnectError(f"cannot connect to {target}: no socket after the handshake")
    return ws, sock


def _where(url: str) -> str:
    """The scheme, host and path of ``url``, for messages (the query is left out)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _answer_headers(exc: websocket.WebSocketBadStatusException) -> dict[str, str]:
    """The headers of a refused handshake's answer (its retry hints among them)."""
    headers = getattr(exc, "resp_headers", None)
    if not isinstance(headers, dict):
        return {}
    return {str(name): str(value) for name, value in headers.items()}
